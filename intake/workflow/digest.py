"""Each desk's morning digest to its editors: counts, the oldest waiting, failed emails,
the day's rota gaps. References and links only, never a reader's words or address.

Sent once a desk and local day: the row of `digests_sent` is written with the emails in
one transaction, and its key refuses a second worker's copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from intake import notify, rota
from intake.directory import Snapshot, snapshot
from intake.models import (
    OPEN_STATUSES,
    DbSession,
    DigestSent,
    OutboxEmail,
    Submission,
    utcnow,
)
from intake.routing import DeskInfo
from intake.staff.inbox import flagged as inbox_flagged

DAY = timedelta(hours=24)


@dataclass(frozen=True)
class Figures:
    """What a desk's digest says."""

    new: int
    unassigned: int
    escalated: int
    overdue: int
    oldest: tuple[str, datetime] | None  # reference, received
    failed_emails: int
    gaps: tuple[str, ...]


def figures(
    session: DbSession, snap: Snapshot, desk: DeskInfo, now: datetime, overdue_hours: int
) -> Figures:
    """Count the desk's last day and what waits now."""
    desk_id = snap.desk_ids[desk.slug]
    mine = Submission.desk_id == desk_id
    is_open = Submission.status.in_(OPEN_STATUSES)

    def count(*where: sa.ColumnElement[bool]) -> int:
        return int(session.scalar(sa.select(sa.func.count()).where(mine, *where)) or 0)

    unacknowledged = Submission.acknowledged_at.is_(None)
    oldest = session.execute(
        sa.select(Submission.reference, Submission.created_at)
        .where(mine, is_open, unacknowledged)
        .order_by(Submission.created_at, Submission.id)
        .limit(1)
    ).first()
    failed = session.scalar(
        sa.select(sa.func.count())
        .select_from(OutboxEmail)
        .join(Submission, Submission.id == OutboxEmail.submission_id)
        .where(mine, OutboxEmail.state == "failed", OutboxEmail.failed_at > now - DAY)
    )
    zone = ZoneInfo(desk.timezone)
    midnight = now.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    [today] = [d for d in rota.rota(snap.directory, midnight, 1) if d.desk.slug == desk.slug]
    return Figures(
        new=count(Submission.created_at > now - DAY),
        unassigned=count(is_open, Submission.assignee_id.is_(None)),
        escalated=count(is_open, Submission.escalation != ""),
        # The inbox's own definition, so the digest and the inbox's tile agree.
        overdue=count(inbox_flagged("overdue", overdue_hours, now)),
        oldest=(oldest[0], oldest[1]) if oldest else None,
        failed_emails=int(failed or 0),
        gaps=tuple(g.text for g in today.gaps),
    )


def due(desk: DeskInfo, now: datetime) -> bool:
    """Say whether the desk's digest hour has come today, in the desk's time zone."""
    return now.astimezone(ZoneInfo(desk.timezone)).hour >= desk.digest_hour


def send_digests(
    session: DbSession, now: datetime | None = None, overdue_hours: int = 4
) -> list[str]:
    """Send every desk's digest whose hour has come and that has not gone today; return
    the desks' slugs."""
    now = now or utcnow()
    snap = snapshot(session)
    sent = []
    for desk in snap.directory.desks.values():
        if not due(desk, now):
            continue
        day = now.astimezone(ZoneInfo(desk.timezone)).date()
        desk_id = snap.desk_ids[desk.slug]
        if session.get(DigestSent, (desk_id, day)) is not None:
            continue
        found = figures(session, snap, desk, now, overdue_hours)
        by_slug = {r.slug: r for r in snap.directory.reporters}
        to = [by_slug[s].email for s in desk.editors if s in by_slug] or [desk.email]
        try:
            session.add(DigestSent(desk_id=desk_id, day=day, sent_at=now))
            for address in to:
                email = notify.digest(address, snap.newsroom, desk, day, found, now)
                email.created_at, email.next_attempt_at = now, min(now, utcnow())
                session.add(email)
            session.commit()
        except IntegrityError:
            session.rollback()  # another worker sent it first
            continue
        sent.append(desk.slug)
    return sent
