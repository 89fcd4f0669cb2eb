"""Fixtures: a fresh app and database for every test, a client, a CLI runner."""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as default_policy
from html import unescape
from pathlib import Path
from typing import Any

import pyotp
import pytest
import sqlalchemy as sa
import sqlalchemy.orm as so
from aiosmtpd.controller import Controller
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from werkzeug.serving import make_server
from werkzeug.test import EnvironBuilder, TestResponse

from config import TestingConfig
from intake import create_app, workflow
from intake.delivery import seal
from intake.directory import read_newsroom, sync_newsroom
from intake.extensions import db
from intake.models import Event, OutboxEmail, StaffUser, Submission

ROOT = Path(__file__).resolve().parent.parent
# The venv's programs (gunicorn, flask), for tests that start real processes.
BIN_DIR = Path(sys.executable).parent
EXAMPLE_NEWSROOM = ROOT / "newsroom.example.toml"
# `make test` runs the suite twice: on SQLite files, then on this PostgreSQL database
# (scripts/with-postgres.sh starts a throwaway cluster and sets it).
POSTGRES_URL = os.environ.get("INTAKE_TEST_DATABASE_URL") or None
ENGINE = "postgresql" if POSTGRES_URL else "sqlite"


def settings(tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    """Return the testing settings with a database and instance folder of the test's own."""
    values = {key: getattr(TestingConfig, key) for key in dir(TestingConfig) if key.isupper()}
    values["INSTANCE_PATH"] = str(tmp_path / "instance")
    values["SQLALCHEMY_DATABASE_URI"] = POSTGRES_URL or f"sqlite:///{tmp_path / 'intake.sqlite3'}"
    values.update(overrides)
    return values


_made: list[Flask] = []


@pytest.fixture(autouse=True)
def _close_databases() -> Iterator[None]:
    """Close every connection a test's apps opened (PostgreSQL warns of leaked ones)."""
    yield
    while _made:
        with _made.pop().app_context():
            db.session.remove()
            db.engine.dispose()


def make_app(tmp_path: Path, **overrides: Any) -> Flask:
    """Create an app with an empty schema and the example newsroom loaded."""
    app = create_app(settings(tmp_path, **overrides))
    _made.append(app)
    with app.app_context():
        db.create_all()  # on PostgreSQL: also puts back a table a previous test dropped
        if db.engine.dialect.name == "postgresql":
            tables = ", ".join(t.name for t in db.metadata.sorted_tables)
            db.session.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
            db.session.commit()
        sync_newsroom(db.session, read_newsroom(EXAMPLE_NEWSROOM))
        db.session.commit()
    return app


def stored_text(app: Flask, tmp_path: Path) -> bytes:
    """Return everything the database holds: SQLite's files' bytes, or every row as text."""
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            db.session.remove()
            db.engine.dispose()  # checkpoint nothing away: read every file SQLite wrote
            return b"".join(p.read_bytes() for p in sorted(tmp_path.glob("intake.sqlite3*")))
        parts: list[bytes] = []
        for table in db.metadata.sorted_tables:
            query = f"SELECT t::text FROM {table.name} t"  # noqa: S608 - our own table names
            rows = db.session.execute(sa.text(query)).scalars()
            parts.extend(str(row).encode() for row in rows)
        db.session.remove()
        return b"\n".join(parts)


@pytest.fixture
def empty_database(tmp_path: Path) -> Iterator[str]:
    """Yield the URL of a database with no tables at all (for the migration tests)."""
    if POSTGRES_URL is None:
        yield f"sqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    name = f"intake_empty_{secrets.token_hex(4)}"
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f"CREATE DATABASE {name}")
    yield POSTGRES_URL.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as connection:
        connection.exec_driver_sql(f"DROP DATABASE {name} WITH (FORCE)")
    admin.dispose()


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    """An app with CSRF off (one test file turns it on) and the example newsroom."""
    app = make_app(tmp_path)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client for the app."""
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    """A runner for the app's `flask` commands."""
    return app.test_cli_runner()


def valid_form(**overrides: str) -> dict[str, str]:
    """Return a form a reader could send, with fields replaced as given."""
    form = {
        "kind": "tip",
        "topic": "russia-ukraine-war",
        "subject": "Power cuts",
        "body": "The power went out again in the city centre this morning.",
        "name": "",
        "email": "",
        "article": "",
        "reporter": "",
    }
    form.update(overrides)
    return form


def submissions(app: Flask) -> list[Submission]:
    """Return every stored submission, oldest first."""
    with app.app_context():
        return list(db.session.scalars(sa.select(Submission).order_by(Submission.id)))


def count(app: Flask, model: type[Submission] | type[Event]) -> int:
    """Count the rows of a table."""
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0


def field_errors(html: str) -> dict[str, str]:
    """Map each field id to the error message shown next to it."""
    found = re.findall(r'<p class="error" id="([\w-]+)-error">([^<]*)</p>', html)
    return {field: unescape(message) for field, message in found}


@dataclass
class Received:
    """One message as the SMTP server got it."""

    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    connection: int

    @property
    def message(self) -> EmailMessage:
        parsed = BytesParser(policy=default_policy).parsebytes(self.raw)
        assert isinstance(parsed, EmailMessage)
        return parsed

    def text(self) -> str:
        body = self.message.get_body(preferencelist=("plain",))
        assert body is not None
        content = body.get_content()
        assert isinstance(content, str)
        return content


class SMTPSink:
    """A real SMTP server on 127.0.0.1 that keeps what it receives (aiosmtpd).

    It answers as a relay would for chosen addresses: refuse (550) or defer (450) a
    recipient, refuse (554) or defer (451) the message at DATA, refuse a sender (553),
    hang up in the middle of a message, or stall past the client's timeout.
    """

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.refuse: set[str] = set()
        self.defer: set[str] = set()
        self.refuse_data: set[str] = set()
        self.defer_data: set[str] = set()
        self.refuse_sender: set[str] = set()
        self.drop_at: set[str] = set()
        self.stall_at: set[str] = set()
        self.connections = 0
        # Called as each message arrives, before it is accepted (a test looks at the database).
        self.on_data: Callable[[], None] | None = None
        self.port = free_port()
        self.controller: Controller | None = None

    async def handle_MAIL(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.refuse_sender:
            return "553 5.7.1 Sender address rejected: not owned by you"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return f"550 5.1.1 <{address}>: Recipient address rejected: no such mailbox"
        if address in self.defer:
            return f"450 4.2.0 <{address}>: Recipient address rejected: greylisted, try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        recipients = set(envelope.rcpt_tos)
        if recipients & self.drop_at:
            server.transport.close()  # the line goes dead mid-message
            return "250 OK (never heard)"
        if recipients & self.stall_at:
            await asyncio.sleep(3)
        if recipients & self.refuse_data:
            return "554 5.7.1 Message rejected as spam"
        if recipients & self.defer_data:
            return "451 4.3.0 Temporary failure, try again later"
        if self.on_data is not None:
            self.on_data()
        self.received.append(
            Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content, id(session))
        )
        return "250 OK"

    async def handle_EHLO(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        self.connections += 1
        session.host_name = hostname
        return responses

    def start(self) -> None:
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def smtp() -> Iterator[SMTPSink]:
    """A running SMTP sink; stopped at the end of the test."""
    sink = SMTPSink()
    sink.start()
    yield sink
    sink.stop()


@pytest.fixture
def mail_app(tmp_path: Path, smtp: SMTPSink) -> Iterator[Flask]:
    """An app whose mail goes to the SMTP sink, with a short socket timeout."""
    app = make_app(tmp_path, MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port, MAIL_TIMEOUT=5)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


STAFF_PASSWORD = "correct horse battery staple"
STAFF = {
    "admin": ("admin@example.org", "admin"),
    "editor": ("editor@example.org", "editor"),
    # Reporters are linked to the directory by email: Iryna is on World, Dana on Politics.
    "world_reporter": ("iryna.koval@example.org", "reporter"),
    "politics_reporter": ("dana.ellis@example.org", "reporter"),
}


@pytest.fixture(scope="session")
def password_hash() -> str:
    """Hash the test password once: Argon2 is slow on purpose."""
    return PasswordHasher().hash(STAFF_PASSWORD)


# Admins must use two-factor sign-in; the test admin's authenticator holds this key.
ADMIN_TOTP = pyotp.random_base32()


@pytest.fixture
def staff(app: Flask, password_hash: str) -> dict[str, str]:
    """Create one account per role and desk; return each one's email by name."""
    add_staff(app, password_hash, admin_totp=ADMIN_TOTP)
    return {name: email for name, (email, _role) in STAFF.items()}


def add_staff(app: Flask, password_hash: str, admin_totp: str | None = None) -> None:
    """Create the accounts of STAFF; given a two-factor key, every account has it.

    Two-factor sign-in is required of every role by default (INTAKE_REQUIRE_2FA=all).
    """
    with app.app_context():
        for email, role in STAFF.values():
            db.session.add(
                StaffUser(
                    email=email,
                    role=role,
                    password_hash=password_hash,
                    session_token=secrets.token_hex(32),
                    totp_secret=admin_totp,
                )
            )
        db.session.commit()


def next_code(app: Flask, email: str) -> str:
    """Return a code the account has not used yet (a real app would wait for the next one)."""
    with app.app_context():
        address = email.strip().lower()
        user = db.session.scalars(sa.select(StaffUser).where(StaffUser.email == address)).one()
        assert user.totp_secret
        totp = pyotp.TOTP(user.totp_secret)
        now = datetime.now(UTC)
        current = totp.timecode(now)
        # The previous step's code is accepted until the current step ends; near that end
        # it would expire on its way to the server, so take the current one instead.
        left = totp.interval - now.timestamp() % totp.interval
        first = current - 1 if left > 5 else current
        return totp.generate_otp(max(first, user.totp_last_step + 1))


class AuthActions:
    """Sign a test client in and out, like flaskr's `auth` fixture (with the code if asked)."""

    def __init__(self, app: Flask, client: FlaskClient) -> None:
        self.app = app
        self.client = client

    def login(self, email: str, password: str = STAFF_PASSWORD) -> TestResponse:
        response = self.client.post("/staff/login", data={"email": email, "password": password})
        if response.status_code == 303 and response.headers["Location"] == "/staff/login/code":
            response = self.client.post(
                "/staff/login/code", data={"code": next_code(self.app, email)}
            )
        return response

    def logout(self) -> TestResponse:
        return self.client.post("/staff/logout")


@pytest.fixture
def auth(app: Flask, client: FlaskClient) -> AuthActions:
    """Sign the test client in as a staff member."""
    return AuthActions(app, client)


# Nobody covers the war on the example newsroom's world desk between 15:00 and 22:00 UTC.
DESK_HOURS = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)


def make_submission(app: Flask, now: datetime | None = None, **fields: Any) -> str:
    """Store a submission through the workflow, at a chosen time; return its reference."""
    values: dict[str, Any] = {
        "kind": "tip",
        "topic": "russia-ukraine-war",
        "subject": "",
        "body": "У Харкові знову вимкнули світло після обстрілу, люди стоять у чергах.",
        "name": "",
        "email": "",
        "consent_contact": False,
        "consent_publish": False,
        "sensitive": False,
        "article": "",
        "author_slug": "",
    }
    values.update(fields)
    with app.test_request_context():
        return workflow.submit(db.session, workflow.NewSubmission(**values), now=now)


def queue_emails(app: Flask, recipients: list[str], sender: str = "tips@example.org") -> str:
    """Queue one email to each address, all about one new submission; return its reference."""
    reference = make_submission(app)
    with app.app_context():
        submission_id = get_submission(app, reference).id
        # The submission's own notice is not part of these cases.
        db.session.execute(sa.delete(OutboxEmail).where(OutboxEmail.submission_id == submission_id))
        for recipient in recipients:
            row = OutboxEmail(
                submission_id=submission_id,
                purpose="reporter_notice",
                message_id=f"<{secrets.token_hex(16)}@example.org>",
                sender=sender,
                recipient=recipient,
                subject=f"A notice for {recipient}",
                body="A new tip is waiting for you.",
            )
            try:
                row.raw = seal(row)
            except ValueError:
                pass  # as notify does: the worker tries again and fails that email alone
            db.session.add(row)
        db.session.commit()
    return reference


def get_submission(app: Flask, reference: str) -> Submission:
    """Load a submission with its topic, desk, assignee and events."""
    with app.app_context():
        return db.session.scalars(
            sa.select(Submission)
            .where(Submission.reference == reference)
            .options(
                so.joinedload(Submission.topic),
                so.joinedload(Submission.desk),
                so.joinedload(Submission.assignee),
                so.selectinload(Submission.events),
            )
        ).one()


def post_multipart(client: FlaskClient, url: str, data: dict[str, Any]) -> TestResponse:
    """POST a multipart form, closing the body's temporary file afterwards.

    Werkzeug's test client spools a body over 500 KB to a temporary file and never closes
    it, which pytest (warnings as errors) reports; this helper closes it itself.
    """
    builder = EnvironBuilder(path=url, method="POST", data=data)
    environ = builder.get_environ()
    try:
        return client.open(environ)
    finally:
        environ["wsgi.input"].close()
        builder.close()


# --- Browser tests (Playwright driving Debian's Chromium) ---------------------------------

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "tests" / "artifacts"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Launch the system's Chromium, headless, with no traffic beyond 127.0.0.1."""
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@dataclass
class LiveServer:
    """The app served over HTTP on 127.0.0.1 for a real browser."""

    app: Flask
    url: str


@pytest.fixture
def live_server(tmp_path: Path, password_hash: str) -> Iterator[LiveServer]:
    """Serve a fresh app (CSRF on, as in production) from a thread on a free port."""
    app = make_app(tmp_path, WTF_CSRF_ENABLED=True)
    add_staff(app, password_hash, admin_totp=ADMIN_TOTP)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield LiveServer(app, f"http://127.0.0.1:{server.server_port}")
    server.shutdown()
    thread.join(timeout=5)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
