"""Staff use cases on one submission or many: status, assignment, note, reply.

Each commits once, records an event, and refuses to overwrite a change the actor has not
seen: the form carries the submission's version, and a different one is a Conflict.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm.exc import StaleDataError

from intake import notify
from intake.models import (
    CannedReply,
    DbSession,
    Desk,
    Event,
    Newsroom,
    Reporter,
    StaffUser,
    Submission,
    utcnow,
)
from intake.text import clean_multiline
from intake.workflow.purge import FINAL_STATUSES
from intake.workflow.submit import queue

TRANSITIONS: dict[str, tuple[str, ...]] = {
    "new": ("in_progress", "answered", "used", "closed", "spam", "duplicate"),
    "in_progress": ("answered", "used", "closed", "spam", "duplicate"),
    "answered": ("in_progress",),
    "used": ("in_progress",),
    "closed": ("in_progress",),
    "spam": ("in_progress",),
    "duplicate": ("in_progress",),
}
NOTE_MAX = 10_000
REPLY_MAX = 20_000


class Conflict(Exception):
    """Someone else changed the submission after the actor loaded it."""

    def __init__(self, changed_by: str) -> None:
        self.changed_by = changed_by
        super().__init__(
            f"Changed by {changed_by} meanwhile: nothing was saved. "
            "Check the history below, then try again."
        )


class NotAllowed(Exception):
    """The action does not apply to this submission; the message says why."""


@dataclass(frozen=True)
class Target:
    """Whom to assign to: a reporter or a desk, by slug."""

    kind: str  # "reporter" or "desk"
    slug: str


def loaded_newsroom(session: DbSession) -> Newsroom:
    """Return the newsroom's settings; NotAllowed before a directory file was loaded."""
    newsroom = session.get(Newsroom, 1)
    if newsroom is None:
        raise NotAllowed("No newsroom is loaded: load the directory file first.")
    return newsroom


def _last_actor(session: DbSession, submission: Submission) -> str:
    actor = session.scalar(
        sa.select(Event.actor)
        .where(Event.submission_id == submission.id, Event.actor != "system")
        .order_by(Event.id.desc())
        .limit(1)
    )
    return actor or "someone else"


def acknowledge(
    session: DbSession, submission: Submission, who: str, how: str, now: datetime
) -> None:
    """Record that a person has seen the item: its escalation clock stops (caller commits)."""
    if submission.acknowledged_at is not None:
        return
    submission.acknowledged_at, submission.acknowledged_by = now, who
    session.add(
        Event(
            submission_id=submission.id, kind="acknowledged", actor=who, detail=how, created_at=now
        )
    )


def _commit(
    session: DbSession,
    submission: Submission,
    change: Callable[[datetime], None],
    now: datetime | None = None,
    actor: StaffUser | None = None,
) -> None:
    """Apply a change and commit; a write that lost a race (StaleDataError) is a Conflict.

    Each action checks the version the actor saw before anything else; the version column
    then stops a change that another request committed in between. Any staff action
    acknowledges the item.
    """
    now = now or utcnow()
    try:
        # One UPDATE, so the version goes up by exactly one.
        with session.no_autoflush:
            if actor is not None:
                acknowledge(session, submission, actor.email, "by acting on it", now)
            if submission.first_action_at is None:
                submission.first_action_at = now
            submission.reader_replied_at = None  # a staff member has acted since
            submission.updated_at = now
            change(now)
        session.commit()
    except StaleDataError:
        # Another request committed between our read and our write.
        session.rollback()
        session.refresh(submission)
        raise Conflict(_last_actor(session, submission)) from None
    except BaseException:
        session.rollback()
        raise


def check_version(session: DbSession, submission: Submission, version: int | None) -> None:
    """Raise Conflict if the submission changed since the actor saw it (None: not checked)."""
    if version is not None and submission.version != version:
        raise Conflict(_last_actor(session, submission))


def _event(
    submission: Submission, actor: StaffUser, kind: str, detail: str, now: datetime
) -> Event:
    return Event(
        submission_id=submission.id, kind=kind, actor=actor.email, detail=detail, created_at=now
    )


def change_status(
    session: DbSession,
    submission: Submission,
    actor: StaffUser,
    status: str,
    version: int | None,
    duplicate_of: Submission | None = None,
) -> None:
    """Move a submission along its statuses; a duplicate names the one it repeats."""
    check_version(session, submission, version)
    if status not in TRANSITIONS.get(submission.status, ()):
        raise NotAllowed(f"A submission that is {submission.status} cannot become {status}.")
    if status == "duplicate" and (duplicate_of is None or duplicate_of.id == submission.id):
        raise NotAllowed("Give the reference of the submission this one repeats.")

    def change(now: datetime) -> None:
        detail = f"{submission.status} -> {status}"
        submission.status = status
        # Retention counts from the moment it was last closed; reopening stops the clock.
        submission.closed_at = now if status in FINAL_STATUSES else None
        if status == "duplicate" and duplicate_of is not None:
            submission.duplicate_of = duplicate_of
            detail += f" (of {duplicate_of.reference})"
        session.add(_event(submission, actor, "status", detail, now))

    _commit(session, submission, change, actor=actor)


def _resolve(
    session: DbSession, submission: Submission, target: Target
) -> tuple[Reporter | None, Desk, str, str]:
    """Work out an assignment: the reporter (None: the desk's inbox), the desk, whom to email.

    The last item is how the history names them.
    """
    if "\x00" in target.slug:
        raise NotAllowed("Assign to a reporter or a desk.")
    if target.kind == "reporter":
        reporter = session.scalar(
            sa.select(Reporter).where(Reporter.slug == target.slug, Reporter.active.is_(True))
        )
        if reporter is None:
            raise NotAllowed(f"There is no active reporter {target.slug!r}.")
        desk = submission.desk if submission.desk in reporter.desks else reporter.desks[0]
        return reporter, desk, reporter.email, f"{reporter.name} ({desk.name})"
    if target.kind == "desk":
        found = session.scalar(
            sa.select(Desk).where(Desk.slug == target.slug, Desk.active.is_(True))
        )
        if found is None:
            raise NotAllowed(f"There is no active desk {target.slug!r}.")
        return None, found, found.email, f"the {found.name} inbox"
    raise NotAllowed("Assign to a reporter or a desk.")


def destination(session: DbSession, submission: Submission, target: Target) -> tuple[Desk, str]:
    """Say which desk an assignment would move the submission to, and to whom, unsaved."""
    _reporter, desk, _to, label = _resolve(session, submission, target)
    return desk, label


def assign(
    session: DbSession,
    submission: Submission,
    actor: StaffUser,
    target: Target,
    version: int | None,
) -> None:
    """Give a submission to a reporter or a desk, and email the new assignee."""
    check_version(session, submission, version)
    newsroom = loaded_newsroom(session)
    reporter, desk, to, label = _resolve(session, submission, target)
    if submission.assignee is reporter and submission.desk is desk:
        raise NotAllowed(f"It is already with {label}.")

    def change(now: datetime) -> None:
        submission.assignee, submission.desk = reporter, desk
        submission.assigned_at = now if reporter is not None else None
        fresh = reporter is not None and reporter.email.lower() != actor.email.lower()
        if fresh:
            # The actor has seen it (acknowledged above); the new holder has not: their own
            # clock, and the Acknowledge link in their notice.
            submission.acknowledged_at, submission.acknowledged_by = None, ""
            submission.tried, submission.escalation = [], ""
        session.add(_event(submission, actor, "reassigned", f"to {label}", now))
        why = f"Reassigned to you by {actor.email}"
        email = notify.reporter_notice(
            submission,
            to,
            newsroom,
            topic_label=submission.topic.label if submission.topic else None,
            email_content=desk.email_content,
            why=why,
            ack_for=reporter.id if fresh and reporter is not None else None,
        )
        queue(session, email, f"notice to {label}", now, actor=actor.email)

    _commit(session, submission, change, actor=actor)


def add_note(
    session: DbSession, submission: Submission, actor: StaffUser, text: str, version: int | None
) -> None:
    """Add an internal note, seen only by staff."""
    check_version(session, submission, version)
    text = clean_multiline(text)  # no NUL or other control characters reach a column
    if not text:
        raise NotAllowed("Write the note first.")
    if len(text) > NOTE_MAX:
        raise NotAllowed(f"A note can be at most {NOTE_MAX:,} characters.")
    _commit(
        session,
        submission,
        lambda now: session.add(_event(submission, actor, "note", text, now)),
        actor=actor,
    )


def reply_channels(submission: Submission) -> list[str]:
    """Say how the reader can be answered: by email (with an address and consent), on
    their follow-up page (if they have a passphrase)."""
    channels = []
    if submission.email and submission.consent_contact:
        channels.append("email")
    if submission.followup_hash:
        channels.append("followup")
    return channels


def reply(
    session: DbSession,
    submission: Submission,
    actor: StaffUser,
    text: str,
    version: int | None,
    channel: str = "email",
    *,
    canned: CannedReply | None = None,
    via: Submission | None = None,
) -> None:
    """Answer the reader: by email from the desk's address, or on their follow-up page.

    `canned` is the desk's canned reply the text started from (recorded beside the reply);
    `via` is the submission whose page the reply was written on, when this one is its
    duplicate: the reply lands here, and that one's history says so.
    """
    check_version(session, submission, version)
    if via is not None and submission.duplicate_of_id != via.id:
        raise NotAllowed(f"{submission.reference} is not a duplicate of {via.reference}.")
    if channel not in reply_channels(submission):
        if channel == "email":
            raise NotAllowed("The reader did not leave an email address and agree to be contacted.")
        raise NotAllowed("The reader has no follow-up page (no passphrase was given).")
    text = clean_multiline(text)  # no NUL or other control characters reach a column
    if not text:
        raise NotAllowed("Write the reply first.")
    if len(text) > REPLY_MAX:
        raise NotAllowed(f"A reply can be at most {REPLY_MAX:,} characters.")
    newsroom = loaded_newsroom(session)

    def change(now: datetime) -> None:
        if channel == "email":
            email = notify.staff_reply(submission, submission.desk, newsroom, text)
            email.created_at = email.next_attempt_at = now
            session.add(email)
        # Both kinds are shown to the reader on their follow-up page.
        kind = "reply" if channel == "email" else "reply_page"
        session.add(_event(submission, actor, kind, text, now))
        if canned is not None:
            session.add(_event(submission, actor, "canned_used", canned.title, now))
        if via is not None:
            how = "by email" if channel == "email" else "on their follow-up page"
            detail = f"replied to the reader of {submission.reference} {how}"
            session.add(_event(via, actor, "duplicate_reply", detail, now))

    _commit(session, submission, change, actor=actor)


@dataclass
class BulkResult:
    """What a bulk action did, one line a submission that was not changed."""

    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def _bulk(
    items: Sequence[tuple[Submission, int | None]], act: Callable[[Submission, int | None], None]
) -> BulkResult:
    result = BulkResult()
    for submission, version in items:
        try:
            act(submission, version)
        except (Conflict, NotAllowed) as exc:
            result.skipped.append(f"{submission.reference}: {exc}")
        else:
            result.done.append(submission.reference)
    return result


def bulk_status(
    session: DbSession,
    items: Sequence[tuple[Submission, int | None]],
    actor: StaffUser,
    status: str,
) -> BulkResult:
    """Change the status of many submissions, each in its own transaction."""
    return _bulk(items, lambda s, v: change_status(session, s, actor, status, v))


def bulk_assign(
    session: DbSession,
    items: Sequence[tuple[Submission, int | None]],
    actor: StaffUser,
    target: Target,
) -> BulkResult:
    """Assign many submissions to one reporter or desk, each in its own transaction."""
    return _bulk(items, lambda s, v: assign(session, s, actor, target, v))
