"""Settings for intake, read from environment variables (a `.env` file is read too)."""

from __future__ import annotations

import os
from pathlib import Path

from dotenv import load_dotenv

ROOT = Path(__file__).resolve().parent

# Variables already in the environment win over the file, so a deployment can override it.
load_dotenv(ROOT / ".env")


def env_bool(name: str, default: bool) -> bool:
    """Read a yes/no environment variable; anything but a false word is true."""
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() not in {"0", "false", "no", "off"}


def env_int(name: str, default: int) -> int:
    """Read a whole-number environment variable, naming it when it is not a number."""
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise RuntimeError(f"{name} must be a whole number, not {value!r}") from None


class Config:
    """Settings shared by every environment."""

    ENV_NAME = "base"
    # Where the SQLite database, secret key and uploads live; None means ./instance.
    INSTANCE_PATH: str | None = os.environ.get("INTAKE_INSTANCE") or None
    # Refuse to start without SECRET_KEY (production); otherwise keep one in instance/.
    REQUIRE_SECRET_KEY = False
    SECRET_KEY: str | None = os.environ.get("SECRET_KEY") or None
    # None means SQLite in the instance folder; create_app fills it in.
    SQLALCHEMY_DATABASE_URI: str | None = os.environ.get("DATABASE_URL") or None
    # hide_parameters: an error's message never quotes the values (a reader's text).
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, "hide_parameters": True}
    INTAKE_NEWSROOM: str | None = os.environ.get("INTAKE_NEWSROOM") or None
    INTAKE_UPLOADS: str | None = os.environ.get("INTAKE_UPLOADS") or None

    MAIL_SERVER: str | None = os.environ.get("MAIL_SERVER") or None
    MAIL_PORT = env_int("MAIL_PORT", 25)
    MAIL_USE_TLS = env_bool("MAIL_USE_TLS", False)
    MAIL_USERNAME: str | None = os.environ.get("MAIL_USERNAME") or None
    MAIL_PASSWORD: str | None = os.environ.get("MAIL_PASSWORD") or None
    # Sending is the outbox worker's job; Flask-Mail must never drop mail silently.
    MAIL_SUPPRESS_SEND = False
    # Seconds the worker waits on an SMTP server before it gives up a pass and retries.
    MAIL_TIMEOUT = env_int("MAIL_TIMEOUT", 30)
    # Seconds a worker holds the emails it claimed; a worker that dies loses them to
    # another after this. Longer than a batch takes to send (MAIL_TIMEOUT each, at worst).
    INTAKE_OUTBOX_LEASE = env_int("INTAKE_OUTBOX_LEASE", 120)
    # Editors and admins see a banner when the oldest waiting email has waited this long
    # (seconds), or when any email failed in the last 24 hours.
    INTAKE_OUTBOX_ALERT_SECONDS = env_int("INTAKE_OUTBOX_ALERT_SECONDS", 300)
    # An open item with no staff action for this long is marked overdue in the inbox.
    INTAKE_FIRST_ACTION_HOURS = env_int("INTAKE_FIRST_ACTION_HOURS", 4)
    # The worker also escalates unacknowledged items and sends the desks' morning digests.
    INTAKE_WORKER_ROTA = env_bool("INTAKE_WORKER_ROTA", True)
    # How long a link to set a staff password (sent when an admin creates an account) works.
    INTAKE_INVITE_HOURS = env_int("INTAKE_INVITE_HOURS", 72)
    # Which engine judges whether two reader questions are the same (intake.similarity).
    INTAKE_SIMILARITY = os.environ.get("INTAKE_SIMILARITY") or "semantic"
    # How often an open inbox asks how many items arrived since it was opened.
    INTAKE_INBOX_POLL_SECONDS = env_int("INTAKE_INBOX_POLL_SECONDS", 30)
    # Webhooks and chat alerts: endpoints on private or loopback addresses are refused
    # (request forgery) unless this is set; seconds to wait on an endpoint's answer.
    INTAKE_WEBHOOK_ALLOW_PRIVATE = env_bool("INTAKE_WEBHOOK_ALLOW_PRIVATE", False)
    INTAKE_WEBHOOK_TIMEOUT = env_int("INTAKE_WEBHOOK_TIMEOUT", 10)
    # Bearer token for GET /metrics (Prometheus); empty: /metrics answers 404.
    INTAKE_METRICS_TOKEN = os.environ.get("INTAKE_METRICS_TOKEN") or ""

    # Where rate-limit counters live; None: a SQLite file in the instance folder, shared
    # by every worker process of this machine (intake.ratelimit). Several machines: Redis.
    # Incoming mail by IMAP (`flask intake fetch-mail`): the mailbox readers write to.
    INTAKE_IMAP_HOST: str | None = os.environ.get("INTAKE_IMAP_HOST") or None
    INTAKE_IMAP_PORT: int | None = env_int("INTAKE_IMAP_PORT", 0) or None  # 993, or 143 without TLS
    INTAKE_IMAP_USER: str | None = os.environ.get("INTAKE_IMAP_USER") or None
    INTAKE_IMAP_PASSWORD: str | None = os.environ.get("INTAKE_IMAP_PASSWORD") or None
    INTAKE_IMAP_FOLDER = os.environ.get("INTAKE_IMAP_FOLDER") or "INBOX"
    INTAKE_IMAP_TLS = env_bool("INTAKE_IMAP_TLS", True)
    INTAKE_IMAP_DONE_FOLDER = os.environ.get("INTAKE_IMAP_DONE_FOLDER") or "intake-done"

    RATELIMIT_STORAGE_URI: str | None = os.environ.get("RATELIMIT_STORAGE_URI") or None
    RATELIMIT_ENABLED = env_bool("RATELIMIT_ENABLED", True)
    # Generous per client: readers behind one mobile carrier or a café share an address.
    # Stored submissions per client (a mistake or a language switch does not count) ...
    INTAKE_SUBMIT_LIMIT = os.environ.get("INTAKE_SUBMIT_LIMIT") or "30 per hour;5 per minute"
    # ... and every POST of the form, generously, so a script cannot hammer the page.
    INTAKE_POST_LIMIT = os.environ.get("INTAKE_POST_LIMIT") or "300 per hour;30 per minute"
    # Follow-up page: sign-in tries and messages per client, and sign-in tries per reference.
    INTAKE_FOLLOWUP_LIMIT = os.environ.get("INTAKE_FOLLOWUP_LIMIT") or "20 per hour"
    # Receipt emails a client may cause an hour, whatever addresses it types.
    INTAKE_RECEIPT_LIMIT = os.environ.get("INTAKE_RECEIPT_LIMIT") or "10 per hour"
    INTAKE_LOGIN_LIMIT_ACCOUNT = os.environ.get("INTAKE_LOGIN_LIMIT_ACCOUNT") or "10 per hour"
    INTAKE_LOGIN_LIMIT_CLIENT = os.environ.get("INTAKE_LOGIN_LIMIT_CLIENT") or "30 per hour"
    INTAKE_REPLY_LIMIT = os.environ.get("INTAKE_REPLY_LIMIT") or "30 per hour"
    # Requests a personal API token may make (each token counts on its own).
    INTAKE_API_LIMIT = os.environ.get("INTAKE_API_LIMIT") or "1200 per hour;120 per minute"
    # "I want to know too" on /answers: clicks a client may make (each group counts once a day).
    INTAKE_WANT_LIMIT = os.environ.get("INTAKE_WANT_LIMIT") or "30 per hour"
    # How many reverse proxies stand in front (their X-Forwarded-For is then trusted).
    INTAKE_PROXY_COUNT = env_int("INTAKE_PROXY_COUNT", 0)
    # Origins allowed to embed the public form in a frame, e.g. "https://www.example.org".
    INTAKE_FRAME_ANCESTORS = os.environ.get("INTAKE_FRAME_ANCESTORS") or "'none'"
    # Two-factor sign-in required for: "admins", "editors" (admins and editors, who see
    # every desk) or "all" (the default); optional for the others.
    INTAKE_REQUIRE_2FA = os.environ.get("INTAKE_REQUIRE_2FA") or "all"
    # A staff session ends after this many minutes without a request (and 12 h after sign-in).
    INTAKE_STAFF_IDLE_MINUTES = env_int("INTAKE_STAFF_IDLE_MINUTES", 60)
    # Domains whose story links staff pages and emails may show as links (each with its
    # subdomains), e.g. "example.org, example.com"; empty: the domain of the directory's
    # public_url less its first label (tips.example.org -> example.org).
    INTAKE_ARTICLE_HOSTS = os.environ.get("INTAKE_ARTICLE_HOSTS") or ""
    # Days a closed submission keeps its text before `flask intake purge` erases it.
    INTAKE_RETENTION_DAYS = env_int("INTAKE_RETENTION_DAYS", 180)

    # Attachments: how many a submission, and how large each and all together (MB).
    INTAKE_MAX_FILES = env_int("INTAKE_MAX_FILES", 5)
    INTAKE_MAX_FILE_MB = env_int("INTAKE_MAX_FILE_MB", 20)
    INTAKE_MAX_TOTAL_MB = env_int("INTAKE_MAX_TOTAL_MB", 50)
    # The whole request: the files plus room for the text fields and multipart framing.
    MAX_CONTENT_LENGTH = (INTAKE_MAX_TOTAL_MB + 2) * 1024 * 1024
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    # A staff session ends when the browser closes; Flask-Login's "remember me" is not used.
    REMEMBER_COOKIE_DURATION = 0
    # A reader may take a long time to write; an expired token re-renders the form, text kept.
    WTF_CSRF_TIME_LIMIT = 8 * 3600


class DevelopmentConfig(Config):
    """Settings for `make run` on one machine."""

    ENV_NAME = "development"
    # A local webhook receiver is what development tries things with.
    INTAKE_WEBHOOK_ALLOW_PRIVATE = env_bool("INTAKE_WEBHOOK_ALLOW_PRIVATE", True)


class ProductionConfig(Config):
    """Settings for a real deployment behind HTTPS."""

    ENV_NAME = "production"
    REQUIRE_SECRET_KEY = True
    SESSION_COOKIE_SECURE = True


class TestingConfig(Config):
    """Settings for the test suite; tests pass their own database URL."""

    ENV_NAME = "testing"
    TESTING = True
    SECRET_KEY = "testing-only-secret"  # noqa: S105 - never used outside tests
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    WTF_CSRF_ENABLED = False
    RATELIMIT_ENABLED = False
    # Tests of the worker's email count on what they queued; escalation and digests (which
    # follow the wall clock) are tested on their own.
    INTAKE_WORKER_ROTA = False
    # Test receivers listen on 127.0.0.1.
    INTAKE_WEBHOOK_ALLOW_PRIVATE = True


CONFIGS: dict[str, type[Config]] = {
    "development": DevelopmentConfig,
    "production": ProductionConfig,
}


def config_from_env() -> type[Config]:
    """Pick the settings class named by INTAKE_ENV (production unless told otherwise)."""
    name = os.environ.get("INTAKE_ENV", "production").strip().lower()
    try:
        return CONFIGS[name]
    except KeyError:
        choices = ", ".join(sorted(CONFIGS))
        raise RuntimeError(f"INTAKE_ENV must be one of {choices}, not {name!r}") from None
