"""The rota, seen: per desk and hour, who is on shift, what they cover, and every gap.

Pure: a directory and a time span in, hours and gaps out; no Flask, no database. An hour
counts as covered by whoever is on shift at its start (shifts are given to the minute,
the rota is read by the hour).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from intake.routing import DeskInfo, Directory, on_shift

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class Hour:
    """One hour of a desk's rota (its start in UTC)."""

    start: datetime
    on_shift: tuple[str, ...]
    languages: tuple[str, ...]
    topics: tuple[str, ...]


@dataclass(frozen=True)
class Gap:
    """Hours in which nobody on shift reads a language, covers a topic, or is there at all."""

    kind: str  # "anyone", "language" or "topic"
    value: str
    start: str  # "HH:MM" UTC
    end: str  # "HH:MM" UTC, "24:00" for midnight at the end
    days: tuple[str, ...]
    text: str


@dataclass(frozen=True)
class DeskRota:
    """A desk's hours and gaps over the span asked for."""

    desk: DeskInfo
    hours: tuple[Hour, ...]
    gaps: tuple[Gap, ...]


def hours(directory: Directory, desk: str, start: datetime, count: int) -> list[Hour]:
    """Return the desk's rota hour by hour from `start` (rounded down to the hour)."""
    first = start.astimezone(ZoneInfo("UTC")).replace(minute=0, second=0, microsecond=0)
    topics = [t.slug for t in directory.topics.values() if t.desk == desk]
    # Who routing can give the desk's items to: its reporters covering one of its topics
    # (an editor who covers none is not cover).
    team = [
        r
        for r in directory.reporters
        if desk in r.desks and (not topics or any(t in r.topics for t in topics))
    ]
    found = []
    for n in range(count):
        at = first + timedelta(hours=n)
        on = [r for r in team if on_shift(r, at)]
        found.append(
            Hour(
                start=at,
                on_shift=tuple(r.slug for r in on),
                languages=tuple(sorted({lang for r in on for lang in r.languages})),
                topics=tuple(t for t in topics if any(t in r.topics for r in on)),
            )
        )
    return found


def _days(names: Sequence[str], every: Sequence[str]) -> str:
    """Say which weekdays: "every day", "Mon–Fri", "Sat, Sun", "Mon–Wed, Fri"."""
    if list(names) == list(every):
        return "every day"
    runs = _runs(sorted(DAYS.index(d) for d in names))
    return ", ".join(
        DAYS[first]
        if first == last
        else f"{DAYS[first]}, {DAYS[last]}"
        if last == first + 1
        else f"{DAYS[first]}–{DAYS[last]}"
        for first, last in runs
    )


def _local(hhmm: str, on: date, zone: str) -> str:
    """Return an "HH:MM" UTC time of a date as the desk's local time that day (DST and all)."""
    at = datetime.combine(on, time(0), ZoneInfo("UTC")) + timedelta(
        hours=int(hhmm[:2]), minutes=int(hhmm[3:])
    )
    return at.astimezone(ZoneInfo(zone)).strftime("%H:%M")


def _what(kind: str, value: str) -> str:
    if kind == "anyone":
        return "no one on shift"
    if kind == "language":
        return f"no one reading {value} on shift"
    return f"no one covering {value} on shift"


def gaps(
    desk: DeskInfo,
    found: Sequence[Hour],
    topics: Sequence[str],
    languages: Sequence[str],
) -> list[Gap]:
    """Find every span of hours without anyone, a reader of a language, or a topic's cover."""
    checks = [("anyone", "")] + [("language", lang) for lang in languages]
    checks += [("topic", t) for t in topics]
    every = list(dict.fromkeys(DAYS[h.start.weekday()] for h in found))
    dates: dict[str, date] = {}
    for h in found:
        dates.setdefault(DAYS[h.start.weekday()], h.start.date())
    result = []
    for kind, value in checks:
        # Per day: the uncovered hour ranges; then the same range on several days is one gap.
        spans: dict[tuple[int, int], list[str]] = {}
        day_hours: dict[str, list[int]] = {}
        for h in found:
            if kind != "anyone" and not h.on_shift:
                continue  # already a gap of anyone: said once
            covered = (
                bool(h.on_shift)
                if kind == "anyone"
                else value in (h.languages if kind == "language" else h.topics)
            )
            if not covered:
                day_hours.setdefault(DAYS[h.start.weekday()], []).append(h.start.hour)
        for day, missing in day_hours.items():
            for span in _runs(sorted(set(missing))):
                spans.setdefault(span, []).append(day)
        for (first, last), days in sorted(spans.items()):
            start, end = f"{first:02d}:00", f"{last + 1:02d}:00"
            local = ""
            if desk.timezone != "UTC":
                local = (
                    f" ({_local(start, dates[days[0]], desk.timezone)}–"
                    f"{_local(end, dates[days[0]], desk.timezone)} {desk.timezone})"
                )
            text = f"{_what(kind, value)} {start}–{end} UTC{local}, {_days(days, every)}"
            result.append(Gap(kind, value, start, end, tuple(days), text))
    return result


def _runs(hours_missing: list[int]) -> list[tuple[int, int]]:
    """Group sorted numbers into runs of consecutive ones: [2, 3, 4, 9] -> (2, 4), (9, 9)."""
    runs: list[tuple[int, int]] = []
    for hour in hours_missing:
        if runs and hour == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], hour)
        else:
            runs.append((hour, hour))
    return runs


def rota(directory: Directory, start: datetime, days: int) -> list[DeskRota]:
    """Return every desk's rota and gaps for `days` days from `start`."""
    found = []
    for slug, desk in directory.desks.items():
        desk_hours = hours(directory, slug, start, days * 24)
        topics = [t.slug for t in directory.topics.values() if t.desk == slug]
        # The languages the desk is staffed for: those its reporters read.
        read = sorted(
            {lang for r in directory.reporters if slug in r.desks for lang in r.languages}
        )
        found.append(DeskRota(desk, tuple(desk_hours), tuple(gaps(desk, desk_hours, topics, read))))
    return found


def as_json(desks: Sequence[DeskRota], start: datetime, days: int) -> dict[str, object]:
    """Describe the rota as JSON-ready data (what `rota --format json` prints)."""
    return {
        "from": start.isoformat(),
        "days": days,
        "desks": [
            {
                "slug": d.desk.slug,
                "name": d.desk.name,
                "timezone": d.desk.timezone,
                "gaps": [
                    {
                        "kind": g.kind,
                        "value": g.value,
                        "start": g.start,
                        "end": g.end,
                        "days": list(g.days),
                        "text": g.text,
                    }
                    for g in d.gaps
                ],
                "hours": [
                    {
                        "start": h.start.isoformat(),
                        "on_shift": list(h.on_shift),
                        "languages": list(h.languages),
                        "topics": list(h.topics),
                    }
                    for h in d.hours
                ],
            }
            for d in desks
        ],
    }
