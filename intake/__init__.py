"""intake: the newsroom's tip line and reader-question desk."""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import sqlite3
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask, Response, abort, g, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter, Map

from config import Config
from intake import announce, cli, logs, security
from intake.extensions import babel, csrf, db, limiter, login_manager, mail, migrate
from intake.i18n import NATIVE_NAMES, select_locale
from intake.models import Newsroom, Submission
from intake.search import install as install_search

ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger("intake")

ERROR_PAGES = {
    400: (_l("Something in the request was wrong"), _l("Go back and try again.")),
    404: (_l("Page not found"), _l("There is no page at this address.")),
    405: (_l("Not allowed"), _l("This page cannot be used that way.")),
    429: (
        _l("Too many tries in a short time"),
        _l("Please wait a few minutes, then try again."),
    ),
    413: (
        _l("Your message is too large"),
        _l(
            "Nothing was sent. Use your browser's Back button: your text should still be "
            "there. Make it or its files smaller and send it again."
        ),
    ),
    500: (
        _l("Something went wrong on our side"),
        _l("Nothing you did caused this. Please try again in a few minutes."),
    ),
}


class Intake(Flask):
    """Flask, with unhandled errors logged by type and place, never by their message."""

    def log_exception(self, exc_info: Any) -> None:
        """Log an unhandled error without its message, which can quote a reader's data."""
        error = exc_info[1] if isinstance(exc_info, tuple) else None
        rule = request.url_rule.rule if request.url_rule else "(no route)"
        what = logs.describe(error) if isinstance(error, BaseException) else "unknown error"
        self.logger.error("unhandled error on %s %s: %s", request.method, rule, what)


def create_app(config: type[Config] | Mapping[str, Any]) -> Flask:
    """Create and wire the application from a settings class or mapping."""
    instance_path = (
        config.get("INSTANCE_PATH")
        if isinstance(config, Mapping)
        else getattr(config, "INSTANCE_PATH", None)
    )
    if instance_path:
        instance_path = str(Path(instance_path).resolve())  # Flask wants it absolute
    app = Intake(__name__, instance_path=instance_path, instance_relative_config=True)
    if isinstance(config, Mapping):
        app.config.from_object(Config)
        app.config.from_mapping(config)
    else:
        app.config.from_object(config)
    _private_folder(Path(app.instance_path))
    _finish_config(app)
    logs.configure(log)

    _register_request_log(app)  # first, so its timer starts before CSRF checks run
    db.init_app(app)
    announce.install(db.session)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    mail.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    limiter.init_app(app)
    security.register(app)
    if app.config.get("INTAKE_PROXY_COUNT"):
        # Behind N reverse proxies, the client is the Nth address from the right.
        count = int(app.config["INTAKE_PROXY_COUNT"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count)  # type: ignore[method-assign]
    login_manager.init_app(app)
    login_manager.login_view = "staff.login"
    login_manager.login_message = "Sign in to see this page."
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            sa.event.listen(db.engine, "connect", _sqlite_pragmas)
    # db.create_all() (tests, a first run without migrations) builds the search index too.
    if not sa.event.contains(Submission.__table__, "after_create", _install_search):
        sa.event.listen(Submission.__table__, "after_create", _install_search)

    # Ids in URLs fit the database's integer (SQLite raises on a larger one: a 500).
    app.url_map.converters["int"] = BoundedInt
    _refuse_nul(app)

    from intake.api import bp as api_bp
    from intake.health import bp as health_bp
    from intake.public import bp as public_bp
    from intake.staff import bp as staff_bp

    app.register_blueprint(public_bp)
    app.register_blueprint(staff_bp)
    app.register_blueprint(health_bp)
    app.register_blueprint(api_bp)
    _register_error_pages(app)
    app.context_processor(
        lambda: {
            "newsroom_name": _newsroom_name(),
            "current_locale": str(get_locale() or "en"),
            "locale_names": NATIVE_NAMES,
        }
    )
    cli.register(app)
    return app


class BoundedInt(IntegerConverter):
    """Flask's int converter, at most 2**31 - 1 unless a route says otherwise."""

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:  # noqa: A002 - werkzeug's name
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


# Blueprints whose forms are refused with a NUL in them. The public pages' forms clean
# what readers send instead (their words are kept, the NUL dropped): never refused.
NUL_REFUSED_FORMS = ("staff", "api")


def _refuse_nul(app: Flask) -> None:
    """Answer 400 to a request with a NUL in its parameters: no text column can hold one
    (PostgreSQL refuses it in a query, a 500), and no person types one."""

    @app.before_request
    def no_nul() -> None:
        values = [v for _, vs in request.args.lists() for v in vs]
        if request.blueprint in NUL_REFUSED_FORMS and request.mimetype in (
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        ):
            values += [v for _, vs in request.form.lists() for v in vs]
        values += [str(v) for v in (request.view_args or {}).values()]
        if any("\x00" in v for v in values):
            abort(400)


def _install_search(target: sa.Table, connection: sa.Connection, **_: Any) -> None:
    install_search(connection)


def _finish_config(app: Flask) -> None:
    """Fill in settings that depend on the instance folder; refuse a production without a key."""
    instance = Path(app.instance_path)
    if not app.config.get("SECRET_KEY"):
        if app.config.get("REQUIRE_SECRET_KEY"):
            raise RuntimeError(
                "SECRET_KEY is not set. Set it in the environment or in .env "
                "(for a local setup, `make run` writes one, with INTAKE_ENV=development)."
            )
        app.config["SECRET_KEY"] = _instance_secret(instance / "secret_key")
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{instance / 'intake.sqlite3'}"
    _private_sqlite_file(str(app.config["SQLALCHEMY_DATABASE_URI"]))
    if not app.config.get("INTAKE_UPLOADS"):
        app.config["INTAKE_UPLOADS"] = str(instance / "uploads")
    if not app.config.get("RATELIMIT_STORAGE_URI"):
        app.config["RATELIMIT_STORAGE_URI"] = f"intake+sqlite:///{instance / 'ratelimits.sqlite3'}"


def _private_folder(path: Path) -> None:
    """Make a folder only its owner can enter (the database, secret and uploads are in it)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.suppress(OSError):  # not ours to change: leave it as it is
        path.chmod(0o700)


def _private_sqlite_file(uri: str) -> None:
    """Create a SQLite database file owner-only, so its WAL and shared memory are too.

    SQLite gives the files it adds beside a database the database file's permissions.
    """
    url = sa.engine.make_url(uri)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return
    path = Path(url.database)
    if not path.parent.is_dir():
        return  # the engine will say it cannot open it
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    os.close(fd)
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        with contextlib.suppress(OSError):
            file.chmod(0o600)


def _instance_secret(path: Path) -> str:
    """Read the instance's own secret key, creating it (owner-only) on first use."""
    if not path.exists():
        path.touch(mode=0o600)
        path.write_text(secrets.token_hex(32), encoding="ascii")
    return path.read_text(encoding="ascii").strip()


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    """Make SQLite durable and safe for several processes: WAL, full sync, foreign keys."""
    if not isinstance(connection, sqlite3.Connection):
        return
    cursor = connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    # Erased text is overwritten with zeros, not left in free pages of the file.
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def _register_request_log(app: Flask) -> None:
    """Log one line a request: method, route template, status, time. No address, no text."""
    request_log = logging.getLogger("intake.requests")

    @app.before_request
    def start_timer() -> None:
        g.started = time.perf_counter()

    @app.after_request
    def log_request(response: Response) -> Response:
        started = g.get("started", time.perf_counter())
        rule = request.url_rule.rule if request.url_rule else "(no route)"
        request_log.info(
            "%s %s %s %.1fms",
            request.method,
            rule,
            response.status_code,
            (time.perf_counter() - started) * 1000,
        )
        return response


def _register_error_pages(app: Flask) -> None:
    """Answer every HTTP error with a plain page that says what to do."""

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> ResponseReturnValue:
        if request.path.startswith("/api/"):
            # No route matched, so the API's own handler did not run: same answer as it.
            from intake.api import as_problem

            return as_problem(error)
        code = error.code or 500
        title, message = ERROR_PAGES.get(code, (error.name, error.description or ""))
        page = render_template("errors/error.html", title=title, message=message, back=True)
        return page, code


def _newsroom_name() -> str:
    """Return the newsroom's name for page headers, or a plain one before a directory loads."""
    try:
        name = db.session.scalar(sa.select(Newsroom.name).where(Newsroom.id == 1))
    except SQLAlchemyError:
        db.session.rollback()
        name = None
    return name or "Tips and questions"
