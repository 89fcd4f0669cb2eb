"""Deliver the outbox's due emails over SMTP: the worker's job, one outcome per email.

A pass claims a batch, sends it over one connection and records each email's outcome as
soon as the server has answered for it, so a worker killed mid-batch sends again only the
few emails it had not yet recorded. A refusal belongs to the email it answers: one bad
address fails or defers that email alone; a lost connection puts the rest back, unfailed.
"""

from __future__ import annotations

import logging
import re
import smtplib
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, TypeVar

import sqlalchemy as sa
from flask import current_app
from flask_mail import Connection, Mail, Message

from intake.models import (
    ACCOUNT_PURPOSES,
    ERASED,
    DbSession,
    Event,
    OutboxEmail,
    OutboxHook,
    to_whom,
    utcnow,
)
from intake.text import clean_line

log = logging.getLogger(__name__)

BACKOFF_FIRST = timedelta(seconds=30)
BACKOFF_MAX = timedelta(hours=1)
MAX_ATTEMPTS = 12  # about 6.5 hours of retries before an email is marked failed
LEASE = timedelta(minutes=2)


@dataclass
class Delivery:
    """What one pass of the worker did."""

    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    released: int = 0

    def add(self, other: Delivery) -> None:
        """Add another pass's counts to these."""
        self.claimed += other.claimed
        self.sent += other.sent
        self.retried += other.retried
        self.failed += other.failed
        self.released += other.released


def backoff(attempts: int) -> timedelta:
    """Return the wait before the next try after this many failed attempts."""
    wait: timedelta = BACKOFF_FIRST * 2 ** max(attempts - 1, 0)
    return min(wait, BACKOFF_MAX)


_Leased = TypeVar("_Leased", OutboxEmail, OutboxHook)


def claim_rows(
    session: DbSession,
    model: type[_Leased],
    worker: str,
    batch: int,
    now: datetime,
    lease: timedelta = LEASE,
) -> list[_Leased]:
    """Lease up to `batch` due rows of an outbox table to this worker and commit the lease."""
    token = f"{worker}/{uuid.uuid4().hex[:8]}"
    free = sa.or_(model.lease_until.is_(None), model.lease_until < now)
    due = sa.select(model.id).where(model.state == "pending", model.next_attempt_at <= now, free)
    # Look before taking a write lock: an idle worker polls often, and on SQLite an
    # UPDATE that changes nothing still makes the form's writers wait.
    if session.scalar(due.limit(1)) is None:
        session.rollback()
        return []
    due = (
        due.order_by(model.next_attempt_at, model.id)
        .limit(batch)
        # PostgreSQL: concurrent workers skip each other's rows instead of waiting.
        .with_for_update(skip_locked=True)
    )
    session.execute(
        sa.update(model)
        .where(model.id.in_(due.scalar_subquery()), free)
        .values(claimed_by=token, lease_until=now + lease)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return list(
        session.scalars(sa.select(model).where(model.claimed_by == token).order_by(model.id))
    )


def due_again(now: datetime) -> dict[str, Any]:
    """Return the values that make a failed outbox row due now, with a fresh round of tries."""
    return {
        "state": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "failed_at": None,
        "claimed_by": "",
        "lease_until": None,
    }


def claim(
    session: DbSession, worker: str, batch: int, now: datetime, lease: timedelta = LEASE
) -> list[OutboxEmail]:
    """Lease up to `batch` due emails to this worker and commit the lease."""
    return claim_rows(session, OutboxEmail, worker, batch, now, lease)


def message(row: OutboxEmail) -> Message:
    """Build the Flask-Mail message of an outbox row."""
    built = Message(
        subject=row.subject,
        sender=row.sender,
        recipients=[row.recipient],
        body=row.body,
        reply_to=row.reply_to or None,
        # A person's reply is not automatic mail; everything else intake sends is, so
        # well-behaved clients do not auto-reply to it.
        extra_headers={} if row.purpose == "reply" else {"Auto-Submitted": "auto-generated"},
    )
    built.msgId = row.message_id
    return built


@dataclass(frozen=True)
class Outgoing:
    """A claimed email, copied out of the session so the builder thread can use it."""

    id: int
    submission_id: int | None
    purpose: str
    sender: str
    recipient: str
    attempts: int
    raw: bytes

    @classmethod
    def of(cls, row: OutboxEmail) -> Outgoing:
        """Copy what sending and recording need from a claimed row."""
        return cls(
            row.id,
            row.submission_id,
            row.purpose,
            row.sender,
            row.recipient,
            row.attempts,
            # Built when it was written; a row from before that was stored gets built now.
            row.raw or b"",
        )

    def to_whom(self) -> str:
        """Say to whom, for the history: never an address."""
        return to_whom(self.purpose)


Fate = Literal["retry", "failed"]


@dataclass(frozen=True)
class Verdict:
    """What an SMTP error means: for this email, for the connection, and what to record."""

    fate: Fate
    connection_lost: bool
    reply: str


ADDRESS = re.compile(r"[^\s<>\"']+@[^\s<>\"']+")


def without_addresses(text: str) -> str:
    """Take addresses out of a server's words: an error is shown and kept, an address not."""
    return ADDRESS.sub("(address)", text)


def _reply(code: int, text: bytes | str) -> str:
    said = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return without_addresses(clean_line(f"{code} {said}"))[:500]


def _by_code(code: int, text: bytes | str) -> Verdict:
    # 421: the server is closing the connection (smtplib has closed its side already).
    fate: Fate = "failed" if 500 <= code < 600 else "retry"
    return Verdict(fate, connection_lost=code == 421, reply=_reply(code, text))


def judge(error: BaseException) -> Verdict:
    """Say what an error raised while sending one email means for it and the connection."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        # One recipient an email, so this is that email's own refusal and nobody else's.
        code, text = next(iter(error.recipients.values()), (451, b"recipient refused"))
        return _by_code(code, text)
    if isinstance(error, smtplib.SMTPHeloError):
        return Verdict("retry", True, _reply(error.smtp_code, error.smtp_error))
    if isinstance(error, smtplib.SMTPResponseException):
        # SMTPSenderRefused, SMTPDataError and any other answer with a code.
        return _by_code(error.smtp_code, error.smtp_error)
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return Verdict("retry", True, clean_line(f"connection lost: {error}")[:500])
    if isinstance(error, smtplib.SMTPNotSupportedError):
        return Verdict("failed", False, clean_line(f"not supported by the server: {error}"))
    if isinstance(error, OSError):  # refused, reset, timed out
        return Verdict("retry", True, clean_line(f"{type(error).__name__}: {error}")[:500])
    # Anything else (a header we refuse, an address that cannot be encoded) is this
    # email's own problem; the connection may be mid-command, so it is reset before reuse.
    return Verdict("failed", False, clean_line(f"{type(error).__name__}: {error}")[:500])


def _envelope(address: str) -> str:
    """Return the address for RCPT TO: its domain in IDNA, so the command is plain ASCII."""
    local, _, domain = address.rpartition("@")
    ascii_domain = domain.encode("idna").decode("ascii")  # UnicodeError: a bad domain
    if not local.isascii():
        raise ValueError("the mailbox name is not ASCII (it would need SMTPUTF8)")
    return f"{local}@{ascii_domain}"


def seal(row: OutboxEmail) -> bytes:
    """Build an email's bytes once, as written to the outbox; every try sends these."""
    built = message(row)
    if built.has_bad_headers():
        raise ValueError("a header of an email holds a line break")
    raw: bytes = built.as_bytes()
    return raw


# Accepted emails not yet recorded, at most. A worker killed while sending sends these
# again, plus the one on the wire: 4 at the most (the issue allows 5), same Message-IDs.
MAX_UNRECORDED = 3

# A reader who did not agree to be contacted: the address served this one email, so it
# goes (with the message's bytes) as soon as the email is sent, failed or cancelled.
# A link to set a staff password opens the account: its text and bytes go the same way.
_HOLDS_LINK = OutboxEmail.purpose.in_(ACCOUNT_PURPOSES)
FORGET_RECIPIENT = {
    "recipient": sa.case((OutboxEmail.forget_recipient, ERASED), else_=OutboxEmail.recipient),
    "raw": sa.case(
        (sa.or_(OutboxEmail.forget_recipient, _HOLDS_LINK), sa.null()), else_=OutboxEmail.raw
    ),
    "body": sa.case((_HOLDS_LINK, ERASED), else_=OutboxEmail.body),
}

# Built once: the worker runs these for every email or few, and building a statement
# costs more than running it.
_SENT = (
    sa.update(OutboxEmail)
    .where(OutboxEmail.id.in_(sa.bindparam("ids", expanding=True)))
    .where(OutboxEmail.claimed_by == sa.bindparam("token"))
    # Not if purge or staff cancelled it meanwhile: an erased row stays erased.
    .where(OutboxEmail.state == "pending")
    .values(
        state="sent",
        sent_at=sa.bindparam("now", type_=OutboxEmail.sent_at.type),
        lease_until=None,
        attempts=OutboxEmail.attempts + 1,
        last_error="",
        **FORGET_RECIPIENT,
    )
)
_EVENT = sa.insert(Event)


class Recorder:
    """Write emails' outcomes as soon as they are known.

    Accepted emails are written by a thread of the recorder's own while the next email is
    on the wire (the database and the SMTP server are both waited on, so the two overlap
    even under the GIL): each in its own transaction while the database keeps up, the
    few that arrived meanwhile together when it does not. Sending waits whenever
    `lag` accepted emails are unwritten, which bounds what a killed worker sends twice.
    With lag 0 each is written before the next send, in this thread.

    A commit here records a fact the SMTP server already holds; losing one to a crash of
    the database server means an email sent twice with the same Message-ID, never one
    lost. So these commits skip the flush to disk (SQLite: synchronous=NORMAL in WAL
    mode; PostgreSQL: synchronous_commit off), which still survives the worker's own
    death, the case that matters here.
    """

    def __init__(
        self,
        connection: sa.Connection,
        token: str,
        clock: Callable[[], datetime],
        lag: int = MAX_UNRECORDED,
    ):
        self.connection = connection
        self.token = token
        self.clock = clock
        self.lag = max(lag, 0)
        self.dialect = connection.dialect.name
        self._accepted: list[tuple[Outgoing, datetime]] = []
        self._writing = 0
        self._error: BaseException | None = None
        self._closing = False
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None
        if self.lag:
            self._thread = threading.Thread(target=self._write_accepted, daemon=True)
            self._thread.start()

    def _begin(self) -> sa.RootTransaction:
        return self.connection.begin()

    def _mine(self, ids: list[int]) -> sa.ColumnElement[bool]:
        # Only rows still leased to this pass (after a lease ran out, another worker owns
        # it) and still waiting (purge or staff may have cancelled it meanwhile).
        return sa.and_(
            OutboxEmail.id.in_(ids),
            OutboxEmail.claimed_by == self.token,
            OutboxEmail.state == "pending",
        )

    def _events(self, rows: list[tuple[Outgoing, str, str, datetime]]) -> None:
        values = [
            {
                "submission_id": item.submission_id,
                "kind": kind,
                "actor": "system",
                "detail": detail,
                "created_at": at,
            }
            for item, kind, detail, at in rows
            if item.submission_id is not None
        ]
        if values:
            self.connection.execute(_EVENT, values)

    def _write_sent(self, accepted: list[tuple[Outgoing, datetime]]) -> None:
        now = self.clock()
        with self._begin():
            ids = [item.id for item, _ in accepted]
            self.connection.execute(_SENT, {"ids": ids, "token": self.token, "now": now})
            self._events(
                [
                    (item, "delivered", f"{item.purpose} delivered{item.to_whom()}", at)
                    for item, at in accepted
                ]
            )

    def _write_accepted(self) -> None:
        """Write accepted emails as they come, until closed (the writer thread's loop)."""
        while True:
            with self._changed:
                while not self._accepted and not self._closing:
                    self._changed.wait()
                if not self._accepted:
                    return
                batch, self._accepted = self._accepted, []
                self._writing = len(batch)
            try:
                self._write_sent(batch)
            except BaseException as exc:  # noqa: BLE001 - handed to the sending thread
                with self._changed:
                    self._error, self._writing = exc, 0
                    self._changed.notify_all()
                return
            with self._changed:
                self._writing = 0
                self._changed.notify_all()

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error

    def sent(self, item: Outgoing) -> None:
        """Note an email the server accepted; wait first if too many are unwritten."""
        if self._thread is None:
            self._write_sent([(item, self.clock())])
            return
        with self._changed:
            while len(self._accepted) + self._writing >= self.lag and self._error is None:
                self._changed.wait()
            self._raise_if_failed()
            self._accepted.append((item, self.clock()))
            self._changed.notify_all()

    def flush(self) -> None:
        """Wait until every accepted email is written (the connection is then free)."""
        with self._changed:
            while (self._accepted or self._writing) and self._error is None:
                self._changed.wait()
            self._raise_if_failed()

    def close(self) -> None:
        """Write what is left and stop the writer thread."""
        if self._thread is None:
            return
        with self._changed:
            self._closing = True
            self._changed.notify_all()
        self._thread.join()
        self._raise_if_failed()

    def attempt_failed(self, item: Outgoing, verdict: Verdict) -> Fate:
        """Record a refused or interrupted try: schedule the next one or give up."""
        self.flush()
        now = self.clock()
        attempts = item.attempts + 1
        fate: Fate = "failed" if attempts >= MAX_ATTEMPTS else verdict.fate
        values: dict[str, object] = {
            "attempts": attempts,
            "last_error": verdict.reply,
            "lease_until": None,
        }
        if fate == "failed":
            values.update(state="failed", failed_at=now, **FORGET_RECIPIENT)
        else:
            values["next_attempt_at"] = now + backoff(attempts)
        with self._begin():
            self.connection.execute(
                sa.update(OutboxEmail).where(self._mine([item.id])).values(**values)
            )
            if fate == "failed":
                code = verdict.reply.split(" ", 1)[0]
                why = f"refused ({code})" if code.isdigit() else f"{attempts} attempts"
                detail = f"{item.purpose}{item.to_whom()} not delivered: {why}"
                self._events([(item, "delivery_failed", detail, now)])
        return fate

    def release(self, items: list[Outgoing]) -> None:
        """Give unsent emails back, due as before and with no attempt counted."""
        self.flush()
        if not items:
            return
        with self._begin():
            self.connection.execute(
                sa.update(OutboxEmail)
                .where(self._mine([item.id for item in items]))
                .values(lease_until=None, claimed_by="")
            )


@contextmanager
def _recorder(
    session: DbSession, token: str, clock: Callable[[], datetime], lag: int
) -> Iterator[Recorder]:
    """Open a connection of the recorder's own, relaxed to commit without a disk flush."""
    bind = session.get_bind()
    engine = bind if isinstance(bind, sa.Engine) else bind.engine
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        postgresql = connection.dialect.name == "postgresql"
        if sqlite:
            connection.exec_driver_sql("PRAGMA synchronous=NORMAL")
            connection.commit()
        if postgresql:  # for this connection's transactions, until it goes back to the pool
            connection.exec_driver_sql("SET synchronous_commit TO OFF")
            connection.commit()
        recorder = Recorder(connection, token, clock, lag)
        try:
            yield recorder
        finally:
            try:
                recorder.close()  # every accepted email written, or the writer's error raised
            finally:
                restore = "PRAGMA synchronous=FULL" if sqlite else "RESET synchronous_commit"
                if sqlite or postgresql:
                    with suppress(sa.exc.SQLAlchemyError):
                        connection.rollback()
                        connection.exec_driver_sql(restore)
                        connection.commit()


class Courier:
    """An SMTP connection kept open across a busy worker's passes, opened when needed.

    Opening one (TCP, greeting, EHLO, maybe TLS and a login) costs more than sending an
    email, so a worker keeps it while there is mail and closes it when idle.
    """

    def __init__(self, mail: Mail, timeout: float | None = None) -> None:
        self.mail = mail
        self.connection: Connection | None = None
        self.sent = 0
        # Seconds to wait on the server for any one answer (MAIL_TIMEOUT when not given).
        self.timeout = timeout

    def open(self, check: bool = False) -> Connection:
        """Return the open connection, connecting first if there is none (may raise)."""
        limit = self.mail.max_emails
        if self.connection is not None and limit and self.sent >= limit:
            self.close()  # MAIL_MAX_EMAILS: the relay wants a new connection now and then
        if self.connection is not None and check and not self._alive():
            self.close()  # the server hung up while we were idle: that is no email's fault
        if self.connection is None:
            connection: Connection = self.mail.connect()
            connection.host = connection.configure_host()
            timeout = self.timeout or current_app.config.get("MAIL_TIMEOUT")
            if timeout and connection.host.sock is not None:
                connection.host.sock.settimeout(float(timeout))
            self.connection, self.sent = connection, 0
        return self.connection

    def _alive(self) -> bool:
        host = self.connection.host if self.connection is not None else None
        try:
            return host is not None and host.noop()[0] == 250
        except (OSError, smtplib.SMTPException):
            return False

    def close(self) -> None:
        """Say goodbye to the server; a connection already gone needs nothing more."""
        connection, self.connection = self.connection, None
        if connection is not None and connection.host is not None:
            with suppress(OSError, smtplib.SMTPException):
                connection.host.quit()
            connection.host.close()

    def send(self, item: Outgoing, raw: bytes) -> None:
        """Send one built message to its one recipient over the open connection."""
        host = self.open().host
        if host is None:
            raise smtplib.SMTPServerDisconnected("not connected")
        host.sendmail(item.sender, [_envelope(item.recipient)], raw)
        self.sent += 1

    def reset(self) -> bool:
        """Leave the SMTP session clean after a refusal; say whether it is still usable."""
        host = self.connection.host if self.connection is not None else None
        try:
            code = host.rset()[0] if host is not None else 0
        except (OSError, smtplib.SMTPException):
            code = 0
        if code != 250:
            self.close()
        return code == 250


def deliver_due(
    session: DbSession,
    mail: Mail,
    worker: str,
    batch: int = 50,
    now: datetime | None = None,
    lease: timedelta = LEASE,
    courier: Courier | None = None,
    record_lag: int = MAX_UNRECORDED,
) -> Delivery:
    """Claim due emails and send them over one SMTP connection; record every outcome.

    Give a courier to keep its connection for the next pass; without one, the pass opens
    a connection of its own and closes it at the end. At most `record_lag` accepted emails
    wait to be recorded (0: each is recorded before the next is sent).
    """
    started_at = now or utcnow()
    started = time.monotonic()

    def clock() -> datetime:
        return started_at + timedelta(seconds=time.monotonic() - started)

    rows = claim(session, worker, batch, started_at, lease)
    report = Delivery(claimed=len(rows))
    if not rows:
        return report
    token = rows[0].claimed_by
    items = [Outgoing.of(row) for row in rows]
    unsealed = {row.id: row for row in rows if not row.raw}
    session.rollback()  # the claim is committed; hold no transaction while sending
    # Stop starting new sends once half the lease is gone: past it, another worker may
    # claim these rows and send them too.
    stop_at = started + lease.total_seconds() / 2
    own = courier or Courier(mail)
    try:
        with _recorder(session, token, clock, record_lag) as recorder:
            try:
                own.open(check=True)
            except Exception as exc:  # noqa: BLE001 - whatever stops a connection: all wait
                reply = judge(exc).reply
                log.warning("delivery: cannot reach the mail server: %s", reply)
                for item in items:
                    _count(report, recorder.attempt_failed(item, Verdict("retry", True, reply)))
                return report
            _send_all(own, items, unsealed, recorder, report, stop_at)
    finally:
        if courier is None:
            own.close()
    return report


def _count(report: Delivery, fate: Fate) -> None:
    if fate == "failed":
        report.failed += 1
    else:
        report.retried += 1


def _send_all(
    courier: Courier,
    items: list[Outgoing],
    unsealed: dict[int, OutboxEmail],
    recorder: Recorder,
    report: Delivery,
    stop_at: float,
) -> None:
    """Send each email in turn, recording each outcome before the next send."""
    for index, item in enumerate(items):
        rest = items[index + 1 :]
        if index and time.monotonic() > stop_at:  # the first always goes: progress
            recorder.release(items[index:])
            report.released += len(items) - index
            return
        try:
            courier.send(item, item.raw or seal(unsealed[item.id]))
        except Exception as exc:  # noqa: BLE001 - every error is this email's outcome
            verdict = judge(exc)
            _count(report, recorder.attempt_failed(item, verdict))
            if verdict.connection_lost or not courier.reset():
                courier.close()
                recorder.release(rest)
                report.released += len(rest)
                log.warning("delivery: connection lost (%s); %d put back", verdict.reply, len(rest))
                return
        else:
            recorder.sent(item)
            report.sent += 1
