"""Retention: erase readers' text, contact details and files, keeping the row for statistics."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from intake import attachments
from intake.models import (
    Attachment,
    DbSession,
    Event,
    OutboxEmail,
    Submission,
    utcnow,
)

FINAL_STATUSES = ("answered", "used", "closed", "spam", "duplicate")
# Events whose detail can hold the reader's words or what staff wrote about them.
TEXT_EVENTS = ("routed", "note", "reply")
ERASED = "(erased)"
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
    submission.purged_at = now
    session.execute(
        sa.update(Event)
        .where(Event.submission_id == submission.id, Event.kind.in_(TEXT_EVENTS))
        .values(detail=ERASED)
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
            reply_to="",
            last_error=sa.case((OutboxEmail.last_error == "", ""), else_=ERASED),
            state=sa.case((pending, "cancelled"), else_=OutboxEmail.state),
            cancelled_at=sa.case((pending, now), else_=OutboxEmail.cancelled_at),
            lease_until=None,
        )
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


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
        session.commit()
    except BaseException:
        session.rollback()
        raise
    _compact(session)
    return report


def _compact(session: DbSession) -> None:
    """Leave no erased text in SQLite's files: merge the search index, empty the WAL."""
    bind = session.get_bind()
    if bind.dialect.name != "sqlite":
        return
    session.execute(sa.text("INSERT INTO submissions_fts(submissions_fts) VALUES ('optimize')"))
    session.commit()
    connection = session.connection()
    connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    session.commit()


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
    """Erase every submission from an address, and every email sent to it."""
    address = email.strip().lower()
    found = list(
        session.scalars(sa.select(Submission).where(sa.func.lower(Submission.email) == address))
    )
    return _run(
        session,
        found,
        uploads,
        "on the reader's request",
        extra_emails=sa.func.lower(OutboxEmail.recipient) == address,
    )
