"""What loading a directory file would change in the tables, shown before it is applied."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from intake.directory.parse import NewsroomFile
from intake.directory.tables import KINDS, RELATIONS, file_entries
from intake.models import DbSession, Desk, Newsroom, Reporter, Topic

WHATS = ("added", "restored", "changed", "deactivated")


@dataclass(frozen=True)
class Change:
    """One entry the file would add, bring back, change (which fields) or deactivate."""

    kind: str  # "newsroom", "desks", "topics" or "reporters"
    slug: str
    name: str
    what: str  # one of WHATS
    fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class Diff:
    """Every change a file would make, in the file's order, then the deactivations."""

    changes: tuple[Change, ...]

    def of(self, kind: str, what: str) -> list[Change]:
        """Return the changes of one kind of entry and one sort."""
        return [c for c in self.changes if c.kind == kind and c.what == what]

    def summary(self) -> str:
        """Count the changes per kind, in one line."""
        parts = []
        for kind in KINDS:
            counts = [f"{len(self.of(kind, what))} {what}" for what in WHATS]
            parts.append(f"{kind}: {', '.join(counts)}")
        return "; ".join(parts)


def _same(key: str, kind: str, stored: Any, wanted: Any) -> bool:
    if key in RELATIONS[kind] and isinstance(wanted, list):
        return sorted(stored) == sorted(wanted)  # the file's order of desks is no change
    return bool(stored == wanted)


def _stored(row: Any, kind: str, keys: Sequence[str]) -> dict[str, Any]:
    """Read a row's fields as file_entries writes them: related entries by slug."""
    values = {}
    for key in keys:
        value = getattr(row, key)
        if key in RELATIONS[kind]:
            value = value.slug if not isinstance(value, list) else [v.slug for v in value]
        values[key] = value
    return values


def _rows(session: DbSession, kind: str) -> dict[str, Desk | Topic | Reporter]:
    """Return every row of one kind, active or not, by slug."""
    found: list[Desk | Topic | Reporter] = []
    if kind == "desks":
        found.extend(session.scalars(sa.select(Desk)))
    elif kind == "topics":
        found.extend(session.scalars(sa.select(Topic)))
    else:
        found.extend(session.scalars(sa.select(Reporter)))
    return {row.slug: row for row in found}


def compare(session: DbSession, newsroom: NewsroomFile) -> Diff:
    """Compare a valid file with the tables, changing nothing."""
    changes: list[Change] = []
    settings = session.get(Newsroom, 1)
    if settings is not None:
        stored_settings = {
            "name": settings.name,
            "public_url": settings.public_url,
            "sender": settings.sender,
            "default_desk": settings.default_desk.slug if settings.default_desk else None,
        }
        wanted_settings = {
            "name": newsroom.name,
            "public_url": newsroom.public_url,
            "sender": newsroom.sender,
            "default_desk": newsroom.default_desk,
        }
        differ = tuple(k for k, v in wanted_settings.items() if stored_settings[k] != v)
        if differ:
            changes.append(Change("newsroom", "newsroom", newsroom.name, "changed", differ))
    for kind, entries in file_entries(newsroom).items():
        rows = _rows(session, kind)
        named = set()
        for position, (slug, values) in enumerate(entries):
            named.add(slug)
            name = str(values.get("name") or values.get("label") or slug)
            row = rows.get(slug)
            if row is None:
                changes.append(Change(kind, slug, name, "added"))
                continue
            stored = _stored(row, kind, list(values))
            differ = tuple(k for k, v in values.items() if not _same(k, kind, stored[k], v))
            if row.position != position:
                differ += ("order",)  # the form lists topics, and routing reporters, in it
            if not row.active:
                changes.append(Change(kind, slug, name, "restored", differ))
            elif differ:
                changes.append(Change(kind, slug, name, "changed", differ))
        for slug, row in rows.items():
            if slug not in named and row.active:
                name = row.label if isinstance(row, Topic) else row.name
                changes.append(Change(kind, slug, name, "deactivated"))
    return Diff(tuple(changes))
