"""Take one incoming email, whichever way it came (pipe or IMAP), in one transaction.

What it becomes: the reader's message in its submission's thread (a reply with a valid
token, or the reference in the subject from the address that submission holds); a
reporter's internal note (a reply to their notice); a bounce marking our email failed; a
new submission (anything else sent to us); or nothing (automatic mail, our own mail
looping back, a message already taken). Every outcome is recorded once by Message-ID.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from sqlalchemy.exc import IntegrityError

from intake import attachments, thread_ids
from intake import reference as references
from intake.delivery import FORGET_RECIPIENT, without_addresses
from intake.language import detect
from intake.mailin.parse import Bounce, Inbound, parse
from intake.mailin.quotes import new_text
from intake.models import (
    READER_PURPOSES,
    DbSession,
    Event,
    InboundMessage,
    OutboxEmail,
    Submission,
    to_whom,
    utcnow,
)
from intake.text import clean_multiline
from intake.workflow.conversation import reader_wrote
from intake.workflow.submit import NewSubmission, submit

log = logging.getLogger(__name__)

Outcome = Literal["reply", "note", "new", "bounce", "ignored", "duplicate"]
BODY_MAX = 20_000
REFERENCE_IN_SUBJECT = re.compile(r"\b[TQ](?:[-\s]?[2-9A-HJ-NP-Z]{4}){2}\b", re.IGNORECASE)


class Refused(Exception):
    """An email intake will not take; the message says why (it goes back to the sender)."""


@dataclass(frozen=True)
class Taken:
    """What an incoming email became."""

    outcome: Outcome
    reference: str = ""


@dataclass(frozen=True)
class MailLimits:
    """What one email may carry: the form's limits for its files, and a size in bytes."""

    files: attachments.Limits
    max_bytes: int

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> MailLimits:
        """Allow what the form allows: its files (base64 makes them a third larger) and text."""
        files = attachments.Limits.from_config(config)
        return cls(files, files.total * 4 // 3 + 1024 * 1024)


def take(
    session: DbSession,
    raw: bytes,
    secret: str,
    uploads: Path,
    limits: MailLimits,
    now: datetime | None = None,
) -> Taken:
    """Take one email; raise Refused for one that cannot be taken, and say what it became."""
    now = now or utcnow()
    if len(raw) > limits.max_bytes:
        raise Refused(
            f"the message is larger than {limits.max_bytes // (1024 * 1024)} MB; "
            "send fewer or smaller files"
        )
    inbound = parse(raw)
    seen = sa.select(InboundMessage.id).where(InboundMessage.message_key == inbound.key)
    if session.scalar(seen) is not None:
        return Taken("duplicate")
    try:
        taken = _take(session, inbound, secret, uploads, limits, now)
    except IntegrityError:
        session.rollback()
        if session.scalar(seen) is not None:
            # The same message through the other entry point, committed first: taken.
            return Taken("duplicate")
        raise  # another conflict (a reference drawn twice): try the message again later
    except BaseException:
        session.rollback()
        raise
    log.info("incoming email: %s", taken.outcome)  # never its sender, subject or text
    return taken


def _record(
    session: DbSession, inbound: Inbound, outcome: Outcome, submission: Submission | None
) -> Taken:
    """Record the message's outcome and commit (the whole use case's one transaction)."""
    session.add(
        InboundMessage(
            message_key=inbound.key,
            outcome=outcome,
            submission_id=submission.id if submission is not None else None,
        )
    )
    session.commit()
    return Taken(outcome, submission.reference if submission is not None else "")


def _take(
    session: DbSession,
    inbound: Inbound,
    secret: str,
    uploads: Path,
    limits: MailLimits,
    now: datetime,
) -> Taken:
    if inbound.bounce is not None:
        return _bounce(session, inbound, inbound.bounce, now)
    if inbound.automatic or _ours(session, inbound):
        return _record(session, inbound, "ignored", None)
    text = clean_multiline(new_text(inbound.plain, inbound.html))
    if len(text) > BODY_MAX:
        raise Refused(f"the text is longer than {BODY_MAX:,} characters")
    email, submission = _thread(session, inbound, secret)
    if submission is not None and submission.purged_at is not None:
        email, submission = None, None  # an erased conversation takes nothing more
    if email is not None and submission is not None and email.purpose not in READER_PURPOSES:
        # A reply to an email staff received (a notice): the staff member's own words.
        return _reporter_note(session, inbound, submission, text, now)
    if submission is None:
        submission = _by_reference_from_its_reader(session, inbound)
    if submission is not None:
        return _reader_message(session, inbound, submission, text, uploads, limits, now)
    return _new_submission(session, inbound, text, uploads, limits, now)


def _ours(session: DbSession, inbound: Inbound) -> bool:
    """Say whether this is one of our own emails come back (a loop)."""
    if not inbound.message_id:
        return False
    return bool(
        session.scalar(
            sa.select(OutboxEmail.id).where(OutboxEmail.message_id == inbound.message_id)
        )
    )


def _thread(
    session: DbSession, inbound: Inbound, secret: str
) -> tuple[OutboxEmail | None, Submission | None]:
    """Find the email of ours this replies to, trusting only a token signed for its thread."""
    for message_id in inbound.references:
        email = session.scalar(sa.select(OutboxEmail).where(OutboxEmail.message_id == message_id))
        if email is None or email.submission_id is None:
            continue
        if thread_ids.signed_for(message_id, email.submission_id, secret):
            return email, session.get(Submission, email.submission_id)
    return None, None


def _by_reference_from_its_reader(session: DbSession, inbound: Inbound) -> Submission | None:
    """Find the submission named in the subject, if the sender is the address it holds.

    A reference proves nothing by itself (anyone can type one): a stranger's email with
    someone else's reference becomes a submission of its own.
    """
    for found in REFERENCE_IN_SUBJECT.findall(inbound.subject):
        canonical = references.normalise(found)
        if canonical is None:
            continue
        submission = session.scalar(sa.select(Submission).where(Submission.reference == canonical))
        if (
            submission is not None
            and submission.purged_at is None
            and submission.email
            and inbound.sender
            and submission.email.lower() == inbound.sender
        ):
            return submission
    return None


def _receive_files(inbound: Inbound, uploads: Path, limits: MailLimits) -> list[attachments.Stored]:
    """Check and store the email's files exactly as the form's (type by content, cleaning)."""
    if not inbound.files:
        return []
    incoming = [attachments.Incoming(name, io.BytesIO(data)) for name, data in inbound.files]
    try:
        return attachments.receive(incoming, uploads, limits.files)
    except attachments.AttachmentError as exc:
        raise Refused(str(exc)) from None


def _reader_message(
    session: DbSession,
    inbound: Inbound,
    submission: Submission,
    text: str,
    uploads: Path,
    limits: MailLimits,
    now: datetime,
) -> Taken:
    """Append the reader's emailed message to the thread and tell whoever holds it."""
    stored = _receive_files(inbound, uploads, limits)
    try:
        reader_wrote(session, submission, text, stored, "email", now)
        return _record(session, inbound, "reply", submission)
    except BaseException:
        attachments.discard(stored, uploads)
        raise


def _reporter_note(
    session: DbSession, inbound: Inbound, submission: Submission, text: str, now: datetime
) -> Taken:
    """Keep a reporter's emailed answer to a notice as an internal note: never sent on."""
    session.add(
        Event(
            submission_id=submission.id,
            kind="note",
            actor=inbound.sender or "a reporter (email)",
            detail=(text or "(no text)") + "\n\n(written by email in reply to the notice)",
            created_at=now,
        )
    )
    return _record(session, inbound, "note", submission)


def _bounce(session: DbSession, inbound: Inbound, bounce: Bounce, now: datetime) -> Taken:
    """Mark the email a delivery report is about as failed, with the status it reports."""
    email = session.scalar(
        sa.select(OutboxEmail).where(OutboxEmail.message_id == bounce.original_id)
    )
    if email is None:
        return _record(session, inbound, "ignored", None)
    said = " ".join(p for p in ("bounced:", bounce.status, bounce.diagnostic) if p)
    reply = without_addresses(said)
    session.execute(
        sa.update(OutboxEmail)
        .where(OutboxEmail.id == email.id)
        .values(state="failed", failed_at=now, last_error=reply[:500], **FORGET_RECIPIENT)
        .execution_options(synchronize_session=False)
    )
    submission = session.get(Submission, email.submission_id) if email.submission_id else None
    if submission is not None:
        whom = to_whom(email.purpose)
        session.add(
            Event(
                submission_id=submission.id,
                kind="delivery_failed",
                actor="system",
                detail=f"{email.purpose}{whom} bounced ({bounce.status or 'no status'})",
                created_at=now,
            )
        )
    return _record(session, inbound, "bounce", submission)


def _valid_address(sender: str) -> str:
    """Return the sender's address if mail can be sent to it, else nothing."""
    try:
        valid = validate_email(sender, check_deliverability=False)
    except EmailNotValidError:
        return ""
    return valid.normalized if valid.ascii_email else ""


def _locale(text: str) -> str:
    language = detect(text)
    return language if language in ("ru", "uk") else "en"


def _new_submission(
    session: DbSession,
    inbound: Inbound,
    text: str,
    uploads: Path,
    limits: MailLimits,
    now: datetime,
) -> Taken:
    """Make a new tip of an email sent to us, routed and acknowledged like the form's."""
    body = text or inbound.subject or "(The email had no text.)"
    address = _valid_address(inbound.sender)
    new = NewSubmission(
        kind="tip",
        topic=None,
        subject=inbound.subject,
        body=body,
        name=inbound.sender_name if address else "",
        email=address,
        # They wrote to us by email, so answering by email is what they expect.
        consent_contact=bool(address),
        consent_publish=False,
        sensitive=False,
        article="",
        author_slug="",
        locale=_locale(f"{inbound.subject}\n{body}"),
    )
    recorded: list[Submission] = []

    def record(submission: Submission) -> None:
        recorded.append(submission)
        session.add(
            InboundMessage(message_key=inbound.key, outcome="new", submission_id=submission.id)
        )

    files = [attachments.Incoming(n, io.BytesIO(d)) for n, d in inbound.files]
    try:
        reference = submit(
            session,
            new,
            now=now,
            files=files,
            uploads=uploads,
            limits=limits.files,
            on_stored=record,
        )
    except attachments.AttachmentError as exc:
        raise Refused(str(exc)) from None
    return Taken("new", reference)
