"""The anonymous follow-up page: reference and passphrase open the reader's conversation."""

from __future__ import annotations

import io
import re
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image

from intake.extensions import db, limiter
from intake.models import Attachment, Submission
from tests.conftest import (
    ADMIN_TOTP,
    STAFF,
    AuthActions,
    add_staff,
    get_submission,
    make_app,
    post_multipart,
    valid_form,
)

TIP = "Колона техніки рухається через міст на Лісовій вулиці просто зараз, я бачу її з вікна."


def send_anonymous_tip(client: FlaskClient) -> tuple[str, str]:
    """Post an anonymous tip; return its reference and the passphrase the thanks page shows."""
    response = client.post("/", data=valid_form(body=TIP))
    assert response.status_code == 303
    reference = response.headers["Location"].removeprefix("/thanks/")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    found = re.search(r'id="followup-passphrase">([\d ]+)<', page)
    assert found, "the thanks page shows the passphrase"
    return reference, found.group(1)


def open_conversation(client: FlaskClient, reference: str, passphrase: str) -> str:
    response = client.post("/followup", data={"reference": reference, "passphrase": passphrase})
    assert response.status_code == 303, response.get_data(as_text=True)
    return client.get("/followup").get_data(as_text=True)


def staff_reply(app: Flask, reference: str, text: str, channel: str) -> int:
    client = app.test_client()
    AuthActions(app, client).login(STAFF["editor"][0])
    version = str(get_submission(app, reference).version)
    data = {"text": text, "version": version, "channel": channel}
    return client.post(f"/staff/s/{reference}/reply", data=data).status_code


@pytest.fixture
def desk(app: Flask, password_hash: str) -> Flask:
    add_staff(app, password_hash, admin_totp=ADMIN_TOTP)
    return app


def test_the_passphrase_is_shown_once_and_kept_only_as_a_hash(app: Flask) -> None:
    client = app.test_client()
    reference, passphrase = send_anonymous_tip(client)
    assert len(passphrase.replace(" ", "")) == 20  # 66 bits
    again = client.get(f"/thanks/{reference}").get_data(as_text=True)
    assert "followup-passphrase" not in again
    stored = get_submission(app, reference).followup_hash
    assert stored is not None and stored.startswith("$argon2id$")
    assert passphrase.replace(" ", "") not in stored


def test_an_anonymous_reader_reads_a_reply_and_sends_a_photo(desk: Flask) -> None:
    reader = desk.test_client()
    reference, passphrase = send_anonymous_tip(reader)
    assert staff_reply(desk, reference, "Дякуємо! Чи можете надіслати фото?", "followup") == 303
    with desk.test_request_context():
        from intake import workflow
        from intake.models import StaffUser

        submission = db.session.scalars(
            sa.select(Submission).where(Submission.reference == reference)
        ).one()
        editor = db.session.scalars(
            sa.select(StaffUser).where(StaffUser.email == STAFF["editor"][0])
        ).one()
        workflow.add_note(db.session, submission, editor, "Internal: check the bridge cam.", None)

    page = open_conversation(reader, reference, passphrase.replace(" ", "-"))
    assert TIP in page and "Дякуємо! Чи можете надіслати фото?" in page
    assert "Internal: check the bridge cam." not in page and "@example.org" not in page

    image = Image.new("RGB", (16, 16), "blue")
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    photo = io.BytesIO()
    image.save(photo, format="JPEG", exif=exif)
    photo.seek(0)
    response = post_multipart(
        reader,
        "/followup/message",
        {"text": "Ось фото мосту.", "files": [(photo, "bridge.jpg")]},
    )
    assert response.status_code == 303
    assert "Ось фото мосту." in reader.get("/followup").get_data(as_text=True)
    submission = get_submission(desk, reference)
    assert submission.reader_replied_at is not None
    [message] = [e for e in submission.events if e.kind == "reader_message"]
    assert message.actor == "reader (follow-up page)"
    with desk.app_context():
        [stored] = db.session.scalars(sa.select(Attachment)).all()
        data = (Path(desk.config["INTAKE_UPLOADS"]) / stored.stored_name).read_bytes()
    assert stored.cleaned and b"PhoneMaker" not in data


def test_a_reply_by_email_shows_on_the_follow_up_page_too(desk: Flask) -> None:
    reader = desk.test_client()
    response = reader.post(
        "/", data=valid_form(body=TIP, email="olena@example.org", consent_contact="y")
    )
    reference = response.headers["Location"].removeprefix("/thanks/")
    page = reader.get(response.headers["Location"]).get_data(as_text=True)
    passphrase = re.search(r'id="followup-passphrase">([\d ]+)<', page)
    assert passphrase
    assert staff_reply(desk, reference, "We wrote to you by email too.", "email") == 303
    conversation = open_conversation(reader, reference, passphrase.group(1))
    assert "We wrote to you by email too." in conversation


def test_a_wrong_passphrase_and_an_unknown_reference_get_the_same_answer(app: Flask) -> None:
    client = app.test_client()
    reference, passphrase = send_anonymous_tip(client)
    wrong = "0" * 20 if passphrase.replace(" ", "") != "0" * 20 else "1" * 20
    answers = [
        client.post("/followup", data={"reference": ref, "passphrase": phrase})
        for ref, phrase in ((reference, wrong), ("T-2345-6789", passphrase))
    ]
    assert [a.status_code for a in answers] == [400, 400]
    first, second = (a.get_data(as_text=True) for a in answers)
    assert first.replace(reference, "REF") == second.replace("T-2345-6789", "REF")
    assert client.get("/followup").get_data(as_text=True).count("followup-passphrase") == 0


def test_sign_in_tries_are_limited_per_client_and_per_reference(tmp_path: Path) -> None:
    app = make_app(tmp_path, RATELIMIT_ENABLED=True, INTAKE_FOLLOWUP_LIMIT="3 per hour")
    limiter.reset()
    reference, _passphrase = send_anonymous_tip(app.test_client())
    codes = []
    for number in range(4):  # four clients, one reference
        env = {"REMOTE_ADDR": f"203.0.113.{number}"}
        data = {"reference": reference, "passphrase": "1" * 20}
        codes.append(app.test_client().post("/followup", data=data, environ_base=env).status_code)
    limiter.reset()
    assert codes == [400, 400, 400, 429]


def test_the_conversation_closes_after_30_idle_minutes_and_on_leave(app: Flask) -> None:
    client = app.test_client()
    reference, passphrase = send_anonymous_tip(client)
    open_conversation(client, reference, passphrase)
    with client.session_transaction() as session:
        session["followup"] = {**session["followup"], "seen": time.time() - 31 * 60}
    assert TIP not in client.get("/followup").get_data(as_text=True)
    assert TIP in open_conversation(client, reference, passphrase)
    client.post("/followup/leave")
    assert TIP not in client.get("/followup").get_data(as_text=True)


@pytest.mark.parametrize(
    ("locale", "heading"),
    [
        ("en", "Follow up on your tip or question"),
        ("ru", "Продолжить разговор о вашем сообщении или вопросе"),
        ("uk", "Продовжити розмову про ваше повідомлення чи запитання"),
    ],
)
def test_the_page_speaks_the_readers_language_and_is_not_kept(
    client: FlaskClient, locale: str, heading: str
) -> None:
    response = client.get(f"/followup?lang={locale}")
    assert heading in response.get_data(as_text=True)
    assert "no-store" in response.headers["Cache-Control"]
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_staff_are_offered_only_the_channels_the_reader_has(desk: Flask) -> None:
    reader = desk.test_client()
    reference, _ = send_anonymous_tip(reader)
    client = desk.test_client()
    AuthActions(desk, client).login(STAFF["editor"][0])
    page = client.get(f"/staff/s/{reference}").get_data(as_text=True)
    assert 'value="followup"' in page and 'value="email"' not in page
    assert staff_reply(desk, reference, "By email?", "email") == 400
    assert all(e.kind != "reply" for e in get_submission(desk, reference).events)


def test_a_database_error_keeps_the_readers_text(app: Flask) -> None:
    client = app.test_client()
    reference, passphrase = send_anonymous_tip(client)
    open_conversation(client, reference, passphrase)
    with app.app_context():
        db.session.execute(sa.text("DROP TABLE outbox_emails"))  # the holder's notice fails
        db.session.commit()
    text = "Ось що я бачив сьогодні вранці біля мосту."
    response = client.post("/followup/message", data={"text": text})
    assert response.status_code == 503
    assert text in response.get_data(as_text=True)
    assert all(e.kind != "reader_message" for e in get_submission(app, reference).events)


def test_leaving_ends_every_copy_of_the_session(app: Flask) -> None:
    client = app.test_client()
    reference, passphrase = send_anonymous_tip(client)
    open_conversation(client, reference, passphrase)
    cookie = client.get_cookie("session")
    assert cookie is not None
    client.post("/followup/leave")
    copy = app.test_client()
    copy.set_cookie("session", cookie.value)
    assert TIP not in copy.get("/followup").get_data(as_text=True)


def test_a_new_sign_in_ends_the_older_session(app: Flask) -> None:
    first, second = app.test_client(), app.test_client()
    reference, passphrase = send_anonymous_tip(first)
    open_conversation(first, reference, passphrase)
    open_conversation(second, reference, passphrase)
    assert TIP not in first.get("/followup").get_data(as_text=True)
    assert TIP in second.get("/followup").get_data(as_text=True)
