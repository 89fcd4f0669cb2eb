"""Admins' use cases that send email: invite a staff member, send a new password link, and
give a deactivated reporter's items back to their desks' inboxes. Each commits once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm.exc import StaleDataError

from intake import accounts, notify
from intake.directory import held, inbox_for
from intake.models import (
    AuditEvent,
    DbSession,
    Event,
    Reporter,
    StaffUser,
    Submission,
    utcnow,
)
from intake.workflow.submit import queue
from intake.workflow.triage import NotAllowed, loaded_newsroom


def _queue_link(
    session: DbSession,
    user: StaffUser,
    actor: StaffUser,
    secret: str,
    hours: int,
    first: bool,
    now: datetime,
) -> None:
    email = notify.account_link(
        user.email,
        loaded_newsroom(session),
        accounts.password_link_token(user, secret),
        first=first,
        role=user.role,
        hours=hours,
        sent_by=actor.email,
    )
    queue(session, email, "password link", now)


def invite_staff(
    session: DbSession,
    email: str,
    role: str,
    actor: StaffUser,
    secret: str,
    hours: int,
    now: datetime | None = None,
) -> StaffUser:
    """Create an account without a password and email its owner a link to set one."""
    try:
        user = accounts.add(session, email, role, None, actor=actor.email)
        session.flush()  # the link names the account's id
        _queue_link(session, user, actor, secret, hours, True, now or utcnow())
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return user


def send_password_link(
    session: DbSession,
    user: StaffUser,
    actor: StaffUser,
    secret: str,
    hours: int,
    now: datetime | None = None,
) -> None:
    """Email an account's owner a new one-time link to set the password (links sent before
    stop working if no password was set yet)."""
    try:
        first = not accounts.has_password(user)
        accounts.renew_link(session, user, actor=actor.email)
        _queue_link(session, user, actor, secret, hours, first, now or utcnow())
        session.commit()
    except BaseException:
        session.rollback()
        raise


@dataclass(frozen=True)
class Moved:
    """What moving a reporter's items did: how many, and to which desks' inboxes."""

    count: int
    inboxes: tuple[str, ...]


def move_to_desk_inboxes(
    session: DbSession, reporter_slug: str, actor: StaffUser, now: datetime | None = None
) -> Moved:
    """Give a deactivated reporter's open items to their desks' inboxes, and tell each desk.

    Each item keeps its desk (the default desk's, if its own is gone) and its status; a
    reader's unanswered reply stays marked, so the desk sees it.
    """
    now = now or utcnow()
    reporter = session.scalar(sa.select(Reporter).where(Reporter.slug == reporter_slug))
    if reporter is None:
        raise NotAllowed(f"There is no reporter {reporter_slug!r}.")
    if reporter.active:
        raise NotAllowed(
            f"{reporter.name} is active: reassign their items one by one, from each item's page."
        )
    newsroom = loaded_newsroom(session)
    items = list(
        session.scalars(sa.select(Submission).where(held(reporter.id)).order_by(Submission.id))
    )
    if not items:
        raise NotAllowed(f"{reporter.name} holds no open items.")
    inboxes: dict[str, int] = {}
    why = f"Moved to the desk's inbox by {actor.email}: {reporter.name} is no longer active"
    try:
        for submission in items:
            desk = inbox_for(submission.desk, newsroom.default_desk)
            if desk is None:
                raise NotAllowed(
                    f"{submission.reference} has no active desk, and neither has the newsroom "
                    "a default one: load a directory with its desk first."
                )
            label = f"the {desk.name} inbox"
            submission.assignee, submission.desk = None, desk
            submission.updated_at = now
            session.add(
                Event(
                    submission=submission,
                    kind="reassigned",
                    actor=actor.email,
                    detail=f"to {label} ({reporter.name} is no longer active)",
                    created_at=now,
                )
            )
            notice = notify.reporter_notice(
                submission,
                desk.email,
                newsroom,
                topic_label=submission.topic.label if submission.topic else None,
                email_content=desk.email_content,
                why=why,
            )
            queue(session, notice, f"notice to {label}", now)
            inboxes[desk.name] = inboxes.get(desk.name, 0) + 1
        references = ", ".join(s.reference for s in items)
        session.add(
            AuditEvent(
                actor=actor.email,
                action="newsroom.items_moved",
                target=reporter.slug,
                detail=f"{len(items)} item(s) of {reporter.name} to the desks' inboxes: "
                f"{references}",
                created_at=now,
            )
        )
        session.commit()
    except StaleDataError:
        session.rollback()
        raise NotAllowed(
            "Someone changed one of these items meanwhile: nothing was moved. Try again."
        ) from None
    except BaseException:
        session.rollback()
        raise
    return Moved(len(items), tuple(sorted(inboxes)))
