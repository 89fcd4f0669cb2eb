"""The directory as loaded, for the admins' newsroom page: who is on shift, what is stranded."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from intake import routing
from intake.directory.tables import snapshot
from intake.models import OPEN_STATUSES, DbSession, Desk, Newsroom, Reporter, Submission, Topic


@dataclass(frozen=True)
class ReporterNow:
    """An active reporter as routing sees them, and whether they work at this moment."""

    info: routing.ReporterInfo
    on_shift: bool


@dataclass(frozen=True)
class Stranded:
    """A deactivated reporter who still holds items, and the inboxes those would go to."""

    slug: str
    name: str
    count: int
    inboxes: tuple[str, ...]  # desk names


@dataclass(frozen=True)
class Overview:
    """The active directory, the deactivated entries' names, and the stranded items."""

    name: str
    default_desk: str
    desks: tuple[routing.DeskInfo, ...]
    topics: tuple[routing.TopicInfo, ...]
    reporters: tuple[ReporterNow, ...]
    inactive: dict[str, list[str]]
    stranded: tuple[Stranded, ...]

    def on_shift_at(self, desk: str) -> list[str]:
        """Name the reporters of a desk who are on shift now."""
        return [r.info.name for r in self.reporters if r.on_shift and desk in r.info.desks]


def held(
    reporter_id: int | sa.ColumnElement[int] | so.InstrumentedAttribute[int],
) -> sa.ColumnElement[bool]:
    """Match the items a reporter still holds: open, or with a reader's reply unanswered."""
    return sa.and_(
        Submission.assignee_id == reporter_id,
        sa.or_(Submission.status.in_(OPEN_STATUSES), Submission.reader_replied_at.is_not(None)),
    )


def inbox_for(desk: Desk | None, default: Desk | None) -> Desk | None:
    """Return the desk whose inbox an item goes back to: its own, or the default if that is gone."""
    if desk is not None and desk.active:
        return desk
    return default if default is not None and default.active else None


def stranded(session: DbSession) -> list[Stranded]:
    """Return the deactivated reporters who still hold items, with where those would go."""
    settings = session.get(Newsroom, 1)
    default = settings.default_desk if settings else None
    rows = session.execute(
        sa.select(Reporter, Submission.desk_id, sa.func.count())
        .join(Submission, held(Reporter.id))
        .where(Reporter.active.is_(False))
        .group_by(Reporter.id, Submission.desk_id)
        .order_by(Reporter.position, Reporter.id)
    ).all()
    counts: dict[int, Counter[str]] = {}
    reporters: dict[int, Reporter] = {}
    for reporter, desk_id, count in rows:
        reporters[reporter.id] = reporter
        desk = inbox_for(session.get(Desk, desk_id) if desk_id else None, default)
        counts.setdefault(reporter.id, Counter())[desk.name if desk else "(no desk)"] += count
    return [
        Stranded(r.slug, r.name, sum(counts[i].values()), tuple(sorted(counts[i])))
        for i, r in reporters.items()
    ]


def overview(session: DbSession, now: datetime) -> Overview:
    """Describe the loaded directory at this moment (LookupError if none is loaded)."""
    snap = snapshot(session)
    directory = snap.directory
    inactive = {
        "desks": list(session.scalars(sa.select(Desk.name).where(Desk.active.is_(False)))),
        "topics": list(session.scalars(sa.select(Topic.label).where(Topic.active.is_(False)))),
        "reporters": list(
            session.scalars(sa.select(Reporter.name).where(Reporter.active.is_(False)))
        ),
    }
    return Overview(
        name=snap.newsroom.name,
        default_desk=directory.default_desk,
        desks=tuple(sorted(directory.desks.values(), key=lambda d: d.name)),
        topics=tuple(directory.topics.values()),
        reporters=tuple(ReporterNow(r, routing.on_shift(r, now)) for r in directory.reporters),
        inactive=inactive,
        stranded=tuple(stranded(session)),
    )
