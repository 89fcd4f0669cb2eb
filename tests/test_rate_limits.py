"""Rate limits answer 429, keep the reader's text, and never store the client's address."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from intake.extensions import db, limiter
from tests.conftest import (
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


def test_limiter_storage_holds_no_address(limited: Flask) -> None:
    client = limited.test_client()
    client.post("/", data=valid_form(), environ_base={"REMOTE_ADDR": READER_IP})
    storage = limiter.storage
    keys = " ".join(str(k) for k in getattr(storage, "storage", {}))
    assert keys  # the limit was counted ...
    assert READER_IP not in keys  # ... under a hash, not the address


def test_sign_in_is_limited_per_account(limited: Flask) -> None:
    for number in range(3):
        client = limited.test_client()
        env = {"REMOTE_ADDR": f"203.0.113.{number}"}
        response = client.post(
            "/staff/login",
            data={"email": "ed@example.org", "password": "wrong guess!"},
            environ_base=env,
        )
        assert response.status_code == 400
    # A fourth client trying the same account is stopped, even with the right password.
    response = limited.test_client().post(
        "/staff/login",
        data={"email": "ed@example.org", "password": STAFF_PASSWORD},
        environ_base={"REMOTE_ADDR": "203.0.113.9"},
    )
    assert response.status_code == 429


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
