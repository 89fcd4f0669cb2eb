"""Compose emails into the outbox, and deliver due ones over SMTP (the worker's job)."""

from __future__ import annotations

import smtplib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import sqlalchemy as sa
from flask import current_app
from flask_mail import Connection, Mail, Message

from intake.language import name as language_name
from intake.models import DbSession, Desk, Event, OutboxEmail, Submission, utcnow
from intake.text import clean_line

KIND_TAGS = {"tip": "Tip", "question": "Question"}
SUBJECT_EXCERPT = 100
# A reader's address gets at most this many acknowledgements an hour: intake must not
# become a way to flood someone's inbox by typing their address into the form.
ACKS_PER_HOUR = 3
BACKOFF_FIRST = timedelta(seconds=30)
BACKOFF_MAX = timedelta(hours=1)
MAX_ATTEMPTS = 12  # about 6.5 hours of retries before an email is marked failed
LEASE = timedelta(minutes=2)


def _message_id(sender: str) -> str:
    domain = sender.rpartition("@")[2] or "intake.invalid"
    return f"<{uuid.uuid4().hex}@{domain}>"


class Newsroomish(Protocol):
    """What an email needs of the newsroom: the ORM row or the directory snapshot's copy."""

    @property
    def name(self) -> str: ...

    @property
    def public_url(self) -> str: ...

    @property
    def sender(self) -> str: ...


def render(template: str, **context: Any) -> str:
    """Render an email template: plain Jinja, without the pages' context processors."""
    return current_app.jinja_env.get_template(template).render(**context)


def staff_link(newsroom: Newsroomish, submission: Submission) -> str:
    """Return the address of the submission's staff page."""
    return f"{newsroom.public_url}/staff/s/{submission.reference}"


def carries_text(submission: Submission, email_content: str) -> bool:
    """Say whether an email about this submission may include the reader's text."""
    return not submission.sensitive and email_content == "full"


def notice_subject(submission: Submission, topic_label: str | None, with_text: bool) -> str:
    """Build the reporter's subject line; reader text in it is cut to one clean line."""
    tag = KIND_TAGS[submission.kind]
    topic = topic_label or "No topic"
    excerpt = clean_line(submission.subject)[:SUBJECT_EXCERPT] if with_text else ""
    middle = f" — {excerpt}" if excerpt else ""
    return clean_line(f"[{tag}] {topic}{middle} ({submission.reference})")


def reporter_notice(
    submission: Submission,
    to: str,
    newsroom: Newsroomish,
    *,
    topic_label: str | None,
    email_content: str,
    why: str | None = None,
) -> OutboxEmail:
    """Compose the email that tells a reporter (or a desk inbox) about a submission."""
    with_text = carries_text(submission, email_content)
    body = render(
        "email/reporter_notice.txt",
        submission=submission,
        topic_label=topic_label,
        why=why or submission.reason,
        with_text=with_text,
        link=staff_link(newsroom, submission),
        language=language_name(submission.language or "und"),
    )
    reply_to = submission.email if with_text and submission.consent_contact else ""
    return OutboxEmail(
        submission=submission,
        purpose="reporter_notice",
        message_id=_message_id(newsroom.sender),
        sender=newsroom.sender,
        recipient=to,
        reply_to=reply_to,
        subject=notice_subject(submission, topic_label, with_text),
        body=body,
    )


def ack_allowed(session: DbSession, address: str, now: datetime) -> bool:
    """Say whether this address may get another acknowledgement within the hour."""
    recent = session.scalar(
        sa.select(sa.func.count())
        .select_from(OutboxEmail)
        .where(
            OutboxEmail.purpose == "reader_ack",
            sa.func.lower(OutboxEmail.recipient) == address.lower(),
            OutboxEmail.created_at > now - timedelta(hours=1),
        )
    )
    return (recent or 0) < ACKS_PER_HOUR


ACK_SUBJECTS = {
    ("en", "tip"): "We received your tip ({reference})",
    ("en", "question"): "We received your question ({reference})",
    ("ru", "tip"): "Мы получили ваше сообщение ({reference})",
    ("ru", "question"): "Мы получили ваш вопрос ({reference})",
    ("uk", "tip"): "Ми отримали ваше повідомлення ({reference})",
    ("uk", "question"): "Ми отримали ваше запитання ({reference})",
}


def reader_ack(submission: Submission, newsroom: Newsroomish) -> OutboxEmail:
    """Compose the acknowledgement to a reader, in the form's language: never their text."""
    locale = submission.locale if (submission.locale, "tip") in ACK_SUBJECTS else "en"
    subject = ACK_SUBJECTS[(locale, submission.kind)].format(reference=submission.reference)
    return OutboxEmail(
        submission=submission,
        purpose="reader_ack",
        message_id=_message_id(newsroom.sender),
        sender=newsroom.sender,
        recipient=submission.email,
        subject=clean_line(subject),
        body=render(
            f"email/reader_ack.{locale}.txt",
            submission=submission,
            newsroom=newsroom,
        ),
    )


def staff_reply(
    submission: Submission, desk: Desk | None, newsroom: Newsroomish, text: str
) -> OutboxEmail:
    """Compose a reporter's reply to the reader, sent from the desk's address."""
    sender = desk.email if desk else newsroom.sender
    tag = "question" if submission.kind == "question" else "tip"
    return OutboxEmail(
        submission=submission,
        purpose="reply",
        message_id=_message_id(sender),
        sender=sender,
        recipient=submission.email,
        reply_to=sender,
        subject=clean_line(f"About your {tag} ({submission.reference})"),
        body=render(
            "email/reply.txt", submission=submission, text=text, newsroom=newsroom, desk=desk
        ),
    )


@dataclass
class Delivery:
    """What one pass of the worker did."""

    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0

    def add(self, other: Delivery) -> None:
        """Add another pass's counts to these."""
        self.claimed += other.claimed
        self.sent += other.sent
        self.retried += other.retried
        self.failed += other.failed


def backoff(attempts: int) -> timedelta:
    """Return the wait before the next try after this many failed attempts."""
    wait: timedelta = BACKOFF_FIRST * 2 ** max(attempts - 1, 0)
    return min(wait, BACKOFF_MAX)


def claim(
    session: DbSession, worker: str, batch: int, now: datetime, lease: timedelta = LEASE
) -> list[OutboxEmail]:
    """Lease up to `batch` due emails to this worker and commit the lease."""
    token = f"{worker}/{uuid.uuid4().hex[:8]}"
    due = sa.select(OutboxEmail.id).where(
        OutboxEmail.state == "pending",
        OutboxEmail.next_attempt_at <= now,
        sa.or_(OutboxEmail.lease_until.is_(None), OutboxEmail.lease_until < now),
    )
    # Look before taking a write lock: an idle worker polls often, and on SQLite an
    # UPDATE that changes nothing still makes the form's writers wait.
    if session.scalar(due.limit(1)) is None:
        session.rollback()
        return []
    due = (
        due.order_by(OutboxEmail.next_attempt_at, OutboxEmail.id)
        .limit(batch)
        # PostgreSQL: concurrent workers skip each other's rows instead of waiting.
        .with_for_update(skip_locked=True)
    )
    session.execute(
        sa.update(OutboxEmail)
        .where(
            OutboxEmail.id.in_(due.scalar_subquery()),
            sa.or_(OutboxEmail.lease_until.is_(None), OutboxEmail.lease_until < now),
        )
        .values(claimed_by=token, lease_until=now + lease)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return list(
        session.scalars(
            sa.select(OutboxEmail).where(OutboxEmail.claimed_by == token).order_by(OutboxEmail.id)
        )
    )


def _message(row: OutboxEmail) -> Message:
    message = Message(
        subject=row.subject,
        sender=row.sender,
        recipients=[row.recipient],
        body=row.body,
        reply_to=row.reply_to or None,
        extra_headers={"Auto-Submitted": "auto-generated"},
    )
    message.msgId = row.message_id
    return message


def _event(session: DbSession, row: OutboxEmail, kind: str, detail: str) -> None:
    if row.submission_id is not None:
        session.add(
            Event(submission_id=row.submission_id, kind=kind, actor="system", detail=detail)
        )


def _record_sent(session: DbSession, rows: list[OutboxEmail], now: datetime) -> None:
    """Mark a batch's sent emails in one transaction, with a 'delivered' event each.

    Once a batch, not once an email: a worker killed mid-batch sends that batch's sent
    emails again (same Message-IDs), which is the at-least-once the outbox promises.
    """
    if not rows:
        return
    session.execute(
        sa.update(OutboxEmail)
        .where(OutboxEmail.id.in_([row.id for row in rows]))
        .values(state="sent", sent_at=now, lease_until=None, attempts=OutboxEmail.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    events = [
        {
            "submission_id": row.submission_id,
            "kind": "delivered",
            "actor": "system",
            "detail": f"{row.purpose} delivered to {row.recipient}",
            "created_at": now,
        }
        for row in rows
        if row.submission_id is not None
    ]
    if events:
        session.execute(sa.insert(Event), events)
    session.commit()


def _failed_attempt(session: DbSession, row: OutboxEmail, error: Exception, now: datetime) -> bool:
    """Record a failed try; schedule the next or give up. Return whether it gave up."""
    row.attempts += 1
    row.last_error = f"{type(error).__name__}: {error}"[:500]
    row.lease_until = None
    gave_up = row.attempts >= MAX_ATTEMPTS or _permanent(error)
    if gave_up:
        row.state = "failed"
        _event(
            session, row, "delivery_failed", f"{row.purpose} to {row.recipient}: {row.last_error}"
        )
    else:
        row.next_attempt_at = now + backoff(row.attempts)
    session.commit()
    return gave_up


def _permanent(error: Exception) -> bool:
    """Say whether the server refused for good (a 5xx answer), so retrying cannot help."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(500 <= code < 600 for code, _ in error.recipients.values())
    code = getattr(error, "smtp_code", None)
    return isinstance(code, int) and 500 <= code < 600


def deliver_due(
    session: DbSession,
    mail: Mail,
    worker: str,
    batch: int = 50,
    now: datetime | None = None,
    lease: timedelta = LEASE,
) -> Delivery:
    """Claim due emails and send them over one SMTP connection; record every outcome."""
    now = now or utcnow()
    rows = claim(session, worker, batch, now, lease)
    report = Delivery(claimed=len(rows))
    if not rows:
        return report
    pending = list(rows)
    sent: list[OutboxEmail] = []
    refused: list[tuple[OutboxEmail, Exception]] = []
    try:
        connection: Connection
        with mail.connect() as connection:
            while pending:
                row = pending[0]
                try:
                    connection.send(_message(row))
                except (smtplib.SMTPServerDisconnected, OSError):
                    raise  # the connection is gone: the rest wait for the next pass
                except smtplib.SMTPException as exc:
                    # This message was refused; the connection is still good for the others.
                    refused.append((row, exc))
                else:
                    sent.append(row)
                pending.pop(0)
    except (OSError, smtplib.SMTPException) as exc:
        refused.extend((row, exc) for row in pending)
    finally:
        _record_sent(session, sent, utcnow())
    report.sent = len(sent)
    for row, error in refused:
        gave_up = _failed_attempt(session, row, error, utcnow())
        report.failed += gave_up
        report.retried += not gave_up
    return report
