"""Decide where a submission goes: facts + directory + time -> decision with a reason.

Pure: plain data in, plain data out; no Flask, no database.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from intake.language import UNDETERMINED
from intake.language import name as language_name

SHIFT = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")
WORD = re.compile(r"[^\W_]+")  # a run of letters and digits, in any script


@dataclass(frozen=True)
class DeskInfo:
    """A desk: where its shared inbox is, and whether emails may carry the text."""

    slug: str
    name: str
    email: str
    email_content: str = "full"
    # Minutes of the assignee's shift before an unacknowledged item goes to the next one.
    ack_minutes: int = 60
    # Reporter slugs emailed when nobody on the rota is left (none: the desk's email).
    editors: tuple[str, ...] = ()
    timezone: str = "UTC"
    # The hour (in the desk's time zone) of the editors' morning digest.
    digest_hour: int = 8


@dataclass(frozen=True)
class TopicInfo:
    """An active topic, its desk, and its keywords (case-folded)."""

    slug: str
    label: str
    desk: str
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReporterInfo:
    """An active reporter, with their current load for balancing."""

    slug: str
    name: str
    email: str
    desks: tuple[str, ...]
    topics: tuple[str, ...]
    languages: tuple[str, ...]
    timezone: str
    shift: str
    open_items: int = 0
    # Higher is more recent (the id of their newest assignment); 0 means never.
    last_assigned: int = 0


@dataclass(frozen=True)
class Directory:
    """The active part of the newsroom, as routing sees it."""

    desks: Mapping[str, DeskInfo]
    topics: Mapping[str, TopicInfo]
    reporters: Sequence[ReporterInfo]
    default_desk: str


@dataclass(frozen=True)
class Facts:
    """What routing knows of a submission."""

    topic: str | None
    subject: str
    body: str
    language: str
    author: str | None = None


@dataclass(frozen=True)
class Decision:
    """Where a submission goes, and why, in words a person can read."""

    language: str
    topic: str | None
    desk: str
    reporter: str | None
    to: str
    needs_translation: bool
    reason: str


MATCHED_WORDS = re.compile(r" \(from the words: [^)]*\)")


def without_words(reason: str) -> str:
    """Return a routing reason without the reader's words that matched topic keywords."""
    return MATCHED_WORDS.sub(" (from keywords in the text)", reason)


def parse_shift(shift: str) -> tuple[int, int] | None:
    """Return a shift's start and end as minutes after local midnight, or None if malformed."""
    match = SHIFT.match(shift)
    if not match:
        return None
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    return None if start == end else (start, end)


def on_shift(reporter: ReporterInfo, when: datetime) -> bool:
    """Say whether the reporter works at this moment: start included, end excluded."""
    span = parse_shift(reporter.shift)
    if span is None:
        return False
    local = when.astimezone(ZoneInfo(reporter.timezone))
    minute = local.hour * 60 + local.minute
    start, end = span
    if start < end:
        return start <= minute < end
    return minute >= start or minute < end  # the shift spans midnight


def shift_seconds(reporter: ReporterInfo, start: datetime, end: datetime) -> float:
    """Count the seconds from start to end during which the reporter was on shift."""
    span = parse_shift(reporter.shift)
    if span is None or end <= start:
        return 0.0
    zone = ZoneInfo(reporter.timezone)
    total = 0.0
    day = start.astimezone(zone).date() - timedelta(days=1)  # a night shift begun the day before
    while day <= end.astimezone(zone).date():
        begin, finish = _shift_on(day, span, zone)
        total += max(0.0, (min(finish, end) - max(begin, start)).total_seconds())
        day += timedelta(days=1)
    return total


def shift_minutes(reporter: ReporterInfo, start: datetime, end: datetime) -> int:
    """Count the whole minutes from start to end during which the reporter was on shift."""
    return int(shift_seconds(reporter, start, end) // 60)


def _shift_on(day: date, span: tuple[int, int], zone: ZoneInfo) -> tuple[datetime, datetime]:
    """Return the shift that starts on a local day, as aware times (it may end the next day)."""
    start, end = span
    begin = datetime.combine(day, time(start // 60, start % 60), zone)
    finish_day = day if start < end else day + timedelta(days=1)
    return begin, datetime.combine(finish_day, time(end // 60, end % 60), zone)


def words(text: str) -> list[str]:
    """Split text into case-folded words (runs of letters and digits)."""
    return WORD.findall(text.casefold())


def infer_topic(text: str, topics: Iterable[TopicInfo]) -> tuple[str | None, dict[str, list[str]]]:
    """Pick the topic with the most words starting with one of its keywords.

    Returns the winner (None for no match or a tie) and each matching topic's words.
    """
    found = words(text)
    matches: dict[str, list[str]] = {}
    for topic in topics:
        hits = [w for w in found if any(w.startswith(k) for k in topic.keywords)]
        if hits:
            matches[topic.slug] = hits
    if not matches:
        return None, matches
    best = max(len(hits) for hits in matches.values())
    leaders = [slug for slug, hits in matches.items() if len(hits) == best]
    return (leaders[0] if len(leaders) == 1 else None), matches


def _reads(reporter: ReporterInfo, language: str) -> bool:
    return language == UNDETERMINED or language in reporter.languages


def route(
    facts: Facts, directory: Directory, now: datetime, exclude: frozenset[str] = frozenset()
) -> Decision:
    """Decide the desk and reporter for a submission at a moment in time.

    `exclude` names reporters already tried (escalation): they are not chosen again.
    """
    if exclude:
        kept = tuple(r for r in directory.reporters if r.slug not in exclude)
        directory = Directory(directory.desks, directory.topics, kept, directory.default_desk)
    language = facts.language
    lang_name = language_name(language)
    topic: TopicInfo | None = None
    topic_why = ""
    if facts.topic and facts.topic in directory.topics:
        topic = directory.topics[facts.topic]
        topic_why = topic.label
    else:
        slug, matches = infer_topic(f"{facts.subject}\n{facts.body}", directory.topics.values())
        if slug is not None:
            topic = directory.topics[slug]
            keywords = ", ".join(dict.fromkeys(matches[slug]))
            topic_why = f"{topic.label} (from the words: {keywords})"
        elif matches:
            topic_why = "No topic (keywords of several topics tie: " + ", ".join(matches) + ")"
        else:
            topic_why = "No topic (none chosen, no keyword matched)"

    reporters = {r.slug: r for r in directory.reporters}
    author = reporters.get(facts.author or "")
    # The story's author takes it only for a topic they cover: `reporter=` is a link
    # parameter anyone can set, so without a topic it routes nothing.
    if author is not None and topic is not None and topic.slug in author.topics:
        desk = directory.desks[topic.desk]
        needs_translation = not _reads(author, language)
        reads = "" if not needs_translation else f", does not read {lang_name} (needs translation)"
        return Decision(
            language=language,
            topic=topic.slug,
            desk=desk.slug,
            reporter=author.slug,
            to=author.email,
            needs_translation=needs_translation,
            reason=f"{topic_why} -> {desk.name}; author of the story{reads}: {author.name}",
        )

    if topic is None:
        desk = directory.desks[directory.default_desk]
        return Decision(
            language=language,
            topic=None,
            desk=desk.slug,
            reporter=None,
            to=desk.email,
            needs_translation=False,
            reason=f"{topic_why} -> {desk.name} inbox",
        )

    desk = directory.desks[topic.desk]
    on_duty = [
        r
        for r in directory.reporters
        if topic.desk in r.desks and topic.slug in r.topics and on_shift(r, now)
    ]
    if not on_duty:
        return Decision(
            language=language,
            topic=topic.slug,
            desk=desk.slug,
            reporter=None,
            to=desk.email,
            needs_translation=False,
            reason=f"{topic_why} -> {desk.name} inbox; nobody covering it is on shift now",
        )
    readers = [r for r in on_duty if _reads(r, language)]
    needs_translation = not readers
    if readers:
        why = "on shift now" + ("" if language == UNDETERMINED else f" and reads {lang_name}")
    else:
        readers = on_duty
        why = f"on shift now; nobody on shift reads {lang_name} (needs translation)"
    order = {r.slug: i for i, r in enumerate(directory.reporters)}
    chosen = min(readers, key=lambda r: (r.open_items, r.last_assigned, order[r.slug]))
    if len(readers) > 1:
        why += f"; of {len(readers)}, fewest open items ({chosen.open_items}), then longest waiting"
    return Decision(
        language=language,
        topic=topic.slug,
        desk=desk.slug,
        reporter=chosen.slug,
        to=chosen.email,
        needs_translation=needs_translation,
        reason=f"{topic_why} -> {desk.name}; {why}: {chosen.name}",
    )
