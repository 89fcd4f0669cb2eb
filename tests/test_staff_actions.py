"""Triage actions: each one recorded as an event, emails through the outbox, no lost updates."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from intake.extensions import db
from intake.models import OutboxEmail
from tests.conftest import DESK_HOURS, AuthActions, get_submission, make_submission


def outbox(app: Flask, purpose: str) -> list[OutboxEmail]:
    with app.app_context():
        return list(
            db.session.scalars(
                sa.select(OutboxEmail)
                .where(OutboxEmail.purpose == purpose)
                .order_by(OutboxEmail.id)
            )
        )


def version_on_page(client: FlaskClient, ref: str) -> str:
    html = client.get(f"/staff/s/{ref}").get_data(as_text=True)
    match = re.search(r'id="status_version" name="version" type="hidden" value="(\d+)"', html)
    assert match
    return match.group(1)


@pytest.fixture
def editor(auth: AuthActions, staff: dict[str, str]) -> str:
    auth.login(staff["editor"])
    return staff["editor"]


@pytest.mark.parametrize(
    ("path", "status", "allowed"),
    [
        ([], "in_progress", True),
        (["in_progress"], "answered", True),
        (["in_progress"], "used", True),
        (["in_progress"], "closed", True),
        ([], "closed", True),
        ([], "spam", True),
        (["closed"], "in_progress", True),
        (["closed"], "answered", False),
        (["in_progress"], "new", False),
        ([], "new", False),
        ([], "bogus", False),
    ],
)
def test_status_changes_follow_the_workflow(
    app: Flask, client: FlaskClient, editor: str, path: list[str], status: str, allowed: bool
) -> None:
    ref = make_submission(app)
    for step in path:
        client.post(
            f"/staff/s/{ref}/status", data={"status": step, "version": version_on_page(client, ref)}
        )
    response = client.post(
        f"/staff/s/{ref}/status", data={"status": status, "version": version_on_page(client, ref)}
    )
    submission = get_submission(app, ref)
    if allowed:
        assert response.status_code == 303
        assert submission.status == status
        last = submission.events[-1]
        assert (last.kind, last.actor) == ("status", editor)
        assert last.detail.endswith(f"-> {status}")
    else:
        assert response.status_code == 400
        assert "cannot become" in response.get_data(as_text=True)


def test_duplicate_names_the_original(app: Flask, client: FlaskClient, editor: str) -> None:
    first = make_submission(app)
    second = make_submission(app)
    refused = client.post(f"/staff/s/{second}/status", data={"status": "duplicate", "version": "1"})
    assert refused.status_code == 400
    assert "Give the reference" in refused.get_data(as_text=True)
    typed = first.lower().replace("-", " ")  # as someone might type it
    client.post(
        f"/staff/s/{second}/status",
        data={"status": "duplicate", "duplicate_of": typed, "version": "1"},
    )
    submission = get_submission(app, second)
    assert submission.status == "duplicate"
    assert submission.events[-1].detail == f"new -> duplicate (of {first})"


def test_reassign_records_it_and_emails_the_new_assignee(
    app: Flask, client: FlaskClient, editor: str
) -> None:
    ref = make_submission(app, now=DESK_HOURS)
    assert get_submission(app, ref).assignee is None
    response = client.post(
        f"/staff/s/{ref}/assign", data={"target": "reporter:isa", "version": "1"}
    )
    assert response.status_code == 303
    submission = get_submission(app, ref)
    assert submission.assignee is not None and submission.assignee.slug == "isa"
    kinds = [(e.kind, e.detail) for e in submission.events[-2:]]
    assert kinds[0] == ("reassigned", "to Isa Rahman (World News)")
    [notice] = [
        e for e in outbox(app, "reporter_notice") if e.recipient == "isa.rahman@example.org"
    ]
    assert f"Reassigned to you by {editor}" in notice.body
    assert submission.first_action_at is not None


def test_reassign_to_a_desk_clears_the_assignee(
    app: Flask, client: FlaskClient, editor: str
) -> None:
    ref = make_submission(app, author_slug="iryna")
    client.post(f"/staff/s/{ref}/assign", data={"target": "desk:politics", "version": "1"})
    submission = get_submission(app, ref)
    assert submission.assignee is None
    assert submission.desk is not None and submission.desk.slug == "politics"
    assert outbox(app, "reporter_notice")[-1].recipient == "politics@example.org"


def test_note_is_stored_and_shown_in_the_timeline(
    app: Flask, client: FlaskClient, editor: str
) -> None:
    ref = make_submission(app)
    client.post(f"/staff/s/{ref}/note", data={"text": "Called the hospital.", "version": "1"})
    assert get_submission(app, ref).events[-1].kind == "note"
    assert "Called the hospital." in client.get(f"/staff/s/{ref}").get_data(as_text=True)


def test_reply_goes_from_the_desk_to_the_reader_and_is_stored(
    app: Flask, client: FlaskClient, editor: str
) -> None:
    ref = make_submission(app, email="olena@example.org", consent_contact=True, author_slug="iryna")
    text = "Дякуємо! Чи можете надіслати фото?"
    assert (
        client.post(f"/staff/s/{ref}/reply", data={"text": text, "version": "1"}).status_code == 303
    )
    [email] = outbox(app, "reply")
    assert (email.sender, email.recipient, email.reply_to) == (
        "worldnews@example.org",
        "olena@example.org",
        "tips@example.org",  # the reader's answer comes back into intake's thread
    )
    locale = get_submission(app, ref).locale
    subjects = {"en": "About your tip", "ru": "О вашем сообщении", "uk": "Про ваше повідомлення"}
    assert email.subject == f"{subjects[locale]} ({ref})"
    assert text in email.body
    event = get_submission(app, ref).events[-1]
    assert (event.kind, event.detail) == ("reply", text)


@pytest.mark.parametrize(("email", "consent"), [("", False), ("olena@example.org", False)])
def test_no_reply_without_an_email_and_consent(
    app: Flask, client: FlaskClient, editor: str, email: str, consent: bool
) -> None:
    ref = make_submission(app, email=email, consent_contact=consent)
    response = client.post(f"/staff/s/{ref}/reply", data={"text": "Hello", "version": "1"})
    assert response.status_code == 400
    assert "did not leave an email address and agree" in response.get_data(as_text=True)
    assert outbox(app, "reply") == []


def test_second_editor_is_told_instead_of_overwriting(
    app: Flask, client: FlaskClient, auth: AuthActions, staff: dict[str, str]
) -> None:
    ref = make_submission(app, now=DESK_HOURS)
    other = app.test_client()
    assert AuthActions(app, other).login(staff["admin"]).status_code == 303
    auth.login(staff["editor"])
    seen_by_editor = version_on_page(client, ref)
    seen_by_admin = version_on_page(other, ref)
    assert (
        other.post(
            f"/staff/s/{ref}/status", data={"status": "spam", "version": seen_by_admin}
        ).status_code
        == 303
    )
    response = client.post(
        f"/staff/s/{ref}/assign", data={"target": "reporter:isa", "version": seen_by_editor}
    )
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert f"Changed by {staff['admin']} meanwhile" in html
    submission = get_submission(app, ref)
    assert submission.status == "spam"
    assert submission.assignee is None or submission.assignee.slug != "isa"


def test_a_note_typed_during_a_conflict_is_kept_on_the_page(
    app: Flask, client: FlaskClient, editor: str
) -> None:
    ref = make_submission(app)
    client.post(f"/staff/s/{ref}/status", data={"status": "in_progress", "version": "1"})
    response = client.post(f"/staff/s/{ref}/note", data={"text": "My long note", "version": "1"})
    assert response.status_code == 409
    assert "My long note" in response.get_data(as_text=True)


def test_bulk_status_and_bulk_assign(app: Flask, client: FlaskClient, editor: str) -> None:
    refs = [make_submission(app, now=DESK_HOURS) for _ in range(3)]
    picks = [f"{ref}:1" for ref in refs]
    response = client.post("/staff/bulk", data={"action": "status:in_progress", "pick": picks})
    assert response.status_code == 303
    assert [get_submission(app, r).status for r in refs] == ["in_progress"] * 3
    stale = [f"{refs[0]}:1", f"{refs[1]}:2"]  # the first was seen before the status change
    client.post("/staff/bulk", data={"action": "assign:reporter:noor", "pick": stale})
    assignees = [get_submission(app, r).assignee for r in refs]
    assert assignees[0] is None
    assert assignees[1] is not None and assignees[1].slug == "noor"
    page = client.get("/staff/").get_data(as_text=True)
    assert "Done for 1." in page and f"Not changed: {refs[0]}: Changed by" in page


def test_every_action_is_an_event_with_actor_and_time(
    app: Flask, client: FlaskClient, editor: str
) -> None:
    ref = make_submission(app, email="o@example.org", consent_contact=True, now=DESK_HOURS)
    for path, data in [
        ("status", {"status": "in_progress"}),
        ("assign", {"target": "reporter:iryna"}),
        ("note", {"text": "n"}),
        ("reply", {"text": "r"}),
    ]:
        version = version_on_page(client, ref)
        assert (
            client.post(f"/staff/s/{ref}/{path}", data={**data, "version": version}).status_code
            == 303
        )
    events = get_submission(app, ref).events
    staff_events = [(e.kind, e.actor) for e in events if e.actor == editor]
    assert staff_events == [
        ("acknowledged", editor),  # the first action acknowledges it, once
        ("status", editor),
        ("reassigned", editor),
        ("emailed", editor),
        ("acknowledged", editor),  # Iryna's own clock ran until the next action
        ("note", editor),
        ("reply", editor),
    ]
    assert all(e.created_at.tzinfo is not None for e in events)
