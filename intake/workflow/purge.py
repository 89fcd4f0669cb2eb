"""Retention: erase readers' text, contact details and files, keeping the row for statistics."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from intake import attachments, notify
from intake.models import (
    ERASED,
    Attachment,
    DbSession,
    Event,
    OutboxEmail,
    OutboxHook,
    Question,
    Submission,
    utcnow,
)

FINAL_STATUSES = ("answered", "used", "closed", "spam", "duplicate")
# Seconds purge keeps trying to empty SQLite's write-ahead log before it gives up.
CHECKPOINT_SECONDS = 10.0
# Events whose detail can hold the reader's words or what staff wrote about them.
TEXT_EVENTS = ("routed", "note", "reply", "reply_page", "reader_message")
ORPHAN_GRACE = 3600  # seconds: a file younger than this may belong to a submit in progress


@dataclass
class PurgeReport:
    """What a purge erased."""

    submissions: list[str] = field(default_factory=list)
    files: int = 0
    emails: int = 0
    orphans: int = 0


def erase(
    session: DbSession, submission: Submission, uploads: Path, why: str, now: datetime
) -> int:
    """Erase one submission's reader data, in the caller's transaction; return files removed."""
    submission.subject = submission.body = submission.name = submission.email = ""
    submission.article = submission.author_slug = ""
    submission.reason = ERASED
    submission.followup_hash = submission.followup_session = None  # the page closes too
    submission.purged_at = now
    session.execute(
        sa.update(Event)
        .where(Event.submission_id == submission.id, Event.kind.in_(TEXT_EVENTS))
        .values(detail=ERASED)
    )
    # A sentence vector can be turned back into much of its text: it goes with the text.
    session.execute(
        sa.update(Question)
        .where(Question.submission_id == submission.id)
        .values(vector=None, state="done")
    )
    files = list(
        session.scalars(sa.select(Attachment).where(Attachment.submission_id == submission.id))
    )
    for item in files:
        (uploads / item.stored_name).unlink(missing_ok=True)
        session.delete(item)
    session.add(
        Event(
            submission_id=submission.id,
            kind="purged",
            actor="system",
            detail=f"text, contact details and {len(files)} file(s) erased: {why}",
            created_at=now,
        )
    )
    return len(files)


def _erase_emails(session: DbSession, where: sa.ColumnElement[bool], now: datetime) -> int:
    """Blank the outbox copies (they repeat the text and addresses); cancel unsent ones.

    A server's reply can quote the address it refused, so errors go too. A failed email
    stays failed (the outbox page still lists it, erased, until someone cancels it).
    """
    pending = OutboxEmail.state == "pending"
    result = session.execute(
        sa.update(OutboxEmail)
        .where(where)
        .values(
            subject=ERASED,
            body=ERASED,
            raw=None,
            recipient=ERASED,
            recipient_key="",
            reply_to="",
            last_error=sa.case((OutboxEmail.last_error == "", ""), else_=ERASED),
            state=sa.case((pending, "cancelled"), else_=OutboxEmail.state),
            cancelled_at=sa.case((pending, now), else_=OutboxEmail.cancelled_at),
            lease_until=None,
        )
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _erase_hooks(session: DbSession, ids: list[int], now: datetime) -> None:
    """Blank the webhook and chat payloads about these submissions; cancel unsent ones.

    One a worker holds right now is blanked only: the worker cancels it when it reaches it
    (or records it sent, if its POST was already under way).
    """
    unclaimed = sa.or_(OutboxHook.lease_until.is_(None), OutboxHook.lease_until < now)
    cancel = sa.and_(OutboxHook.state == "pending", unclaimed)
    session.execute(
        sa.update(OutboxHook)
        .where(OutboxHook.submission_id.in_(ids))
        .values(
            payload=ERASED,
            last_error=sa.case((OutboxHook.last_error == "", ""), else_=ERASED),
            state=sa.case((cancel, "cancelled"), else_=OutboxHook.state),
            cancelled_at=sa.case((cancel, now), else_=OutboxHook.cancelled_at),
        )
        .execution_options(synchronize_session=False)
    )


def _run(
    session: DbSession,
    submissions: list[Submission],
    uploads: Path,
    why: str,
    extra_emails: sa.ColumnElement[bool] | None = None,
) -> PurgeReport:
    now = utcnow()
    report = PurgeReport()
    try:
        for submission in submissions:
            report.files += erase(session, submission, uploads, why, now)
            report.submissions.append(submission.reference)
        ids = [s.id for s in submissions]
        where: sa.ColumnElement[bool] = OutboxEmail.submission_id.in_(ids)
        if extra_emails is not None:
            where = sa.or_(where, extra_emails)
        report.emails = _erase_emails(session, where, now) if ids or extra_emails is not None else 0
        if ids:
            _erase_hooks(session, ids, now)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    _compact(session)
    return report


class PurgeIncomplete(Exception):
    """The data is erased in the database, but a copy may remain in SQLite's log file."""


def _compact(session: DbSession) -> None:
    """Leave no erased text in SQLite's files: merge the search index, empty the WAL.

    The checkpoint cannot finish while another connection reads an older snapshot, so it
    is tried until the log is truncated; if it never is, PurgeIncomplete says so.
    """
    bind = session.get_bind()
    if bind.dialect.name != "sqlite":
        return
    session.execute(sa.text("INSERT INTO submissions_fts(submissions_fts) VALUES ('optimize')"))
    session.commit()
    deadline = time.monotonic() + CHECKPOINT_SECONDS
    while True:
        busy, frames, _moved = session.execute(sa.text("PRAGMA wal_checkpoint(TRUNCATE)")).one()
        session.commit()
        if busy == 0 and frames <= 0:  # truncated (0), or not in WAL mode at all (-1)
            return
        if time.monotonic() > deadline:
            raise PurgeIncomplete(
                "the erased data is gone from the database, but SQLite's write-ahead log "
                "could not be emptied because another process is reading the database; "
                "copies may remain in the -wal file until it is. Run the purge again when "
                "the app is idle (or stopped)."
            )
        time.sleep(0.1)


def purge_closed(session: DbSession, uploads: Path, days: int) -> PurgeReport:
    """Erase submissions that reached a final status more than `days` days ago."""
    cutoff = utcnow() - timedelta(days=days)
    due = list(
        session.scalars(
            sa.select(Submission).where(
                Submission.status.in_(FINAL_STATUSES),
                Submission.closed_at < cutoff,
                Submission.purged_at.is_(None),
            )
        )
    )
    report = _run(session, due, uploads, f"closed over {days} days ago (retention)")
    known = set(session.scalars(sa.select(Attachment.stored_name)))
    report.orphans = attachments.remove_orphans(uploads, known, time.time() - ORPHAN_GRACE)
    return report


def purge_reference(session: DbSession, uploads: Path, reference: str) -> PurgeReport:
    """Erase one submission's reader data, on the reader's request."""
    found = list(session.scalars(sa.select(Submission).where(Submission.reference == reference)))
    return _run(session, found, uploads, "on the reader's request")


def purge_email(session: DbSession, uploads: Path, email: str) -> PurgeReport:
    """Erase every submission from an address, and every email sent to it.

    A reader who did not agree to be contacted left no address on their submission; their
    receipt's keyed hash still finds it.
    """
    address = email.strip().lower()
    key = notify.address_key(address)
    receipts = sa.select(OutboxEmail.submission_id).where(
        OutboxEmail.recipient_key == key, OutboxEmail.submission_id.is_not(None)
    )
    found = list(
        session.scalars(
            sa.select(Submission).where(
                sa.or_(sa.func.lower(Submission.email) == address, Submission.id.in_(receipts))
            )
        )
    )
    return _run(
        session,
        found,
        uploads,
        "on the reader's request",
        extra_emails=sa.or_(
            sa.func.lower(OutboxEmail.recipient) == address, OutboxEmail.recipient_key == key
        ),
    )
