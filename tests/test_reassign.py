"""Reassigning from a submission's page: a list that guides, and no dead end after a move."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import unescape

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from intake.extensions import db
from intake.models import Desk, Reporter, Submission
from tests.conftest import DESK_HOURS, AuthActions, get_submission, make_submission

# The example newsroom's desks, in the directory's order.
WORLD, POLITICS, BUSINESS = "World News", "US Politics", "Business"


def assign_select(html: str) -> str:
    match = re.search(r'<select id="target" name="target">(.*?)</select>', html, re.S)
    assert match, "the page has the assignment list"
    return match.group(1)


def groups(html: str) -> list[str]:
    return [unescape(g) for g in re.findall(r'<optgroup label="([^"]*)">', assign_select(html))]


def options(html: str) -> dict[str, str]:
    """Map each option's value to its text."""
    found = re.findall(
        r'<option (?:selected )?value="([^"]*)">([^<]*)</option>', assign_select(html)
    )
    return {value: unescape(text) for value, text in found}


def selected(html: str) -> str:
    match = re.search(r'<option selected value="([^"]*)">', assign_select(html))
    assert match, "one option is pre-selected"
    return match.group(1)


def version(app: Flask, reference: str) -> str:
    return str(get_submission(app, reference).version)


def desk_of(app: Flask, reference: str) -> str:
    desk = get_submission(app, reference).desk
    assert desk is not None
    return desk.slug


def put_on_desks(app: Flask, reporter: str, *desks: str) -> None:
    with app.app_context():
        person = db.session.scalars(sa.select(Reporter).where(Reporter.slug == reporter)).one()
        person.desks = list(db.session.scalars(sa.select(Desk).where(Desk.slug.in_(desks))))
        db.session.commit()


@pytest.mark.parametrize(
    ("who", "topic", "order"),
    [
        ("editor", "russia-ukraine-war", [WORLD, POLITICS, BUSINESS]),
        ("editor", "energy-markets", [BUSINESS, WORLD, POLITICS]),
        # Dana is on Politics and Business: the submission's desk, then hers, then the rest.
        ("politics_reporter", "energy-markets", [BUSINESS, POLITICS, WORLD]),
    ],
)
def test_groups_start_with_the_submissions_desk_then_the_viewers(
    app: Flask,
    client: FlaskClient,
    auth: AuthActions,
    staff: dict[str, str],
    who: str,
    topic: str,
    order: list[str],
) -> None:
    put_on_desks(app, "dana", "politics", "business")
    reference = make_submission(app, topic=topic, body="Oil prices and the pipeline deal.")
    auth.login(staff[who])
    assert groups(client.get(f"/staff/s/{reference}").get_data(as_text=True)) == order


def test_each_desk_offers_its_inbox_and_each_reporter_once(
    app: Flask, client: FlaskClient, auth: AuthActions, staff: dict[str, str]
) -> None:
    put_on_desks(app, "dana", "politics", "business")
    reference = make_submission(app, now=DESK_HOURS)
    auth.login(staff["editor"])
    html = client.get(f"/staff/s/{reference}").get_data(as_text=True)
    values = re.findall(r'value="([^"]*)"', assign_select(html))
    assert sorted(v for v in values if v.startswith("desk:")) == [
        "desk:business",
        "desk:politics",
        "desk:world",
    ]
    assert values.count("reporter:dana") == 1
    assert options(html)["desk:politics"] == "US Politics (desk inbox)"


def test_an_option_says_who_is_on_shift_what_they_read_and_their_open_items(
    app: Flask, client: FlaskClient, auth: AuthActions, staff: dict[str, str]
) -> None:
    hour = datetime.now(UTC).hour
    with app.app_context():
        people = {r.slug: r for r in db.session.scalars(sa.select(Reporter))}
        # Shifts around the real clock, in UTC, so the test holds at any time of day.
        people["iryna"].timezone = people["isa"].timezone = "UTC"
        people["iryna"].shift = f"{(hour - 1) % 24:02d}:00-{(hour + 2) % 24:02d}:00"
        people["isa"].shift = f"{(hour + 3) % 24:02d}:00-{(hour + 4) % 24:02d}:00"
        db.session.commit()
    theirs = [make_submission(app, author_slug="iryna", now=DESK_HOURS) for _ in range(3)]
    with app.app_context():
        closed = db.session.scalars(sa.select(Submission).where(Submission.reference == theirs[0]))
        closed.one().status = "closed"  # not open: not counted
        db.session.commit()
    auth.login(staff["editor"])
    labels = options(client.get(f"/staff/s/{theirs[1]}").get_data(as_text=True))
    assert labels["reporter:iryna"] == "Iryna Koval — on shift now · uk, ru, en · 2 open"
    assert labels["reporter:isa"] == "Isa Rahman — off shift · en, ru · 0 open"


def test_within_a_desk_those_on_shift_come_first(
    app: Flask, client: FlaskClient, auth: AuthActions, staff: dict[str, str]
) -> None:
    hour = datetime.now(UTC).hour
    with app.app_context():
        for person in db.session.scalars(sa.select(Reporter)):
            person.timezone = "UTC"
            on = person.slug == "sam"
            start = hour - 1 if on else hour + 3
            person.shift = f"{start % 24:02d}:00-{(start + 2) % 24:02d}:00"
        db.session.commit()
    reference = make_submission(app, now=DESK_HOURS)
    auth.login(staff["editor"])
    world = [v for v in options(client.get(f"/staff/s/{reference}").text) if v][:5]
    assert world == [
        "reporter:sam",
        "reporter:iryna",
        "reporter:isa",
        "reporter:noor",
        "desk:world",
    ]


@pytest.mark.parametrize(("author", "current"), [("", "desk:world"), ("iryna", "reporter:iryna")])
def test_the_current_assignee_is_pre_selected(
    app: Flask,
    client: FlaskClient,
    auth: AuthActions,
    staff: dict[str, str],
    author: str,
    current: str,
) -> None:
    reference = make_submission(app, author_slug=author, now=DESK_HOURS)
    auth.login(staff["editor"])
    assert selected(client.get(f"/staff/s/{reference}").get_data(as_text=True)) == current


def confirmation(html: str) -> dict[str, str]:
    """Return the fields of the page's "Yes, move it" form."""
    match = re.search(r'<section class="confirm-move".*?</section>', html, re.S)
    assert match, "the page asks for confirmation"
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', match.group(0)))


@pytest.mark.parametrize(
    ("target", "whom"),
    [("desk:politics", "the US Politics inbox"), ("reporter:dana", "Dana Ellis (US Politics)")],
)
def test_a_reporter_moving_it_off_their_desks_confirms_then_lands_in_the_inbox(
    app: Flask,
    client: FlaskClient,
    auth: AuthActions,
    staff: dict[str, str],
    target: str,
    whom: str,
) -> None:
    reference = make_submission(app, author_slug="iryna")
    auth.login(staff["world_reporter"])
    asked = client.post(
        f"/staff/s/{reference}/assign", data={"target": target, "version": version(app, reference)}
    )
    assert asked.status_code == 200
    html = unescape(asked.get_data(as_text=True))
    assert f"Reassigning {reference} to {whom} moves it to US Politics" in html
    assert "Yes, move it to US Politics" in html
    assert desk_of(app, reference) == "world"  # nothing moved yet

    moved = client.post(f"/staff/s/{reference}/assign", data=confirmation(html))
    assert moved.status_code == 303
    assert moved.headers["Location"] == "/staff/"
    inbox = client.get(moved.headers["Location"])
    assert inbox.status_code == 200
    assert f"{reference} moved to US Politics; it is no longer in your desks" in inbox.text
    assert desk_of(app, reference) == "politics"


def test_the_confirmation_is_not_asked_on_a_version_the_reporter_did_not_see(
    app: Flask, client: FlaskClient, auth: AuthActions, staff: dict[str, str]
) -> None:
    reference = make_submission(app, author_slug="iryna")
    auth.login(staff["world_reporter"])
    seen = version(app, reference)
    client.post(f"/staff/s/{reference}/note", data={"text": "Called them.", "version": seen})
    stale = client.post(
        f"/staff/s/{reference}/assign", data={"target": "desk:politics", "version": seen}
    )
    assert stale.status_code == 409
    assert "confirm-move" not in stale.text
    assert desk_of(app, reference) == "world"


def test_a_reporter_moving_it_within_their_desks_is_not_asked(
    app: Flask, client: FlaskClient, auth: AuthActions, staff: dict[str, str]
) -> None:
    reference = make_submission(app, author_slug="iryna")
    auth.login(staff["world_reporter"])
    response = client.post(
        f"/staff/s/{reference}/assign",
        data={"target": "reporter:isa", "version": version(app, reference)},
    )
    assert response.status_code == 303
    assert response.headers["Location"] == f"/staff/s/{reference}"


@pytest.mark.parametrize("who", ["editor", "admin"])
def test_editors_and_admins_move_it_anywhere_without_being_asked(
    app: Flask, client: FlaskClient, auth: AuthActions, staff: dict[str, str], who: str
) -> None:
    reference = make_submission(app, author_slug="iryna")
    auth.login(staff[who])
    response = client.post(
        f"/staff/s/{reference}/assign",
        data={"target": "desk:politics", "version": version(app, reference)},
    )
    assert response.status_code == 303
    assert response.headers["Location"] == f"/staff/s/{reference}"  # they still see it
    assert desk_of(app, reference) == "politics"


def test_a_reporter_who_said_no_keeps_it(
    app: Flask, client: FlaskClient, auth: AuthActions, staff: dict[str, str]
) -> None:
    reference = make_submission(app, author_slug="iryna")
    auth.login(staff["world_reporter"])
    asked = client.post(
        f"/staff/s/{reference}/assign",
        data={"target": "desk:politics", "version": version(app, reference)},
    )
    assert f'<a href="/staff/s/{reference}">No, keep it here</a>' in asked.text
    assert client.get(f"/staff/s/{reference}").status_code == 200
    assert desk_of(app, reference) == "world"


def test_the_move_and_its_email_are_in_the_history(
    app: Flask, client: FlaskClient, auth: AuthActions, staff: dict[str, str]
) -> None:
    reference = make_submission(app, author_slug="iryna")
    auth.login(staff["world_reporter"])
    data = {"target": "desk:politics", "version": version(app, reference), "confirm": "1"}
    client.post(f"/staff/s/{reference}/assign", data=data)
    events = [(e.kind, e.actor, e.detail) for e in get_submission(app, reference).events[-2:]]
    assert events == [
        ("reassigned", staff["world_reporter"], "to the US Politics inbox"),
        ("emailed", staff["world_reporter"], "notice to the US Politics inbox queued"),
    ]
