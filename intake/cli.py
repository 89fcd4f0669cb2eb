"""The `flask --app wsgi intake …` commands."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast
from zoneinfo import ZoneInfo

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy.exc import SQLAlchemyError

from intake import accounts, demo, logs, rota, workflow
from intake import export as exporting
from intake import mailcatcher as catcher
from intake import reference as references
from intake.delivery import Courier, Delivery, deliver_due
from intake.directory import (
    DirectoryError,
    load_file,
    read_newsroom,
    routing_directory,
    snapshot,
)
from intake.extensions import db, mail
from intake.hookdelivery import PASS_SECONDS, HookReport, deliver_hooks
from intake.language import detect as detect_language
from intake.mailin import imap
from intake.mailin.parse import Unreadable
from intake.models import ROLES, DbSession, Newsroom, StaffUser
from intake.routecheck import RouteChecker

if TYPE_CHECKING:
    # Imported where used: numpy and the model stay out of the web server's processes.
    from intake import similarity
    from intake.workflow.escalate import Escalated

log = logging.getLogger(__name__)
intake_cli = AppGroup("intake", help="Run intake's own tasks.")


@intake_cli.command("load-newsroom")
@click.argument("path", type=click.Path(dir_okay=False), required=False)
def load_newsroom(path: str | None) -> None:
    """Create or update desks, topics and reporters from a directory file (TOML).

    Without PATH, the file named by INTAKE_NEWSROOM is loaded.
    """
    path = path or current_app.config.get("INTAKE_NEWSROOM")
    if not path:
        raise click.UsageError("give the directory file, or set INTAKE_NEWSROOM")
    try:
        newsroom, report = load_file(db.session, path, actor=accounts.COMMAND_LINE)
    except DirectoryError as exc:
        click.echo(f"{path}: refused, nothing was changed:", err=True)
        for problem in exc.problems:
            click.echo(f"  - {problem}", err=True)
        sys.exit(1)
    click.echo(f"Loaded {newsroom.name!r} from {path}")
    click.echo(report.summary())
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    # The rota's gaps: worth knowing before they bite; the file is loaded all the same.
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    for desk in rota.rota(routing_directory(newsroom), today, ROTA_WARNING_DAYS):
        for gap in desk.gaps:
            click.echo(f"warning: {desk.desk.name}: {gap.text}", err=True)


# Loading a file warns of the gaps of this many days from today.
ROTA_WARNING_DAYS = 7


@intake_cli.command("rota")
@click.option("--from", "start", help="First hour (ISO 8601 with a zone) [now].")
@click.option("--days", default=1, show_default=True, type=click.IntRange(1, 31))
@click.option(
    "--format", "fmt", type=click.Choice(("text", "json")), default="text", show_default=True
)
def rota_command(start: str | None, days: int, fmt: str) -> None:
    """Show, per desk and hour, who is on shift, what they read and cover, and the gaps."""
    first = _instant(start, "--from") if start else datetime.now(UTC)
    desks = rota.rota(snapshot(db.session).directory, first, days)
    db.session.remove()
    if fmt == "json":
        click.echo(json.dumps(rota.as_json(desks, first, days), ensure_ascii=False, indent=2))
        return
    for desk in desks:
        zone = ZoneInfo(desk.desk.timezone)
        click.echo(f"{desk.desk.name} ({desk.desk.slug}; {desk.desk.timezone})")
        for gap in desk.gaps:
            click.echo(f"  gap: {gap.text}")
        for hour in desk.hours:
            local = hour.start.astimezone(zone).strftime("%H:%M")
            who = ", ".join(hour.on_shift) or "nobody"
            reads, covers = " ".join(hour.languages) or "-", ", ".join(hour.topics) or "-"
            click.echo(
                f"  {hour.start:%a %Y-%m-%d %H:%M} UTC ({local} local)  {who}"
                f"  reads: {reads}  covers: {covers}"
            )


@intake_cli.command("export")
@click.option(
    "--format", "fmt", type=click.Choice(exporting.FORMATS), default="csv", show_default=True
)
@click.option(
    "--exact",
    is_flag=True,
    help="Write cells exactly as stored, even those a spreadsheet would run as a formula "
    "(= + - @ at the start); without it they are prefixed with '.",
)
@click.option(
    "--spreadsheet-safe", is_flag=True, hidden=True, help="The default; kept for scripts."
)
def export(fmt: str, exact: bool, spreadsheet_safe: bool) -> None:
    """Write every submission to standard output, in UTF-8 (spreadsheet-safe unless --exact)."""
    if exact and spreadsheet_safe:
        raise click.UsageError("give --exact or --spreadsheet-safe, not both")
    # UTF-8 whatever the locale says, and no newline translation (CSV writes its own).
    out = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="", write_through=True)
    try:
        count = exporting.write(out, exporting.rows(db.session), fmt, not exact)
    finally:
        out.detach()
    click.echo(f"exported {count} submissions", err=True)


def register(app: Flask) -> None:
    """Attach the command group to an app."""
    from intake import cli_tools  # noqa: F401 - adds its commands to the group

    app.cli.add_command(intake_cli)


@intake_cli.command("route-check")
@click.option(
    "--newsroom",
    "newsroom_path",
    required=True,
    type=click.Path(dir_okay=False),
    help="The directory file to test (it is not loaded into the database).",
)
def route_check(newsroom_path: str) -> None:
    """Route JSON-lines submissions from standard input; print one decision a line.

    Input fields: id, kind, topic, subject, body, reporter, article, submitted_at.
    Each decision counts as an open item of its reporter for the lines after it, as it
    would in the database. Nothing is written to the database.
    """
    try:
        newsroom = read_newsroom(newsroom_path)
    except DirectoryError as exc:
        click.echo(f"{newsroom_path}: refused:", err=True)
        for problem in exc.problems:
            click.echo(f"  - {problem}", err=True)
        sys.exit(1)
    checker = RouteChecker(routing_directory(newsroom))
    out = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="\n", write_through=True)
    lines = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace")
    errors = 0
    try:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                result = checker.check(line)
            except ValueError as exc:
                errors += 1
                click.echo(f"line {number}: {exc}", err=True)
                result = {"line": number, "error": str(exc)}
            out.write(json.dumps(result, ensure_ascii=False) + "\n")
    finally:
        out.detach()  # leave the process's own streams open
        lines.detach()
    if errors:
        sys.exit(1)


def _similar_pair(line: str) -> tuple[Any, similarity.Question, similarity.Question]:
    """Read one {"id", "a", "b"} line; ValueError says what is wrong with it."""
    from intake import similarity

    try:
        item = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc.msg}") from None
    if not isinstance(item, dict):
        raise ValueError("each line must be a JSON object with id, a and b")
    texts = [item.get(key) for key in ("a", "b")]
    if not all(isinstance(text, str) and text.strip() for text in texts):
        raise ValueError("a and b must be non-empty strings")
    a, b = (
        similarity.Question(str(t), similarity.language_of(str(t), detect_language(str(t))))
        for t in texts
    )
    return item.get("id"), a, b


@intake_cli.command("similar-check")
def similar_check() -> None:
    """Judge JSON-lines question pairs {id, a, b} from standard input; print {id, score, same}.

    The same judgement grouping uses (INTAKE_SIMILARITY's engine, each text's detected
    language); nothing is read from or written to the database.
    """
    from intake import similarity

    model = similarity.engine(str(current_app.config["INTAKE_SIMILARITY"]))
    lines = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace")
    try:
        numbered = [(n, line) for n, line in enumerate(lines, 1) if line.strip()]
    finally:
        lines.detach()
    pairs: list[tuple[Any, similarity.Question, similarity.Question]] = []
    results: dict[int, dict[str, Any]] = {}
    for number, line in numbered:
        try:
            pairs.append(_similar_pair(line))
        except ValueError as exc:
            click.echo(f"line {number}: {exc}", err=True)
            results[number] = {"line": number, "error": str(exc)}
            continue
        results[number] = {"id": pairs[-1][0]}
    # One batch: the vectors of every text at once (and the tfidf engine's IDF over them).
    verdicts = iter(similarity.judge(model, [(a, b) for _, a, b in pairs]))
    out = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="\n", write_through=True)
    try:
        for number, _line in numbered:
            result = results[number]
            if "error" not in result:
                verdict = next(verdicts)
                result.update(score=round(verdict.score, 4), same=verdict.same)
            out.write(json.dumps(result, ensure_ascii=False) + "\n")
    finally:
        out.detach()
    if any("error" in result for result in results.values()):
        sys.exit(1)


DATABASE_RETRY_SECONDS = 5


@intake_cli.command("worker")
@click.option("--once", is_flag=True, help="Deliver what is due now, then exit.")
@click.option("--batch", default=50, show_default=True, help="Emails a pass, one connection.")
@click.option("--interval", default=0.25, show_default=True, help="Seconds between idle polls.")
@click.option(
    "--grouping/--no-grouping",
    default=True,
    show_default=True,
    help="Also compare new questions (off: run `intake group` as a process of its own).",
)
def worker(once: bool, batch: int, interval: float, grouping: bool) -> None:
    """Deliver the outbox's due emails, webhooks and chat alerts, with retries; group questions."""
    app = current_app
    if not app.config.get("MAIL_SERVER"):
        click.echo(
            "MAIL_SERVER is not set: nowhere to deliver email. Set it (see README).", err=True
        )
        sys.exit(1)
    # Flask-Mail has no timeout of its own; bound every socket this process opens.
    socket.setdefaulttimeout(float(app.config["MAIL_TIMEOUT"]))
    name = f"{socket.gethostname()}:{os.getpid()}"
    click.echo(
        f"worker {name}: delivering through {app.config['MAIL_SERVER']}:{app.config['MAIL_PORT']}",
        err=True,
    )
    total = Delivery()
    lease = timedelta(seconds=int(app.config["INTAKE_OUTBOX_LEASE"]))
    courier = Courier(mail)  # one SMTP connection while there is mail, closed when idle
    # The model loads here (numpy, ~100 MB) the first time a question waits: never in a
    # web process.
    from intake.workflow.grouping import Grouper

    grouper = Grouper(str(app.config["INTAKE_SIMILARITY"]), name)
    escalation = Every(ESCALATE_SECONDS)
    try:
        with stop_on_signals() as stopping:
            poster = None
            if not once:
                poster = threading.Thread(
                    target=_post_hooks_forever,
                    args=(app._get_current_object(), name, lease, stopping, interval),  # type: ignore[attr-defined]
                    name="webhooks",
                    daemon=True,
                )
                poster.start()
            while not stopping.is_set():
                try:
                    report = deliver_due(
                        db.session, mail, name, batch, lease=lease, courier=courier
                    )
                    # Without --once a thread of its own posts them: a slow endpoint
                    # never holds email up.
                    posted = _post_hooks(app, name, lease) if once else HookReport()
                    grouped = grouper.run_safely(db.session) if grouping else 0
                    if app.config["INTAKE_WORKER_ROTA"] and escalation.due():
                        _escalate_safely(name)
                except SQLAlchemyError as exc:
                    # The database is away: keep the worker, wait, try again. What this
                    # pass sent but could not record goes again after its lease (at most
                    # a few emails, same Message-IDs); nothing is lost.
                    db.session.remove()
                    courier.close()
                    click.echo(f"worker {name}: database error ({type(exc).__name__})", err=True)
                    if once:
                        sys.exit(1)
                    stopping.wait(DATABASE_RETRY_SECONDS)
                    continue
                db.session.remove()
                total.add(report)
                if grouped:
                    click.echo(f"compared {grouped} new question(s)", err=True)
                if report.claimed:
                    click.echo(
                        f"sent {report.sent}, to retry {report.retried}, failed {report.failed}",
                        err=True,
                    )
                _say_posted(posted)
                if report.claimed or grouped or posted.claimed:
                    continue
                courier.close()
                if once:
                    break
                stopping.wait(interval)
            stopping.set()
            if poster is not None:
                # A POST under way ends within its timeout; the rest waits for the next worker.
                poster.join(timeout=float(app.config["INTAKE_WEBHOOK_TIMEOUT"]) + 5)
    finally:
        courier.close()
    click.echo(
        f"worker {name}: done; sent {total.sent}, retries scheduled {total.retried}, "
        f"failed {total.failed}",
        err=True,
    )


def _post_hooks(app: Flask, name: str, lease: timedelta) -> HookReport:
    """Post the due webhooks and chat alerts once (this thread's session)."""
    timeout = float(app.config["INTAKE_WEBHOOK_TIMEOUT"])
    # A claim outlives the longest pass (its last POST starts by PASS_SECONDS, ends within
    # the timeout): otherwise a second worker could claim and post a row again.
    longest = timedelta(seconds=PASS_SECONDS + timeout + 5)
    return deliver_hooks(
        db.session,
        name,
        allow_private=bool(app.config["INTAKE_WEBHOOK_ALLOW_PRIVATE"]),
        timeout=timeout,
        lease=max(lease, longest),
    )


def _say_posted(posted: HookReport) -> None:
    if posted.claimed:
        click.echo(
            f"webhooks and chat: sent {posted.sent}, to retry {posted.retried}, "
            f"failed {posted.failed}",
            err=True,
        )


def _post_hooks_forever(
    app: Flask, name: str, lease: timedelta, stopping: threading.Event, interval: float
) -> None:
    """Post webhooks and chat alerts until the worker stops, beside its email."""
    with app.app_context():  # an app context of its own: a database session of its own
        while not stopping.is_set():
            try:
                posted = _post_hooks(app, f"{name}/hooks", lease)
            except SQLAlchemyError as exc:
                click.echo(
                    f"worker {name}: webhooks: database error ({type(exc).__name__})", err=True
                )
                posted = HookReport()
                stopping.wait(DATABASE_RETRY_SECONDS)
            except Exception:  # noqa: BLE001 - logged; email goes on, and so do webhooks
                log.exception("worker %s: webhooks: unexpected error", name)
                posted = HookReport()
                stopping.wait(DATABASE_RETRY_SECONDS)
            finally:
                db.session.remove()
            _say_posted(posted)
            if not posted.claimed:
                stopping.wait(interval)


# How often a worker looks for items whose acknowledgement clock ran out.
ESCALATE_SECONDS = 30.0


class Every:
    """Say when something done every so often is due (the first time: at once)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._next = 0.0

    def due(self) -> bool:
        """Say whether it is due now, and if so count from now."""
        now = time.monotonic()
        if now < self._next:
            return False
        self._next = now + self.seconds
        return True


def _say_escalated(done: Escalated, err: bool) -> None:
    """Print a line for each item a pass handed on or took to the editors."""
    for reference in done.handed_on:
        click.echo(f"escalated {reference} to the next reporter on shift", err=err)
    for reference in done.editors_emailed:
        click.echo(f"escalated {reference}: nobody left, editors emailed", err=err)


def _escalate_safely(name: str) -> None:
    """Run an escalation pass and send the digests due; a fault is logged and stops
    neither the other nor delivery."""
    from intake.workflow.digest import send_digests
    from intake.workflow.escalate import escalate_due

    newsroom = db.session.get(Newsroom, 1)
    db.session.rollback()
    if newsroom is None:
        return  # nothing loaded yet: nobody to escalate to
    try:
        done = escalate_due(db.session)
    except Exception:  # the database's errors too: delivery has its own handling
        db.session.rollback()
        log.exception("worker %s: escalation failed; trying again in %d s", name, ESCALATE_SECONDS)
    else:
        _say_escalated(done, err=True)
    try:
        hours = int(current_app.config["INTAKE_FIRST_ACTION_HOURS"])
        for desk in send_digests(db.session, overdue_hours=hours):
            click.echo(f"sent the {desk} desk's digest", err=True)
    except Exception:
        db.session.rollback()
        log.exception("worker %s: the digests failed; trying again in %d s", name, ESCALATE_SECONDS)


@intake_cli.command("escalate")
@click.option("--once", is_flag=True, help="Escalate what is due now, then exit.")
@click.option(
    "--now",
    "at",
    help="Act as if it were this time (ISO 8601 with a zone), in every decision and record.",
)
def escalate(once: bool, at: str | None) -> None:
    """Hand unacknowledged items to the next reporter on shift; email editors when none is left."""
    from intake.workflow.escalate import escalate_due

    now = _instant(at) if at else None
    with stop_on_signals() as stopping:
        while not stopping.is_set():
            done = escalate_due(db.session, now)
            db.session.remove()
            _say_escalated(done, err=False)
            if once:
                break
            stopping.wait(ESCALATE_SECONDS)


def _instant(value: str, option: str = "--now") -> datetime:
    """Read an ISO 8601 time with its zone; a usage error says what is wrong."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        problem = f"{value!r} is not an ISO 8601 time"
        raise click.BadParameter(problem, param_hint=option) from None
    if parsed.tzinfo is None:
        problem = "give the time zone, e.g. 2026-12-02T09:00:00+00:00"
        raise click.BadParameter(problem, param_hint=option)
    return parsed


@intake_cli.command("group")
@click.option("--once", is_flag=True, help="Compare the questions waiting now, then exit.")
@click.option("--interval", default=1.0, show_default=True, help="Seconds between idle polls.")
def group(once: bool, interval: float) -> None:
    """Compare new questions with the open ones and group them (what the worker also does)."""
    from intake.workflow.grouping import Grouper

    name = f"{socket.gethostname()}:{os.getpid()}"
    grouper = Grouper(str(current_app.config["INTAKE_SIMILARITY"]), name)
    total = 0
    with stop_on_signals() as stopping:
        while not stopping.is_set():
            try:
                done = grouper.run_once(db.session)
            except SQLAlchemyError as exc:
                db.session.remove()
                click.echo(f"group {name}: database error ({type(exc).__name__})", err=True)
                if once:
                    sys.exit(1)
                stopping.wait(DATABASE_RETRY_SECONDS)
                continue
            db.session.remove()
            total += done
            if done:
                continue
            if once:
                break
            stopping.wait(interval)
    click.echo(f"group {name}: done; compared {total} question(s)", err=True)


EX_DATAERR = 65  # sysexits.h: the MTA bounces the message with our reason
EX_TEMPFAIL = 75  # sysexits.h: the MTA keeps the message and tries again later


def take_one_email(raw: bytes) -> tuple[int, str]:
    """Take one email in its own transaction; return the exit status and what to say."""
    app = current_app
    try:
        taken = workflow.take_mail(
            db.session,
            raw,
            str(app.secret_key or ""),
            Path(app.config["INTAKE_UPLOADS"]),
            workflow.MailLimits.from_config(app.config),
        )
    except (workflow.Refused, Unreadable) as exc:
        # The reason can name a reader's file: the log gets only that it was refused.
        log.warning("incoming email refused (%s)", type(exc).__name__)
        return EX_DATAERR, f"refused: {exc}"
    except Exception as exc:  # noqa: BLE001 - the database away, or a fault: try again later
        db.session.rollback()
        log.error("incoming email not taken: %s", logs.describe(exc))
        return EX_TEMPFAIL, f"temporary failure ({type(exc).__name__}): try again later"
    finally:
        db.session.remove()
    return 0, f"{taken.outcome} {taken.reference}".strip()


@intake_cli.command("receive-mail")
def receive_mail() -> None:
    """Take one RFC 5322 message on standard input (an MTA pipe, like RT's mailgate).

    Exit 0 when taken or deliberately ignored; 65 when refused (the reason on standard
    error, for the MTA's bounce); 75 on a temporary failure, so the MTA tries again.
    """
    limit = workflow.MailLimits.from_config(current_app.config).max_bytes
    raw = sys.stdin.buffer.read(limit + 1)  # no further: a huge message is refused unread
    status, said = take_one_email(raw)
    click.echo(said, err=True)
    sys.exit(status)


IMAP_ANSWERS = {0: "taken", EX_DATAERR: "refused", EX_TEMPFAIL: "later"}


@intake_cli.command("fetch-mail")
@click.option("--once", is_flag=True, help="Take what is in the mailbox now, then exit.")
@click.option("--interval", default=30.0, show_default=True, help="Seconds between passes.")
def fetch_mail(once: bool, interval: float) -> None:
    """Read the IMAP mailbox (INTAKE_IMAP_*) into intake; move each message when taken."""
    try:
        settings = imap.ImapSettings.from_config(current_app.config)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None

    def handle(raw: bytes) -> imap.Taken:
        status, _said = take_one_email(raw)
        return cast(imap.Taken, IMAP_ANSWERS.get(status, "later"))

    try:
        if once:
            report = imap.fetch_once(settings, handle)
            click.echo(f"fetch-mail: {report}", err=True)
            return
        with stop_on_signals() as stopping:
            imap.fetch_forever(settings, handle, interval, stopping)
    except imap.MailboxError as exc:
        raise click.ClickException(str(exc)) from None


@intake_cli.command("mailcatcher")
@click.option("--port", default=8025, show_default=True)
@click.option(
    "--folder", type=click.Path(file_okay=False), help="Where to save messages [instance/mail]."
)
def mailcatcher(port: int, folder: str | None) -> None:
    """Run a local SMTP server on 127.0.0.1 that saves each message as a .eml file."""
    target = Path(folder) if folder else Path(current_app.instance_path) / "mail"
    controller = catcher.start(target, port)
    click.echo(f"mail catcher: listening on 127.0.0.1:{port}, saving messages in {target}/")
    try:
        with stop_on_signals() as stopping:
            stopping.wait()
    finally:
        controller.stop()


@contextlib.contextmanager
def stop_on_signals() -> Iterator[threading.Event]:
    """Turn SIGTERM and SIGINT into an event to finish on; restore the old handlers after."""
    stopping = threading.Event()
    previous = {
        signum: signal.signal(signum, lambda *_: stopping.set())
        for signum in (signal.SIGTERM, signal.SIGINT)
    }
    try:
        yield stopping
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def account_named(email: str) -> StaffUser:
    """Return the staff account with this email, or stop with a message naming it."""
    user = accounts.find(db.session, email)
    if user is None:
        raise click.ClickException(f"No account for {email}.")
    return user


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\n")
    password: str = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


@intake_cli.command("create-user")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create_user(email: str, role: str, password_stdin: bool) -> None:
    """Create a staff account (password from a prompt or standard input)."""
    try:
        user = accounts.create(
            db.session, email, role, _read_password(password_stdin), actor=accounts.COMMAND_LINE
        )
    except accounts.AccountError as exc:
        raise click.ClickException(str(exc)) from None
    reporter = accounts.reporter_of(db.session, user)
    linked = f", linked to reporter {reporter.name}" if reporter else ""
    click.echo(f"Created {user.role} {user.email}{linked}.")


@intake_cli.command("reset-password")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def reset_password(email: str, password_stdin: bool) -> None:
    """Set a new password for a staff account and sign it out everywhere."""
    user = account_named(email)
    try:
        accounts.set_password(
            db.session, user, _read_password(password_stdin), actor=accounts.COMMAND_LINE
        )
    except accounts.AccountError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"New password set for {user.email}; its other sessions are signed out.")


@intake_cli.command("deactivate-user")
@click.argument("email")
def deactivate_user(email: str) -> None:
    """Stop a staff account from signing in; its history stays."""
    user = account_named(email)
    _change(accounts.deactivate, user)
    click.echo(f"Deactivated {user.email}.")


@intake_cli.command("reactivate-user")
@click.argument("email")
def reactivate_user(email: str) -> None:
    """Let a deactivated staff account sign in again (its password and second factor stay)."""
    user = account_named(email)
    _change(accounts.reactivate, user)
    click.echo(f"Reactivated {user.email}.")


@intake_cli.command("set-role")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), required=True)
def set_role(email: str, role: str) -> None:
    """Give a staff account another role; its sessions are signed out."""
    user = account_named(email)
    before = user.role
    try:
        accounts.change_role(db.session, user, role, actor=accounts.COMMAND_LINE)
    except accounts.AccountError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{user.email}: {before} -> {role}; its sessions are signed out.")


class _AccountChange(Protocol):
    def __call__(self, session: DbSession, user: StaffUser, *, actor: str) -> None: ...


def _change(change: _AccountChange, user: StaffUser) -> None:
    """Make an account change as the command line, or stop with the reason it was refused."""
    try:
        change(db.session, user, actor=accounts.COMMAND_LINE)
    except accounts.AccountError as exc:
        raise click.ClickException(str(exc)) from None


@intake_cli.command("demo-data")
@click.option("--count", default=1000, show_default=True, help="How many submissions to add.")
@click.option("--seed", default=1, show_default=True, help="Same seed, same data.")
@click.option("--force", is_flag=True, help="Allow it with production settings.")
def demo_data(count: int, seed: int, force: bool) -> None:
    """Add synthetic submissions (several languages, topics, statuses, ages)."""
    if current_app.config.get("ENV_NAME") == "production" and not force:
        raise click.ClickException("refusing to add made-up submissions to production (--force)")
    started = time.perf_counter()
    try:
        written = demo.fill(db.session, count, seed)
    except LookupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"added {written} submissions in {time.perf_counter() - started:.1f} s")


@intake_cli.command("reset-2fa")
@click.argument("email")
def reset_2fa(email: str) -> None:
    """Remove a staff account's two-factor key (a lost phone); it enrols again at sign-in."""
    user = account_named(email)
    _change(accounts.reset_second_factor, user)
    click.echo(f"Two-factor sign-in reset for {user.email}; its sessions are signed out.")


def _purge(
    uploads: Path, days: int | None, reference: str | None, email: str | None
) -> workflow.PurgeReport:
    if reference:
        canonical = references.normalise(reference)
        if canonical is None:
            raise click.ClickException(f"{reference!r} is not a reference like T-7K3F-9P2M")
        report = workflow.purge_reference(db.session, uploads, canonical)
        if not report.submissions:
            raise click.ClickException(f"no submission {canonical}")
        return report
    if email:
        return workflow.purge_email(db.session, uploads, email)
    days = days if days is not None else int(current_app.config["INTAKE_RETENTION_DAYS"])
    if days < 0:
        raise click.UsageError("--days cannot be negative")
    return workflow.purge_closed(db.session, uploads, days)


@intake_cli.command("purge")
@click.option("--days", type=int, help="Erase what was closed longer ago [INTAKE_RETENTION_DAYS].")
@click.option("--reference", help="Erase one submission's data (a reader's request).")
@click.option("--email", help="Erase every submission from this address, and mail to it.")
def purge(days: int | None, reference: str | None, email: str | None) -> None:
    """Erase readers' text, contact details and files; keep dates, desk, topic, status."""
    uploads = Path(current_app.config["INTAKE_UPLOADS"])
    if reference and email:
        raise click.UsageError("give --reference or --email, not both")
    try:
        report = _purge(uploads, days, reference, email)
    except workflow.PurgeIncomplete as exc:
        raise click.ClickException(f"purge incomplete: {exc}") from None
    click.echo(
        f"erased {len(report.submissions)} submission(s), {report.files} file(s), "
        f"{report.emails} email copy(ies); removed {report.orphans} orphaned file(s)"
    )
