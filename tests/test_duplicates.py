"""Duplicates link both ways: the original shows each duplicate's thread and answers its reader."""

from __future__ import annotations

import re
from html import unescape

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from intake.extensions import db
from intake.models import OutboxEmail
from tests.conftest import AuthActions, get_submission, make_submission

ORIGINAL = "У Харкові знову вимкнули світло після обстрілу, люди стоять у чергах."
REPEAT = "В Харькове опять нет света после обстрела, очереди за водой."


def mark_duplicate(client: FlaskClient, app: Flask, duplicate: str, original: str) -> None:
    version = str(get_submission(app, duplicate).version)
    response = client.post(
        f"/staff/s/{duplicate}/status",
        data={"status": "duplicate", "duplicate_of": original, "version": version},
    )
    assert response.status_code == 303


@pytest.fixture
def pair(
    app: Flask, client: FlaskClient, auth: AuthActions, staff: dict[str, str]
) -> tuple[str, str]:
    """A (the original) and B (its duplicate, from a reader who agreed to be contacted)."""
    a = make_submission(app, body=ORIGINAL, email="a@example.org", consent_contact=True)
    b = make_submission(app, body=REPEAT, email="b@example.org", consent_contact=True, locale="ru")
    auth.login(staff["editor"])
    mark_duplicate(client, app, b, a)
    return a, b


def duplicates_section(html: str) -> str:
    start = html.find('id="duplicates-h"')
    assert start != -1, "the page has a duplicates section"
    return html[start : html.index("</section>", start)]


def test_the_original_shows_the_duplicates_thread_with_a_link(
    app: Flask, client: FlaskClient, pair: tuple[str, str]
) -> None:
    a, b = pair
    version = str(get_submission(app, b).version)
    client.post(f"/staff/s/{b}/note", data={"text": "Same street as A.", "version": version})
    section = unescape(duplicates_section(client.get(f"/staff/s/{a}").text))
    assert f'<a href="/staff/s/{b}">{b}</a>' in section
    assert REPEAT in section and "Same street as A." in section


def test_the_duplicate_links_back_to_the_original(
    app: Flask, client: FlaskClient, pair: tuple[str, str]
) -> None:
    a, b = pair
    assert f'(of <a href="/staff/s/{a}">{a}</a>)' in client.get(f"/staff/s/{b}").text


def test_a_submission_without_duplicates_has_no_such_section(
    app: Flask, client: FlaskClient, pair: tuple[str, str]
) -> None:
    _a, b = pair
    assert 'id="duplicates-h"' not in client.get(f"/staff/s/{b}").text


def reader_choices(html: str) -> dict[str, str]:
    """Map the reply form's "Write to" labels to their values."""
    select = re.search(r'<select id="reply_to" name="to">(.*?)</select>', html, re.S)
    assert select
    found = re.findall(r'<option [^>]*value="([^"]*)">([^<]*)</option>', select.group(1))
    return {unescape(label): value for value, label in found}


def test_the_duplicates_reader_is_answered_from_the_original(
    app: Flask, client: FlaskClient, staff: dict[str, str], pair: tuple[str, str]
) -> None:
    a, b = pair
    choices = reader_choices(client.get(f"/staff/s/{a}").text)
    assert list(choices) == ["this reader", f"the reader of {b} (a duplicate)"]
    text = "Спасибо! Мы уже проверяем это сообщение."
    response = client.post(
        f"/staff/s/{a}/reply",
        data={
            "text": text,
            "version": str(get_submission(app, a).version),
            "to": choices[f"the reader of {b} (a duplicate)"],
            "channel": "email",
        },
    )
    assert response.status_code == 303
    assert response.headers["Location"] == f"/staff/s/{a}"
    page = client.get(response.headers["Location"]).text
    assert f"Reply to the reader of {b} queued for sending." in page
    assert text in duplicates_section(page)  # in B's thread, shown here
    last_of_b = get_submission(app, b).events[-1]
    assert (last_of_b.kind, last_of_b.actor, last_of_b.detail) == ("reply", staff["editor"], text)
    last_of_a = get_submission(app, a).events[-1]
    assert (last_of_a.kind, last_of_a.detail) == (
        "duplicate_reply",
        f"replied to the reader of {b} by email",
    )
    with app.app_context():
        [email] = db.session.scalars(sa.select(OutboxEmail).where(OutboxEmail.purpose == "reply"))
        assert email.recipient == "b@example.org"
        assert email.subject == f"О вашем сообщении ({b})"  # B's reader, in B's language
        assert text in email.body


def test_a_reply_to_the_duplicates_reader_is_refused_if_it_changed_meanwhile(
    app: Flask, client: FlaskClient, pair: tuple[str, str]
) -> None:
    a, b = pair
    to = reader_choices(client.get(f"/staff/s/{a}").text)[f"the reader of {b} (a duplicate)"]
    version = str(get_submission(app, b).version)
    client.post(f"/staff/s/{b}/note", data={"text": "Meanwhile.", "version": version})
    response = client.post(
        f"/staff/s/{a}/reply",
        data={"text": "Hello", "version": str(get_submission(app, a).version), "to": to},
    )
    assert response.status_code == 409
    assert "Hello" in response.text  # the reply is kept on the page
    with app.app_context():
        assert (
            db.session.scalars(sa.select(OutboxEmail).where(OutboxEmail.purpose == "reply")).all()
            == []
        )


def test_only_a_duplicates_reader_can_be_addressed(
    app: Flask, client: FlaskClient, pair: tuple[str, str]
) -> None:
    a, _b = pair
    stranger = make_submission(app, email="c@example.org", consent_contact=True)
    response = client.post(
        f"/staff/s/{a}/reply",
        data={
            "text": "Hello",
            "version": str(get_submission(app, a).version),
            "to": f"{stranger}:1",
        },
    )
    assert response.status_code == 400
    assert f"{stranger} is no longer a duplicate of this one" in response.text
    assert [e.kind for e in get_submission(app, stranger).events if e.kind == "reply"] == []


def test_a_reporter_sees_no_duplicate_from_a_desk_they_cannot_see(
    app: Flask, client: FlaskClient, auth: AuthActions, staff: dict[str, str]
) -> None:
    a = make_submission(app, body=ORIGINAL, email="a@example.org", consent_contact=True)
    b = make_submission(
        app,
        topic="us-politics",
        body="A senate aide says the vote will slip again.",
        email="b@example.org",
        consent_contact=True,
    )
    auth.login(staff["editor"])
    mark_duplicate(client, app, b, a)
    assert b in client.get(f"/staff/s/{a}").text
    auth.logout()
    auth.login(staff["world_reporter"])
    html = client.get(f"/staff/s/{a}").text
    assert b not in html and 'id="reply_to"' not in html
