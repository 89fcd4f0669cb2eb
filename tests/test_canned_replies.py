"""Canned replies: editors keep them per desk; a reply starts from one in the reader's language."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from intake.extensions import db
from intake.models import AuditEvent, CannedReply, Desk, OutboxEmail
from tests.conftest import (
    STAFF,
    STAFF_PASSWORD,
    AuthActions,
    add_staff,
    get_submission,
    make_app,
    make_submission,
)

THANKS = {
    "en": "Thank you for writing to us. A reporter is checking what you told us.",
    "uk": "Дякуємо, що написали нам. Журналіст перевіряє те, що ви розповіли.",
}


def add_canned(
    app: Flask,
    desk: str = "world",
    title: str = "Thanks, we are checking",
    texts: dict[str, str] | None = None,
    active: bool = True,
) -> int:
    with app.app_context():
        found = db.session.scalars(sa.select(Desk).where(Desk.slug == desk)).one()
        canned = CannedReply(desk=found, title=title, texts=texts or THANKS, active=active)
        db.session.add(canned)
        db.session.commit()
        return canned.id


def stored(app: Flask) -> list[CannedReply]:
    with app.app_context():
        return list(db.session.scalars(sa.select(CannedReply).order_by(CannedReply.id)))


def audit(app: Flask) -> list[tuple[str, str, str]]:
    with app.app_context():
        rows = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id))
        return [(a.actor, a.action, a.target) for a in rows]


@pytest.fixture
def editor(auth: AuthActions, staff: dict[str, str]) -> str:
    auth.login(staff["editor"])
    return staff["editor"]


def test_an_editor_adds_edits_and_deactivates_each_change_audited(
    app: Flask, client: FlaskClient, editor: str
) -> None:
    added = client.post(
        "/staff/canned/new",
        data={"desk": "world", "title": "Thanks", "text_en": THANKS["en"], "text_ru": ""},
    )
    assert added.status_code == 303
    [canned] = stored(app)
    assert (canned.title, canned.texts, canned.active) == ("Thanks", {"en": THANKS["en"]}, True)
    edit = f"/staff/canned/{canned.id}"
    assert THANKS["en"] in client.get(edit).text  # the form shows what is stored
    client.post(edit, data={"title": "Thanks", "text_en": THANKS["en"], "text_uk": THANKS["uk"]})
    assert stored(app)[0].texts == THANKS
    client.post(f"/staff/canned/{canned.id}/deactivate")
    assert stored(app)[0].active is False
    assert audit(app) == [
        (editor, "canned.created", "world"),
        (editor, "canned.updated", "world"),
        (editor, "canned.deactivated", "world"),
    ]
    page = client.get("/staff/canned").text
    assert "Thanks" in page and "not offered" in page and "English, Ukrainian" in page


def test_saving_without_a_change_records_nothing(
    app: Flask, client: FlaskClient, editor: str
) -> None:
    canned = add_canned(app)
    form = {"title": "Thanks, we are checking", "text_en": THANKS["en"], "text_uk": THANKS["uk"]}
    response = client.post(f"/staff/canned/{canned}", data=form)
    assert response.status_code == 303
    assert audit(app) == []


@pytest.mark.parametrize(
    ("form", "problem"),
    [
        ({"title": "", "text_en": "Hello"}, "Give the canned reply a title."),
        ({"title": "Hi", "text_en": "", "text_uk": "Привіт"}, "Write the English text"),
        ({"title": "x" * 201, "text_en": "Hello"}, "at most 200 characters"),
        ({"title": "Hi", "text_en": "x" * 20_001}, "at most 20,000 characters (en)"),
    ],
)
def test_a_canned_reply_needs_a_title_and_english(
    app: Flask, client: FlaskClient, editor: str, form: dict[str, str], problem: str
) -> None:
    response = client.post("/staff/canned/new", data={"desk": "world", **form})
    assert response.status_code == 400
    assert problem in unescape(response.text)
    assert stored(app) == [] and audit(app) == []


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/staff/canned"),
        ("GET", "/staff/canned/new"),
        ("POST", "/staff/canned/new"),
        ("GET", "/staff/canned/{id}"),
        ("POST", "/staff/canned/{id}"),
        ("POST", "/staff/canned/{id}/deactivate"),
    ],
)
def test_reporters_cannot_reach_the_canned_replies_pages(
    app: Flask,
    client: FlaskClient,
    auth: AuthActions,
    staff: dict[str, str],
    method: str,
    path: str,
) -> None:
    canned = add_canned(app)
    auth.login(staff["world_reporter"])
    form = {"desk": "world", "title": "Mine", "text_en": "Changed by a reporter"}
    response = client.open(path.format(id=canned), method=method, data=form)
    assert response.status_code == 404
    assert [c.title for c in stored(app)] == ["Thanks, we are checking"]
    assert stored(app)[0].active and audit(app) == []


def test_an_admin_keeps_them_too(
    app: Flask, client: FlaskClient, auth: AuthActions, staff: dict[str, str]
) -> None:
    auth.login(staff["admin"])
    client.post("/staff/canned/new", data={"desk": "politics", "title": "Hi", "text_en": "Hello"})
    assert audit(app) == [(staff["admin"], "canned.created", "politics")]


def reply_box(html: str) -> str:
    match = re.search(
        r'<textarea id="reply_text" name="text" rows="6">\r?\n(.*?)</textarea>', html, re.S
    )
    assert match
    return unescape(match.group(1))


def used_canned(html: str) -> str:
    match = re.search(
        r'id="reply_used_canned" name="used_canned" type="hidden" value="([^"]*)"', html
    )
    assert match
    return match.group(1)


@pytest.mark.parametrize(
    ("locale", "text", "said"),
    [
        ("uk", THANKS["uk"], "is in the box in Ukrainian, the reader's language"),
        ("en", THANKS["en"], "is in the box in English, the reader's language"),
        ("ru", THANKS["en"], "has no Russian text (the reader's language): the English one"),
    ],
)
def test_use_fills_the_reply_box_in_the_readers_language_without_script(
    app: Flask, client: FlaskClient, editor: str, locale: str, text: str, said: str
) -> None:
    canned = add_canned(app)
    reference = make_submission(app, email="o@example.org", consent_contact=True, locale=locale)
    response = client.post(
        f"/staff/s/{reference}/reply/canned",
        data={"canned": str(canned), "text": "typed before", "version": "1", "channel": "email"},
    )
    assert response.status_code == 200
    html = response.text
    assert reply_box(html) == text
    assert said in unescape(html)
    assert used_canned(html) == str(canned)
    assert get_submission(app, reference).events[-1].kind != "reply"  # nothing was sent


def test_a_reporter_uses_their_desks_canned_replies(
    app: Flask, client: FlaskClient, auth: AuthActions, staff: dict[str, str]
) -> None:
    canned = add_canned(app)
    reference = make_submission(app, email="o@example.org", consent_contact=True, locale="uk")
    auth.login(staff["world_reporter"])
    response = client.post(
        f"/staff/s/{reference}/reply/canned", data={"canned": str(canned), "version": "1"}
    )
    assert response.status_code == 200
    assert reply_box(response.text) == THANKS["uk"]


def test_the_reply_form_offers_only_the_desks_active_canned_replies(
    app: Flask, client: FlaskClient, editor: str
) -> None:
    add_canned(app, title="World, active")
    add_canned(app, title="World, retired", active=False)
    add_canned(app, desk="politics", title="Politics, active")
    reference = make_submission(app, email="o@example.org", consent_contact=True)
    html = client.get(f"/staff/s/{reference}").text
    select = re.search(r'<select id="reply_canned" name="canned">(.*?)</select>', html, re.S)
    assert select
    titles = re.findall(r">([^<]+)</option>", select.group(1))
    assert titles == ["None: write it yourself", "World, active"]


@pytest.mark.parametrize("chosen", ["another desk's", "an inactive"])
def test_use_refuses_a_canned_reply_the_form_does_not_offer(
    app: Flask, client: FlaskClient, editor: str, chosen: str
) -> None:
    if chosen == "another desk's":
        canned = add_canned(app, desk="politics")
    else:
        canned = add_canned(app, active=False)
    reference = make_submission(app, email="o@example.org", consent_contact=True)
    response = client.post(
        f"/staff/s/{reference}/reply/canned", data={"canned": str(canned), "version": "1"}
    )
    assert response.status_code == 400
    assert "Choose one of the desk's canned replies first." in unescape(response.text)


def test_a_reply_from_a_canned_reply_is_a_reply_and_records_the_canned_one(
    app: Flask, client: FlaskClient, editor: str
) -> None:
    canned = add_canned(app)
    reference = make_submission(app, email="o@example.org", consent_contact=True, locale="uk")
    edited = THANKS["uk"] + "\nІрина"
    response = client.post(
        f"/staff/s/{reference}/reply",
        data={"text": edited, "version": "1", "channel": "email", "used_canned": str(canned)},
    )
    assert response.status_code == 303
    events = [(e.kind, e.actor, e.detail) for e in get_submission(app, reference).events[-2:]]
    assert events == [
        ("reply", editor, edited),  # the reply as sent, as any reply is recorded
        ("canned_used", editor, "Thanks, we are checking"),
    ]
    with app.app_context():
        email = db.session.scalars(sa.select(OutboxEmail).where(OutboxEmail.purpose == "reply"))
        assert "Журналіст перевіряє" in email.one().body


@pytest.mark.parametrize("used", ["", "999", "not a number", "politics"])
def test_a_reply_not_from_an_offered_canned_reply_records_none(
    app: Flask, client: FlaskClient, editor: str, used: str
) -> None:
    other = add_canned(app, desk="politics")
    reference = make_submission(app, email="o@example.org", consent_contact=True)
    value = str(other) if used == "politics" else used
    client.post(
        f"/staff/s/{reference}/reply",
        data={"text": "Thanks!", "version": "1", "channel": "email", "used_canned": value},
    )
    kinds = [e.kind for e in get_submission(app, reference).events]
    assert "reply" in kinds and "canned_used" not in kinds


def test_canned_reply_forms_need_the_csrf_token(tmp_path: Path, password_hash: str) -> None:
    app = make_app(tmp_path, WTF_CSRF_ENABLED=True, INTAKE_REQUIRE_2FA="admins")
    add_staff(app, password_hash)
    canned = add_canned(app)
    client = app.test_client()

    def token(url: str) -> str:
        found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', client.get(url).text)
        assert found
        return found.group(1)

    login = {"email": STAFF["editor"][0], "password": STAFF_PASSWORD}
    client.post("/staff/login", data={**login, "csrf_token": token("/staff/login")})
    form = {"desk": "world", "title": "Forged", "text_en": "From another site"}
    assert client.post("/staff/canned/new", data=form).status_code == 400
    assert client.post(f"/staff/canned/{canned}/deactivate").status_code == 400
    assert [(c.title, c.active) for c in stored(app)] == [("Thanks, we are checking", True)]
    fresh = token("/staff/canned/new")
    assert client.post("/staff/canned/new", data={**form, "csrf_token": fresh}).status_code == 303
    assert len(stored(app)) == 2
