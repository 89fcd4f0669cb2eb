"""The reader writing again (by email or on the follow-up page), and that page's use case."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from intake import attachments, notify
from intake.models import DbSession, Desk, Event, Newsroom, Reporter, Submission, utcnow
from intake.workflow.submit import attach, queue
from intake.workflow.triage import NotAllowed

CHANNELS = {"email": "reader (email)", "followup": "reader (follow-up page)"}
TEXT_MAX = 20_000
# What the reader sees of their conversation: their own words and replies meant for them.
READER_SEES = ("reader_message", "reply", "reply_page")


def reader_wrote(
    session: DbSession,
    submission: Submission,
    text: str,
    stored: Sequence[attachments.Stored],
    channel: str,
    now: datetime,
) -> None:
    """Add the reader's message to the thread, mark it, tell its holder (caller commits)."""
    shown = text or "(no text)"
    session.add(
        Event(
            submission_id=submission.id,
            kind="reader_message",
            actor=CHANNELS[channel],
            detail=shown,
            created_at=now,
        )
    )
    attach(session, submission, stored, now)
    submission.reader_replied_at = now
    _notify_holder(session, submission, shown, len(stored), now)


def _notify_holder(
    session: DbSession, submission: Submission, text: str, files: int, now: datetime
) -> None:
    """Email the assignee (or the desk) that the reader wrote, under the desk's email rules."""
    newsroom = session.get(Newsroom, 1)
    desk = session.get(Desk, submission.desk_id) if submission.desk_id else None
    if newsroom is None or desk is None:
        return
    reporter = session.get(Reporter, submission.assignee_id) if submission.assignee_id else None
    holder = reporter if reporter is not None and reporter.active else None
    to = holder.email if holder is not None else desk.email
    email = notify.reader_replied(submission, to, newsroom, desk.email_content, text, files)
    whom = holder.name if holder is not None else f"the {desk.name} inbox"
    queue(session, email, f"notice of the reader's message to {whom}", now)


def open_followup(session: DbSession, submission: Submission) -> str:
    """Start the submission's one follow-up session (ending any other); return its id."""
    submission.followup_session = secrets.token_urlsafe(32)
    session.commit()
    return submission.followup_session


def close_followup(session: DbSession, submission: Submission) -> None:
    """End the follow-up session: every copy of its cookie opens nothing any more."""
    submission.followup_session = None
    session.commit()


def followup_message(
    session: DbSession,
    submission: Submission,
    text: str,
    files: Sequence[attachments.Incoming],
    uploads: Path,
    limits: attachments.Limits,
    now: datetime | None = None,
) -> None:
    """Take what the reader wrote on the follow-up page, files checked like the form's."""
    now = now or utcnow()
    text = text.strip()
    if not text and not any(f.filename for f in files):
        raise NotAllowed("Write something or choose a file first.")
    if len(text) > TEXT_MAX:
        raise NotAllowed(f"Please keep it under {TEXT_MAX:,} characters.")
    stored = attachments.receive(files, uploads, limits) if any(f.filename for f in files) else []
    try:
        reader_wrote(session, submission, text, stored, "followup", now)
        session.commit()
    except BaseException:
        session.rollback()
        attachments.discard(stored, uploads)
        raise
