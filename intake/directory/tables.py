"""The newsroom directory in the tables: sync a valid file in, read it out for routing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import sqlalchemy as sa
import sqlalchemy.orm as so

from intake import routing
from intake.directory.parse import NewsroomFile
from intake.models import OPEN_STATUSES, DbSession, Desk, Newsroom, Reporter, Submission, Topic


@dataclass
class SyncReport:
    """What a load changed, per kind of entry."""

    created: dict[str, int] = field(default_factory=dict)
    changed: dict[str, int] = field(default_factory=dict)
    deactivated: dict[str, int] = field(default_factory=dict)

    def count(self, bucket: dict[str, int], kind: str) -> None:
        """Add one to a kind's count in a bucket."""
        bucket[kind] = bucket.get(kind, 0) + 1

    def summary(self) -> str:
        """Describe the load in one line per kind."""
        lines = []
        for kind in ("desks", "topics", "reporters"):
            lines.append(
                f"{kind}: {self.created.get(kind, 0)} created, "
                f"{self.changed.get(kind, 0)} changed, "
                f"{self.deactivated.get(kind, 0)} deactivated"
            )
        return "\n".join(lines)


_Row = TypeVar("_Row", Desk, Topic, Reporter)


def _assign(obj: object, values: Mapping[str, Any]) -> bool:
    """Set attributes that differ; return whether any did."""
    changed = False
    for key, value in values.items():
        if getattr(obj, key) != value:
            setattr(obj, key, value)
            changed = True
    return changed


def _upsert(
    session: DbSession,
    model: type[_Row],
    kind: str,
    entries: Sequence[tuple[str, dict[str, Any]]],
    report: SyncReport,
) -> dict[str, _Row]:
    """Create or update rows by slug; deactivate the rows the file no longer names."""
    existing = {row.slug: row for row in session.scalars(sa.select(model))}
    wanted: dict[str, _Row] = {}
    for position, (slug, values) in enumerate(entries):
        values = {**values, "active": True, "position": position}
        row = existing.get(slug)
        if row is None:
            row = model(slug=slug)
            _assign(row, values)
            session.add(row)
            report.count(report.created, kind)
        elif _assign(row, values):
            report.count(report.changed, kind)
        wanted[slug] = row
    for slug, row in existing.items():
        if slug not in wanted and row.active:
            row.active = False
            report.count(report.deactivated, kind)
    return wanted


def sync_newsroom(session: DbSession, newsroom: NewsroomFile) -> SyncReport:
    """Make the tables match a valid file, without committing; the caller commits once."""
    report = SyncReport()
    desks = _upsert(
        session,
        Desk,
        "desks",
        [
            (d.slug, {"name": d.name, "email": d.email, "email_content": d.email_content})
            for d in newsroom.desks
        ],
        report,
    )
    topics = _upsert(
        session,
        Topic,
        "topics",
        [
            (
                t.slug,
                {
                    "label": t.label,
                    "labels": dict(newsroom.topic_labels.get(t.slug, {})),
                    "desk": desks[t.desk],
                    "keywords": list(t.keywords),
                },
            )
            for t in newsroom.topics
        ],
        report,
    )
    _upsert(
        session,
        Reporter,
        "reporters",
        [
            (
                r.slug,
                {
                    "name": r.name,
                    "email": r.email,
                    "languages": list(r.languages),
                    "timezone": r.timezone,
                    "shift": r.shift,
                    "desks": [desks[d] for d in r.desks],
                    "topics": [topics[t] for t in r.topics],
                },
            )
            for r in newsroom.reporters
        ],
        report,
    )
    settings = session.get(Newsroom, 1) or Newsroom(id=1)
    _assign(
        settings,
        {
            "name": newsroom.name,
            "public_url": newsroom.public_url,
            "sender": newsroom.sender,
            "default_desk": desks[newsroom.default_desk],
        },
    )
    session.add(settings)
    return report


def snapshot(session: DbSession) -> routing.Directory:
    """Read the active directory and each reporter's open items for routing."""
    settings = session.get(Newsroom, 1)
    if settings is None or settings.default_desk is None:
        raise LookupError("no newsroom loaded: run `flask --app wsgi intake load-newsroom FILE`")
    desks = session.scalars(sa.select(Desk).where(Desk.active.is_(True))).all()
    topics = session.scalars(
        sa.select(Topic).where(Topic.active.is_(True)).order_by(Topic.position)
    ).all()
    reporters = session.scalars(
        sa.select(Reporter)
        .where(Reporter.active.is_(True))
        .order_by(Reporter.position)
        .options(so.selectinload(Reporter.desks), so.selectinload(Reporter.topics))
    ).all()
    loads = {
        assignee: (open_items, last)
        for assignee, open_items, last in session.execute(
            sa.select(
                Submission.assignee_id,
                sa.func.count().filter(Submission.status.in_(OPEN_STATUSES)),
                sa.func.max(Submission.id),
            )
            .where(Submission.assignee_id.is_not(None))
            .group_by(Submission.assignee_id)
        )
    }
    return routing.Directory(
        desks={d.slug: routing.DeskInfo(d.slug, d.name, d.email, d.email_content) for d in desks},
        topics={
            t.slug: routing.TopicInfo(t.slug, t.label, t.desk.slug, tuple(t.keywords))
            for t in topics
            if t.desk.active
        },
        reporters=tuple(
            routing.ReporterInfo(
                slug=r.slug,
                name=r.name,
                email=r.email,
                desks=tuple(d.slug for d in r.desks if d.active),
                topics=tuple(t.slug for t in r.topics if t.active),
                languages=tuple(r.languages),
                timezone=r.timezone,
                shift=r.shift,
                open_items=loads.get(r.id, (0, 0))[0],
                last_assigned=loads.get(r.id, (0, 0))[1],
            )
            for r in reporters
        ),
        default_desk=settings.default_desk.slug,
    )
