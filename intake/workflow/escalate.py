"""Escalation along the rota: an item its assignee has not acknowledged goes to the next.

The clock counts only the assignee's minutes on shift. When it reaches the desk's
`ack_minutes` (or their shift ends first), the item is routed again by the submission's
rules, leaving out everyone already tried; when nobody is left, the desk's editors are
emailed once. Each item is decided in its own transaction: the submission's version makes
a second worker's decision on the same item fail instead of repeating it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so
from sqlalchemy.orm.exc import StaleDataError

from intake import notify
from intake.directory import Snapshot, snapshot
from intake.models import OPEN_STATUSES, DbSession, Event, Submission, utcnow
from intake.routing import DeskInfo, Facts, ReporterInfo, on_shift, route, shift_seconds
from intake.workflow.submit import queue

log = logging.getLogger(__name__)
# The scan reads the unacknowledged items a page at a time, every one of them (up to
# SCAN_MAX a pass): an item that may wait must not hide one that may not.
PAGE = 500
SCAN_MAX = 20_000


@dataclass
class Escalated:
    """What a pass did, by reference."""

    handed_on: list[str] = field(default_factory=list)
    editors_emailed: list[str] = field(default_factory=list)


def why_due(reporter: ReporterInfo | None, desk: DeskInfo, item: Submission, now: datetime) -> str:
    """Say why an unacknowledged item must move on now, or "" if it may wait."""
    if reporter is None:
        return "its reporter is no longer on the rota"
    assert item.assigned_at is not None  # noqa: S101 - the query asks for it
    seconds = shift_seconds(reporter, item.assigned_at, now)
    if seconds >= desk.ack_minutes * 60:
        return f"{reporter.name} did not acknowledge within {desk.ack_minutes} min"
    # Any time on shift counts: an item given out in a shift's last minute goes on at its end.
    if seconds > 0 and not on_shift(reporter, now):
        return f"{reporter.name}'s shift ended before they acknowledged it"
    return ""


def _chosen(reason: str) -> str:
    """Return the part of a routing reason that says why this reporter ("on shift now...")."""
    after_desk = reason.split(" -> ", 1)[-1]
    return after_desk.split("; ", 1)[1] if "; " in after_desk else after_desk


def _due_now(email_time: datetime) -> datetime:
    # A dry run's --now may lie ahead: what it queues is still sent at once.
    return min(email_time, utcnow())


def _hand_on(
    session: DbSession,
    snap: Snapshot,
    item: Submission,
    home: DeskInfo,
    why: str,
    now: datetime,
    done: Escalated,
) -> str | None:
    """Route the item again without the reporters tried; else email the desk's editors once.

    Return the slug of the reporter it went to, if any.
    """
    by_slug = {r.slug: r for r in snap.directory.reporters}
    slugs = {v: k for k, v in snap.reporter_ids.items()}
    holder = slugs.get(item.assignee_id or 0)
    tried = [*item.tried, *([holder] if holder and holder not in item.tried else [])]
    facts = Facts(
        topic=item.topic.slug if item.topic is not None else None,
        subject=item.subject,
        body=item.body,
        language=item.language or "und",
    )
    decision = route(facts, snap.directory, now, exclude=frozenset(tried))
    desk = snap.directory.desks[decision.desk]
    if decision.reporter is not None:
        item.tried = tried
        reporter = by_slug[decision.reporter]
        reason = f"escalated: {why}; {_chosen(decision.reason)}"
        item.assignee_id = snap.reporter_ids[reporter.slug]
        item.desk_id = snap.desk_ids[desk.slug]
        item.needs_translation = decision.needs_translation
        # "editors" stays: they were told once, and are not told again.
        item.escalation = item.escalation or "escalated"
        item.assigned_at, item.updated_at = now, now
        session.add(
            Event(submission=item, kind="escalated", actor="system", detail=reason, created_at=now)
        )
        notice = notify.reporter_notice(
            item,
            reporter.email,
            snap.newsroom,
            topic_label=snap.topic_labels.get(decision.topic or ""),
            email_content=desk.email_content,
            why=reason,
            ack_for=item.assignee_id,
        )
        queue(session, notice, f"notice to {reporter.name} (escalated)", now)
        notice.next_attempt_at = _due_now(now)
        done.handed_on.append(item.reference)
        return reporter.slug
    if item.escalation == "editors":
        return None  # told once already; it goes on when an untried colleague comes on shift
    item.tried = tried
    editors = [by_slug[s] for s in home.editors if s in by_slug]
    names = ", ".join(by_slug[s].name if s in by_slug else s for s in tried)
    reason = f"escalated: {why}; nobody else on the rota (tried: {names}); emailed the editors"
    item.escalation, item.updated_at = "editors", now
    session.add(
        Event(submission=item, kind="escalated", actor="system", detail=reason, created_at=now)
    )
    recipients = [(e.email, e.name) for e in editors] or [(home.email, f"the {home.name} inbox")]
    for address, name in recipients:
        notice = notify.reporter_notice(
            item,
            address,
            snap.newsroom,
            topic_label=item.topic.label if item.topic is not None else None,
            email_content=home.email_content,
            why=reason,
        )
        queue(session, notice, f"notice to {name} (nobody acknowledged it)", now)
        notice.next_attempt_at = _due_now(now)
    done.editors_emailed.append(item.reference)
    return None


def _loaded(snap: Snapshot, slug: str, item_id: int) -> Snapshot:
    """Count an item just handed to a reporter in their load, for the rest of the pass."""
    reporters = tuple(
        replace(r, open_items=r.open_items + 1, last_assigned=item_id) if r.slug == slug else r
        for r in snap.directory.reporters
    )
    return replace(snap, directory=replace(snap.directory, reporters=reporters))


def _waiting(session: DbSession) -> list[int]:
    """Return the ids of every open item nobody has acknowledged, oldest assignment first."""
    ids: list[int] = []
    after: tuple[datetime, int] | None = None
    while len(ids) < SCAN_MAX:
        query = (
            sa.select(Submission.id, Submission.assigned_at)
            .where(
                Submission.acknowledged_at.is_(None),
                Submission.assignee_id.is_not(None),
                Submission.assigned_at.is_not(None),
                Submission.status.in_(OPEN_STATUSES),
            )
            .order_by(Submission.assigned_at, Submission.id)
            .limit(PAGE)
        )
        if after is not None:
            query = query.where(sa.tuple_(Submission.assigned_at, Submission.id) > after)
        page = session.execute(query).all()
        ids.extend(i for i, _at in page)
        if len(page) < PAGE:
            break
        last_id, last_at = page[-1]
        assert last_at is not None  # noqa: S101 - the query asks for it
        after = (last_at, last_id)
    session.rollback()
    return ids


def escalate_due(session: DbSession, now: datetime | None = None) -> Escalated:
    """Move on every item whose clock ran out; `now` stands for the time in everything."""
    now = now or utcnow()
    done = Escalated()
    snap = snapshot(session)
    ids = _waiting(session)
    slugs = {v: k for k, v in snap.reporter_ids.items()}
    by_slug = {r.slug: r for r in snap.directory.reporters}
    desks = {v: snap.directory.desks[k] for k, v in snap.desk_ids.items()}
    fallback = snap.directory.desks[snap.directory.default_desk]
    for submission_id in ids:
        item = session.scalar(
            sa.select(Submission)
            .where(Submission.id == submission_id)
            .options(so.joinedload(Submission.topic))
        )
        if item is None or item.acknowledged_at is not None:
            session.rollback()
            continue
        # A desk taken out of the directory: its items follow the newsroom's default desk.
        home = desks.get(item.desk_id or 0, fallback)
        holder = by_slug.get(slugs.get(item.assignee_id or 0, ""))
        why = why_due(holder, home, item, now)
        if not why:
            session.rollback()
            continue
        reference = item.reference
        try:
            with session.no_autoflush:
                chosen = _hand_on(session, snap, item, home, why, now, done)
            session.commit()
        except StaleDataError:
            # Acknowledged, changed or escalated by someone else meanwhile: theirs stands.
            session.rollback()
            for found in (done.handed_on, done.editors_emailed):
                if reference in found:
                    found.remove(reference)
            continue
        except BaseException:
            session.rollback()
            raise
        if chosen is not None:
            snap = _loaded(snap, chosen, submission_id)
            by_slug = {r.slug: r for r in snap.directory.reporters}
    return done
