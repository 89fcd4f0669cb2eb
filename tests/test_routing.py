"""Routing rules as tables: facts + directory + time -> decision, no app, no database."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from intake.routing import (
    DeskInfo,
    Directory,
    Facts,
    ReporterInfo,
    TopicInfo,
    infer_topic,
    on_shift,
    route,
)

DESKS = {
    "world": DeskInfo("world", "World News", "world@example.org"),
    "politics": DeskInfo("politics", "Politics", "politics@example.org"),
}
TOPICS = {
    "war": TopicInfo("war", "Russia-Ukraine war", "world", ("ukrain", "україн", "kyiv", "київ")),
    "mideast": TopicInfo("mideast", "Middle East", "world", ("gaza", "israel")),
    "us": TopicInfo("us", "US politics", "politics", ("senate", "congress")),
}


def reporter(slug: str, **fields: object) -> ReporterInfo:
    """A reporter on the world desk covering the war, in UTC, 09:00-17:00, reading English."""
    values: dict[str, object] = {
        "slug": slug,
        "name": slug.title(),
        "email": f"{slug}@example.org",
        "desks": ("world",),
        "topics": ("war",),
        "languages": ("en",),
        "timezone": "UTC",
        "shift": "09:00-17:00",
    }
    values.update(fields)
    return ReporterInfo(**values)  # type: ignore[arg-type]


def newsroom(*reporters: ReporterInfo) -> Directory:
    return Directory(desks=DESKS, topics=TOPICS, reporters=reporters, default_desk="world")


def at(hhmm: str, day: int = 24) -> datetime:
    hour, minute = (int(x) for x in hhmm.split(":"))
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def facts(topic: str | None = "war", body: str = "", language: str = "en", **kw: str) -> Facts:
    return Facts(
        topic=topic,
        subject=kw.get("subject", ""),
        body=body,
        language=language,
        author=kw.get("author"),
    )


CASES = [
    # (case, directory, facts, time, expected reporter, expected desk, needs translation)
    (
        "chosen topic, one on shift",
        newsroom(reporter("ann")),
        facts(),
        at("10:00"),
        "ann",
        "world",
        False,
    ),
    (
        "shift start is included",
        newsroom(reporter("ann")),
        facts(),
        at("09:00"),
        "ann",
        "world",
        False,
    ),
    (
        "shift end is excluded",
        newsroom(reporter("ann")),
        facts(),
        at("17:00"),
        None,
        "world",
        False,
    ),
    (
        "a minute before the end",
        newsroom(reporter("ann")),
        facts(),
        at("16:59"),
        "ann",
        "world",
        False,
    ),
    (
        "nobody on shift: desk inbox",
        newsroom(reporter("ann")),
        facts(),
        at("03:00"),
        None,
        "world",
        False,
    ),
    (
        "overnight shift, before midnight",
        newsroom(reporter("ann", shift="22:00-06:00")),
        facts(),
        at("23:30"),
        "ann",
        "world",
        False,
    ),
    (
        "overnight shift, after midnight",
        newsroom(reporter("ann", shift="22:00-06:00")),
        facts(),
        at("05:59"),
        "ann",
        "world",
        False,
    ),
    (
        "overnight shift, its end",
        newsroom(reporter("ann", shift="22:00-06:00")),
        facts(),
        at("06:00"),
        None,
        "world",
        False,
    ),
    (
        "overnight shift, midday",
        newsroom(reporter("ann", shift="22:00-06:00")),
        facts(),
        at("12:00"),
        None,
        "world",
        False,
    ),
    (
        "shift in the reporter's own zone",
        newsroom(reporter("ann", timezone="Europe/Kyiv", shift="08:00-17:00")),
        facts(),
        at("06:00"),
        "ann",
        "world",
        False,
    ),
    (
        "own zone, before start",
        newsroom(reporter("ann", timezone="Europe/Kyiv", shift="08:00-17:00")),
        facts(),
        at("05:59"),
        None,
        "world",
        False,
    ),
    (
        "prefers the one who reads the language",
        newsroom(reporter("ann"), reporter("bo", languages=("en", "uk"))),
        facts(language="uk"),
        at("10:00"),
        "bo",
        "world",
        False,
    ),
    (
        "nobody reads it: all on shift, needs translation",
        newsroom(reporter("ann"), reporter("bo", open_items=2)),
        facts(language="ru"),
        at("10:00"),
        "ann",
        "world",
        True,
    ),
    (
        "undetermined language counts as read by all",
        newsroom(reporter("ann", languages=("uk",))),
        facts(language="und"),
        at("10:00"),
        "ann",
        "world",
        False,
    ),
    (
        "fewest open items wins",
        newsroom(reporter("ann", open_items=3), reporter("bo", open_items=1)),
        facts(),
        at("10:00"),
        "bo",
        "world",
        False,
    ),
    (
        "tie on open items: longest since last assignment (round-robin)",
        newsroom(
            reporter("ann", open_items=1, last_assigned=9),
            reporter("bo", open_items=1, last_assigned=4),
        ),
        facts(),
        at("10:00"),
        "bo",
        "world",
        False,
    ),
    (
        "tie on everything: directory order",
        newsroom(reporter("ann"), reporter("bo")),
        facts(),
        at("10:00"),
        "ann",
        "world",
        False,
    ),
    (
        "not covering the topic is not a candidate",
        newsroom(reporter("ann", topics=("mideast",))),
        facts(),
        at("10:00"),
        None,
        "world",
        False,
    ),
    (
        "on another desk is not a candidate",
        newsroom(reporter("ann", desks=("politics",))),
        facts(),
        at("10:00"),
        None,
        "world",
        False,
    ),
    (
        "author covering the topic, off shift",
        newsroom(reporter("ann"), reporter("bo")),
        facts(author="bo"),
        at("03:00"),
        "bo",
        "world",
        False,
    ),
    (
        "author who does not read the language",
        newsroom(reporter("ann")),
        facts(author="ann", language="uk"),
        at("10:00"),
        "ann",
        "world",
        True,
    ),
    (
        "author not covering the topic is ignored",
        newsroom(reporter("ann"), reporter("bo", topics=("mideast",))),
        facts(author="bo"),
        at("10:00"),
        "ann",
        "world",
        False,
    ),
    (
        "unknown author is ignored",
        newsroom(reporter("ann")),
        facts(author="nobody"),
        at("10:00"),
        "ann",
        "world",
        False,
    ),
    (
        # reporter= is a link parameter anyone can set: alone, it routes nothing.
        "author with no topic: the default desk's inbox, not the author",
        newsroom(reporter("ann", desks=("politics", "world"))),
        facts(topic=None, author="ann"),
        at("03:00"),
        None,
        "world",
        False,
    ),
    (
        "no topic: the default desk's inbox",
        newsroom(reporter("ann")),
        facts(topic=None, body="How do I subscribe?"),
        at("10:00"),
        None,
        "world",
        False,
    ),
    (
        "topic inferred from keywords",
        newsroom(reporter("ann", desks=("politics",), topics=("us",))),
        facts(topic=None, body="The Senate and Congress met"),
        at("10:00"),
        "ann",
        "politics",
        False,
    ),
    (
        "keywords match word starts in any case",
        newsroom(reporter("ann", languages=("uk",))),
        facts(topic=None, body="Що відбувається в Україні та КИЄВІ?", language="uk"),
        at("10:00"),
        "ann",
        "world",
        False,
    ),
    (
        "keywords tie: no topic",
        newsroom(reporter("ann")),
        facts(topic=None, body="Gaza and Ukraine"),
        at("10:00"),
        None,
        "world",
        False,
    ),
    (
        "an unknown chosen topic is inferred instead",
        newsroom(reporter("ann")),
        facts(topic="sport", body="News from Kyiv"),
        at("10:00"),
        "ann",
        "world",
        False,
    ),
]


@pytest.mark.parametrize(
    ("case", "directory", "facts_", "when", "reporter_", "desk", "translate"),
    CASES,
    ids=[c[0] for c in CASES],
)
def test_route(
    case: str,
    directory: Directory,
    facts_: Facts,
    when: datetime,
    reporter_: str | None,
    desk: str,
    translate: bool,
) -> None:
    decision = route(facts_, directory, when)
    assert (decision.reporter, decision.desk, decision.needs_translation) == (
        reporter_,
        desk,
        translate,
    )
    expected_to = f"{reporter_}@example.org" if reporter_ else DESKS[desk].email
    assert decision.to == expected_to
    assert decision.reason  # every decision says why


@pytest.mark.parametrize(
    ("directory", "facts_", "when", "reason"),
    [
        (
            newsroom(reporter("iryna", name="Iryna Koval", languages=("uk", "en"))),
            facts(language="uk"),
            at("10:00"),
            "Russia-Ukraine war -> World News; on shift now and reads Ukrainian: Iryna Koval",
        ),
        (
            newsroom(reporter("ann")),
            facts(),
            at("03:00"),
            "Russia-Ukraine war -> World News inbox; nobody covering it is on shift now",
        ),
        (
            newsroom(reporter("ann")),
            facts(language="ru"),
            at("10:00"),
            "Russia-Ukraine war -> World News; on shift now; nobody on shift reads Russian "
            "(needs translation): Ann",
        ),
        (
            newsroom(reporter("ann")),
            facts(topic=None, body="Gaza and Kyiv"),
            at("10:00"),
            "No topic (keywords of several topics tie: war, mideast) -> World News inbox",
        ),
        (
            newsroom(reporter("ann")),
            facts(topic=None, body="Kyiv, Kyiv and Gaza"),
            at("10:00"),
            "Russia-Ukraine war (from the words: kyiv) -> World News; "
            "on shift now and reads English: Ann",
        ),
    ],
)
def test_reason_reads_as_a_sentence(
    directory: Directory, facts_: Facts, when: datetime, reason: str
) -> None:
    assert route(facts_, directory, when).reason == reason


@pytest.mark.parametrize(
    ("text", "winner", "matched"),
    [
        ("Ukraine, Ukrainian, UKRAINE", "war", {"war": ["ukraine", "ukrainian", "ukraine"]}),
        ("Немає світла в Україні", "war", {"war": ["україні"]}),
        ("the ukulele is not a keyword match", None, {}),
        ("Kyiv Gaza Israel", "mideast", {"war": ["kyiv"], "mideast": ["gaza", "israel"]}),
        ("Kyiv Gaza", None, {"war": ["kyiv"], "mideast": ["gaza"]}),
        ("prekyiv does not start with it", None, {}),
    ],
)
def test_infer_topic(text: str, winner: str | None, matched: dict[str, list[str]]) -> None:
    assert infer_topic(text, TOPICS.values()) == (winner, matched)


def test_on_shift_follows_daylight_saving_time() -> None:
    kyiv = reporter("ann", timezone="Europe/Kyiv", shift="08:00-17:00")
    assert on_shift(kyiv, datetime(2026, 7, 1, 5, 0, tzinfo=UTC))  # 08:00 in summer (UTC+3)
    assert not on_shift(kyiv, datetime(2026, 12, 1, 5, 0, tzinfo=UTC))  # 07:00 in winter


def test_route_is_pure_and_repeatable() -> None:
    directory = newsroom(reporter("ann"), reporter("bo"))
    first = route(facts(), directory, at("10:00"))
    assert route(facts(), dataclasses.replace(directory), at("10:00")) == first
