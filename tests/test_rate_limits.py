"""Rate limits answer 429, keep the reader's text, and never store the client's address."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from intake.extensions import db, limiter
from tests.conftest import (
    ADMIN_TOTP,
    STAFF_PASSWORD,
    AuthActions,
    make_app,
    make_submission,
    valid_form,
)

READER_IP = "198.51.100.77"


@pytest.fixture
def limited(tmp_path: Path, password_hash: str) -> Iterator[Flask]:
    """An app with rate limits on and small enough to reach in a test."""
    app = make_app(
        tmp_path,
        RATELIMIT_ENABLED=True,
        INTAKE_SUBMIT_LIMIT="3 per hour",
        INTAKE_LOGIN_LIMIT_ACCOUNT="3 per hour",
        INTAKE_LOGIN_LIMIT_CLIENT="5 per hour",
        INTAKE_REPLY_LIMIT="2 per hour",
    )
    limiter.reset()
    with app.app_context():
        from intake.models import StaffUser

        db.session.add(
            StaffUser(
                email="ed@example.org",
                role="editor",
                password_hash=password_hash,
                session_token="s" * 64,
                totp_secret=ADMIN_TOTP,
            )
        )
        db.session.commit()
    yield app
    limiter.reset()
    with app.app_context():
        db.engine.dispose()


def test_public_form_is_limited_per_client_and_keeps_the_text(limited: Flask) -> None:
    client = limited.test_client()
    env = {"REMOTE_ADDR": READER_IP}
    for _ in range(3):
        assert client.post("/", data=valid_form(), environ_base=env).status_code == 303
    text = "Ще одне важливе повідомлення про обстріл."
    response = client.post("/", data=valid_form(body=text), environ_base=env)
    assert response.status_code == 429
    html = response.get_data(as_text=True)
    assert text in html and "wait a few minutes" in html
    # Another client is not affected; reading the form never is.
    other = {"REMOTE_ADDR": "198.51.100.78"}
    assert client.post("/", data=valid_form(), environ_base=other).status_code == 303
    assert client.get("/", environ_base=env).status_code == 200


def test_counters_are_shared_in_a_file_that_holds_no_address(limited: Flask) -> None:
    uri = limited.config["RATELIMIT_STORAGE_URI"]
    assert uri.startswith("intake+sqlite:///")  # the default: one file for every worker
    client = limited.test_client()
    client.post("/", data=valid_form(), environ_base={"REMOTE_ADDR": READER_IP})
    path = Path(uri.removeprefix("intake+sqlite://"))
    stored = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    assert b"LIMITER" in stored or b"limiter" in stored  # the limit was counted there ...
    assert READER_IP.encode() not in stored  # ... under a keyed hash, not the address


def test_sign_in_tries_are_limited_per_account_and_client(limited: Flask) -> None:
    """Guessing at one account slows the guesser; it never locks the account's owner out."""
    guesser = limited.test_client()
    env = {"REMOTE_ADDR": "203.0.113.1"}
    for _ in range(3):
        response = guesser.post(
            "/staff/login",
            data={"email": "ed@example.org", "password": "wrong guess!"},
            environ_base=env,
        )
        assert response.status_code == 400
    response = guesser.post(
        "/staff/login",
        data={"email": "ed@example.org", "password": STAFF_PASSWORD},
        environ_base=env,
    )
    assert response.status_code == 429
    owner = limited.test_client().post(
        "/staff/login",
        data={"email": "ed@example.org", "password": STAFF_PASSWORD},
        environ_base={"REMOTE_ADDR": "203.0.113.9"},
    )
    assert owner.status_code == 303 and owner.headers["Location"] == "/staff/login/code"


def test_sign_in_is_limited_per_client(limited: Flask) -> None:
    client = limited.test_client()
    for number in range(5):
        client.post("/staff/login", data={"email": f"user{number}@example.org", "password": "x"})
    response = client.post(
        "/staff/login", data={"email": "ed@example.org", "password": STAFF_PASSWORD}
    )
    assert response.status_code == 429
    assert "Too many tries" in response.get_data(as_text=True)


def test_replies_are_limited_per_user(limited: Flask) -> None:
    ref = make_submission(limited, email="r@example.org", consent_contact=True)
    client = limited.test_client()
    AuthActions(limited, client).login("ed@example.org")
    codes = [
        client.post(f"/staff/s/{ref}/reply", data={"text": f"reply {n}"}).status_code
        for n in range(3)
    ]
    assert codes == [303, 303, 429]


def test_only_stored_submissions_count_against_the_submission_limit(limited: Flask) -> None:
    """Mistakes and language switches are not submissions: they never use up the limit."""
    client = limited.test_client()
    env = {"REMOTE_ADDR": READER_IP}
    for _ in range(2):
        assert client.post("/", data=valid_form(body="short"), environ_base=env).status_code == 400
        switch = {**valid_form(), "switch_lang": "uk"}
        assert client.post("/", data=switch, environ_base=env).status_code == 200
    for _ in range(3):  # the limit is 3 an hour
        assert client.post("/", data=valid_form(), environ_base=env).status_code == 303
    assert client.post("/", data=valid_form(), environ_base=env).status_code == 429


def test_every_post_of_the_form_is_capped_generously(tmp_path: Path) -> None:
    app = make_app(
        tmp_path,
        RATELIMIT_ENABLED=True,
        INTAKE_POST_LIMIT="5 per minute",
        INTAKE_SUBMIT_LIMIT="99 per hour",
    )
    limiter.reset()
    client = app.test_client()
    codes = [client.post("/", data=valid_form(body="short")).status_code for _ in range(6)]
    limiter.reset()
    assert codes == [400] * 5 + [429]
