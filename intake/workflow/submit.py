"""The reader's use case: store, route and queue the emails of a submission at once."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

from intake import attachments, followup, notify
from intake.directory import Snapshot, snapshot
from intake.language import detect
from intake.models import (
    Attachment,
    DbSession,
    Event,
    OutboxEmail,
    Question,
    Submission,
    utcnow,
)
from intake.reference import new_reference
from intake.routing import Decision, Directory, Facts, route

REFERENCE_TRIES = 8
DEFAULT_LIMITS = attachments.Limits()


@dataclass(frozen=True)
class NewSubmission:
    """A reader's tip or question, already cleaned and validated by the form."""

    kind: str
    topic: str | None
    subject: str
    body: str
    name: str
    email: str
    consent_contact: bool
    consent_publish: bool
    sensitive: bool
    article: str
    author_slug: str
    locale: str = "en"


def _free_reference(session: DbSession, kind: str) -> str:
    """Draw references until one is unused; with 40 random bits the first almost always is."""
    for _ in range(REFERENCE_TRIES):
        reference = new_reference(kind)
        taken = session.scalar(sa.select(sa.literal(True)).where(Submission.reference == reference))
        if not taken:
            return reference
    raise RuntimeError("no free reference after several draws")


def decide(directory: Directory, new: NewSubmission, now: datetime) -> Decision:
    """Detect the language and route a submission against the directory."""
    language = detect(f"{new.subject}\n{new.body}")
    facts = Facts(
        topic=new.topic,
        subject=new.subject,
        body=new.body,
        language=language,
        author=new.author_slug or None,
    )
    return route(facts, directory, now)


def submit(
    session: DbSession,
    new: NewSubmission,
    now: datetime | None = None,
    files: Sequence[attachments.Incoming] = (),
    uploads: Path | None = None,
    limits: attachments.Limits = DEFAULT_LIMITS,
    receipt_allowed: Callable[[], bool] = lambda: True,
    on_stored: Callable[[Submission], None] | None = None,
    followup_passphrase: str | None = None,
) -> str:
    """Store, route and queue emails for a submission in one transaction; return its reference.

    Files are checked and written first (AttachmentError if one is refused, nothing kept);
    if the transaction then fails, they are deleted again. `receipt_allowed` is asked
    only when a receipt would be sent (the form counts receipts per client with it);
    `on_stored` adds to the same transaction (mail in records the message it came from);
    only the hash of `followup_passphrase` is kept.
    """
    now = now or utcnow()
    stored: list[attachments.Stored] = []
    if any(f.filename for f in files):
        if uploads is None:
            raise ValueError("files given without an uploads folder")
        stored = attachments.receive(files, uploads, limits)
    try:
        snap = snapshot(session)
        decision = decide(snap.directory, new, now)
        submission = Submission(
            reference=_free_reference(session, new.kind),
            kind=new.kind,
            status="new",
            topic_id=snap.topic_ids.get(decision.topic or ""),
            desk_id=snap.desk_ids[decision.desk],
            assignee_id=snap.reporter_ids.get(decision.reporter or ""),
            assigned_at=now if decision.reporter else None,
            subject=new.subject,
            body=new.body,
            # Without consent to be contacted, the name and address are not kept: the
            # address serves the receipt alone (its outbox row forgets it once sent).
            name=new.name if new.consent_contact else "",
            email=new.email if new.consent_contact else "",
            consent_contact=new.consent_contact,
            consent_publish=new.consent_publish,
            sensitive=new.sensitive,
            article=new.article,
            author_slug=new.author_slug,
            language=decision.language,
            needs_translation=decision.needs_translation,
            reason=decision.reason,
            locale=new.locale,
            followup_hash=(
                followup.hash_passphrase(followup_passphrase) if followup_passphrase else None
            ),
            created_at=now,
            updated_at=now,
        )
        session.add(submission)
        session.add(Event(submission=submission, kind="created", actor="reader", created_at=now))
        attach(session, submission, stored, now)
        if new.kind == "question":
            # The worker compares it with the other questions once this commits.
            session.add(Question(submission=submission, created_at=now))
        session.add(
            Event(
                submission=submission,
                kind="routed",
                actor="system",
                detail=decision.reason,
                created_at=now,
            )
        )
        session.flush()  # the emails' Message-IDs are signed for the submission's id
        notice = notify.reporter_notice(
            submission,
            decision.to,
            snap.newsroom,
            topic_label=snap.topic_labels.get(decision.topic or ""),
            email_content=snap.directory.desks[decision.desk].email_content,
            ack_for=submission.assignee_id,
        )
        queue(session, notice, f"notice to {_whom(snap, decision)}", now)
        _queue_receipt(session, submission, new, snap.newsroom, receipt_allowed, now)
        if on_stored is not None:
            on_stored(submission)
        session.commit()
    except BaseException:
        session.rollback()
        if uploads is not None:
            attachments.discard(stored, uploads)
        raise
    return submission.reference


def attach(
    session: DbSession, submission: Submission, stored: Sequence[attachments.Stored], now: datetime
) -> None:
    """Add stored files to a submission, with an event each (in the caller's transaction)."""
    for item in stored:
        session.add(
            Attachment(
                submission=submission,
                stored_name=item.stored_name,
                original_name=item.original_name,
                media_type=item.media_type,
                size=item.size,
                sha256=item.sha256,
                cleaned=item.cleaned,
                note=item.note,
                created_at=now,
            )
        )
        session.add(
            Event(
                submission=submission,
                kind="attachment",
                actor="system",
                detail=f"{item.media_type}, {item.size:,} bytes: {item.note}",
                created_at=now,
            )
        )


def _whom(snap: Snapshot, decision: Decision) -> str:
    """Name who a notice goes to, for the history (a name, never an address)."""
    for reporter in snap.directory.reporters:
        if reporter.slug == decision.reporter:
            return reporter.name
    return f"the {snap.directory.desks[decision.desk].name} inbox"


def _queue_receipt(
    session: DbSession,
    submission: Submission,
    new: NewSubmission,
    newsroom: notify.Newsroomish,
    receipt_allowed: Callable[[], bool],
    now: datetime,
) -> None:
    """Queue the reader's receipt, unless it would disclose or flood; say why it was not."""
    if not new.email:
        return
    why_not = ""
    if new.sensitive and not new.consent_contact:
        # A receipt in a shared or watched mailbox is itself a disclosure.
        why_not = "the tip is sensitive and the reader did not agree to be contacted"
    elif not notify.ack_allowed(session, new.email, now):
        why_not = "too many to this address this hour"
    elif not receipt_allowed():
        why_not = "too many from this client this hour"
    if why_not:
        session.add(
            Event(
                submission=submission,
                kind="ack_skipped",
                actor="system",
                detail=f"reader's receipt not sent: {why_not}",
                created_at=now,
            )
        )
        return
    receipt = notify.reader_ack(submission, newsroom, new.email)
    queue(session, receipt, "reader's receipt", now)


def queue(
    session: DbSession, email: OutboxEmail, what: str, now: datetime, actor: str = "system"
) -> None:
    """Put an email in the outbox with an 'emailed' event, in the caller's transaction."""
    email.created_at = email.next_attempt_at = now
    session.add(email)
    if email.submission is not None:
        session.add(
            Event(
                submission=email.submission,
                kind="emailed",
                actor=actor,
                detail=f"{what} queued",
                created_at=now,
            )
        )
