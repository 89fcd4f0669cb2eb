"""The newsroom directory in the tables: sync a valid file in, read it out for routing."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
import sqlalchemy.orm as so

from intake import pgp, routing
from intake.directory.parse import NewsroomFile
from intake.models import (
    OPEN_STATUSES,
    DbSession,
    Desk,
    Newsroom,
    Reporter,
    Submission,
    Topic,
    utcnow,
)


@dataclass
class SyncReport:
    """What a load changed, per kind of entry."""

    created: dict[str, int] = field(default_factory=dict)
    changed: dict[str, int] = field(default_factory=dict)
    deactivated: dict[str, int] = field(default_factory=dict)
    # What loads all the same but an admin should know (a key that cannot be used).
    warnings: list[str] = field(default_factory=list)

    def count(self, bucket: dict[str, int], kind: str) -> None:
        """Add one to a kind's count in a bucket."""
        bucket[kind] = bucket.get(kind, 0) + 1

    def summary(self, sep: str = "\n") -> str:
        """Describe the load in one line per kind (or one line, parts joined by sep)."""
        lines = []
        for kind in ("desks", "topics", "reporters"):
            lines.append(
                f"{kind}: {self.created.get(kind, 0)} created, "
                f"{self.changed.get(kind, 0)} changed, "
                f"{self.deactivated.get(kind, 0)} deactivated"
            )
        return sep.join(lines)


log = logging.getLogger(__name__)
# The length of Reporter.pgp_problem.
PROBLEM_MAX = 500

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


# Fields that name other entries, by the kind they name: the file gives slugs, the
# tables hold rows.
RELATIONS: dict[str, dict[str, str]] = {
    "desks": {},
    "topics": {"desk": "desks"},
    "reporters": {"desks": "desks", "topics": "topics"},
}
KINDS = tuple(RELATIONS)


def file_entries(newsroom: NewsroomFile) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """Describe a file's entries as the tables' fields, by kind, naming related entries by slug."""
    return {
        "desks": [
            (
                d.slug,
                {
                    "name": d.name,
                    "email": d.email,
                    "email_content": d.email_content,
                    "ack_minutes": d.ack_minutes,
                    "editors": list(d.editors),
                    "timezone": d.timezone,
                    "digest_hour": d.digest_hour,
                    "chat_webhook": newsroom.chat_webhooks.get(d.slug, ""),
                },
            )
            for d in newsroom.desks
        ],
        "topics": [
            (
                t.slug,
                {
                    "label": t.label,
                    "labels": dict(newsroom.topic_labels.get(t.slug, {})),
                    "desk": t.desk,
                    "keywords": list(t.keywords),
                },
            )
            for t in newsroom.topics
        ],
        "reporters": [
            (
                r.slug,
                {
                    "name": r.name,
                    "email": r.email,
                    "languages": list(r.languages),
                    "timezone": r.timezone,
                    "shift": r.shift,
                    "desks": list(r.desks),
                    "topics": list(r.topics),
                    "pgp_key": newsroom.pgp_keys.get(r.slug, ""),
                },
            )
            for r in newsroom.reporters
        ],
    }


def _resolved(
    kind: str, values: dict[str, Any], rows: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    """Replace the slugs in an entry's related fields with the rows they name."""
    resolved = dict(values)
    for key, other in RELATIONS[kind].items():
        named = values[key]
        resolved[key] = (
            rows[other][named] if isinstance(named, str) else [rows[other][s] for s in named]
        )
    return resolved


def sync_newsroom(session: DbSession, newsroom: NewsroomFile) -> SyncReport:
    """Make the tables match a valid file, without committing; the caller commits once."""
    report = SyncReport()
    entries = file_entries(newsroom)
    rows: dict[str, dict[str, Any]] = {}

    def resolved(kind: str) -> list[tuple[str, dict[str, Any]]]:
        return [(slug, _resolved(kind, values, rows)) for slug, values in entries[kind]]

    # Desks first: topics and reporters name them.
    rows["desks"] = dict(_upsert(session, Desk, "desks", resolved("desks"), report))
    rows["topics"] = dict(_upsert(session, Topic, "topics", resolved("topics"), report))
    rows["reporters"] = dict(_upsert(session, Reporter, "reporters", resolved("reporters"), report))
    _load_keys(newsroom, rows["reporters"], report)
    settings = session.get(Newsroom, 1) or Newsroom(id=1)
    _assign(
        settings,
        {
            "name": newsroom.name,
            "public_url": newsroom.public_url,
            "sender": newsroom.sender,
            "default_desk": rows["desks"][newsroom.default_desk],
        },
    )
    # Any load may change what routing sees: stamp it, so every process rereads it.
    settings.updated_at = utcnow()
    session.add(settings)
    return report


def _load_keys(
    newsroom: NewsroomFile, reporters: Mapping[str, Reporter], report: SyncReport
) -> None:
    """Read each reporter's OpenPGP key; one that cannot be used loads, with a warning."""
    now = utcnow()
    for slug, reporter in reporters.items():
        path = newsroom.pgp_keys.get(slug, "")
        if not path:
            _assign(reporter, {"pgp_cert": "", "pgp_fingerprint": "", "pgp_problem": ""})
            continue
        folder = (newsroom.folder or Path.cwd()).resolve()
        full = folder / path
        if full.resolve().is_relative_to(folder):
            found = pgp.read_key(full, now)
        else:  # a link that leads out of the folder: never followed
            found = pgp.KeyCheck("", "", None, f"cannot read {full}: it leads out of the folder")
        # Named as the file gives it, and cut to the column (PostgreSQL would refuse the load).
        problem = found.problem.replace(str(full), path)
        if len(problem) > PROBLEM_MAX:
            problem = problem[: PROBLEM_MAX - 1] + "…"
        _assign(
            reporter,
            {
                "pgp_cert": found.armored if found.usable else "",
                "pgp_fingerprint": found.fingerprint,
                "pgp_problem": problem,
            },
        )
        if not found.usable:
            warning = (
                f"reporter {slug!r}: pgp_key {path}: {problem}; "
                "their notices fall back to link-only"
            )
            report.warnings.append(warning)
            log.warning("directory: %s", warning)


@dataclass(frozen=True)
class NewsroomInfo:
    """The newsroom's own settings, as emails need them."""

    name: str
    public_url: str
    sender: str


@dataclass(frozen=True)
class Snapshot:
    """The directory as routing sees it now, with the ids and settings a submission needs."""

    directory: routing.Directory
    newsroom: NewsroomInfo
    desk_ids: Mapping[str, int]
    topic_ids: Mapping[str, int]
    reporter_ids: Mapping[str, int]
    topic_labels: Mapping[str, str]


# The directory changes only when a file is loaded, which stamps Newsroom.updated_at; each
# process keeps the last one it read per database and rereads it when the stamp moves.
_static: dict[str, tuple[datetime, Snapshot]] = {}


def _read_static(session: DbSession, settings: Newsroom) -> Snapshot:
    desks = session.scalars(sa.select(Desk).where(Desk.active.is_(True))).all()
    topics = session.scalars(
        sa.select(Topic)
        .where(Topic.active.is_(True))
        .order_by(Topic.position)
        .options(so.joinedload(Topic.desk))
    ).all()
    topics = [t for t in topics if t.desk.active]
    reporters = session.scalars(
        sa.select(Reporter)
        .where(Reporter.active.is_(True))
        .order_by(Reporter.position)
        .options(so.selectinload(Reporter.desks), so.selectinload(Reporter.topics))
    ).all()
    assert settings.default_desk is not None  # noqa: S101 - checked by the caller
    directory = routing.Directory(
        desks={
            d.slug: routing.DeskInfo(
                d.slug,
                d.name,
                d.email,
                d.email_content,
                ack_minutes=d.ack_minutes,
                editors=tuple(d.editors),
                timezone=d.timezone,
                digest_hour=d.digest_hour,
            )
            for d in desks
        },
        topics={
            t.slug: routing.TopicInfo(t.slug, t.label, t.desk.slug, tuple(t.keywords))
            for t in topics
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
            )
            for r in reporters
        ),
        default_desk=settings.default_desk.slug,
    )
    return Snapshot(
        directory=directory,
        newsroom=NewsroomInfo(settings.name, settings.public_url, settings.sender),
        desk_ids={d.slug: d.id for d in desks},
        topic_ids={t.slug: t.id for t in topics},
        reporter_ids={r.slug: r.id for r in reporters},
        topic_labels={t.slug: t.label for t in topics},
    )


def snapshot(session: DbSession) -> Snapshot:
    """Read the active directory (cached until the next load) and each reporter's load."""
    settings = session.get(Newsroom, 1)
    if settings is None or settings.default_desk_id is None:
        raise LookupError("no newsroom loaded: run `flask --app wsgi intake load-newsroom FILE`")
    database = str(session.get_bind().engine.url)
    cached = _static.get(database)
    if cached is None or cached[0] != settings.updated_at:
        cached = (settings.updated_at, _read_static(session, settings))
        _static[database] = cached
    static = cached[1]
    # Open items and the newest assignment per reporter: two index look-ups each.
    open_items = (
        sa.select(sa.func.count())
        .where(Submission.assignee_id == Reporter.id, Submission.status.in_(OPEN_STATUSES))
        .correlate(Reporter)
        .scalar_subquery()
    )
    newest = (
        sa.select(sa.func.max(Submission.id))
        .where(Submission.assignee_id == Reporter.id)
        .correlate(Reporter)
        .scalar_subquery()
    )
    loads = {
        reporter_id: (count or 0, last or 0)
        for reporter_id, count, last in session.execute(
            sa.select(Reporter.id, open_items, newest).where(Reporter.active.is_(True))
        )
    }
    reporters = []
    for r in static.directory.reporters:
        open_count, last = loads.get(static.reporter_ids[r.slug], (0, 0))
        reporters.append(replace(r, open_items=open_count, last_assigned=last))
    return replace(static, directory=replace(static.directory, reporters=tuple(reporters)))
