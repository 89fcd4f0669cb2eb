"""Two-factor sign-in with TOTP: enrolment, codes that work once, and who must use it."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pyotp
import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from config import Config
from intake.extensions import db
from intake.models import StaffUser
from tests.conftest import STAFF_PASSWORD, make_app


def add_user(
    app: Flask, email: str, role: str, password_hash: str, secret: str | None = None
) -> None:
    with app.app_context():
        db.session.add(
            StaffUser(
                email=email,
                role=role,
                password_hash=password_hash,
                session_token=email.ljust(64, "x")[:64],
                totp_secret=secret,
            )
        )
        db.session.commit()


def user(app: Flask, email: str) -> StaffUser:
    with app.app_context():
        return db.session.scalars(sa.select(StaffUser).where(StaffUser.email == email)).one()


def password(client: FlaskClient, email: str) -> str:
    response = client.post("/staff/login", data={"email": email, "password": STAFF_PASSWORD})
    assert response.status_code == 303
    return response.headers["Location"]


def code_at(secret: str, offset: int = 0) -> str:
    totp = pyotp.TOTP(secret)
    return totp.generate_otp(totp.timecode(datetime.now(UTC)) + offset)


def test_admin_must_enrol_with_a_qr_code_or_a_key(
    app: Flask, client: FlaskClient, password_hash: str
) -> None:
    add_user(app, "admin@example.org", "admin", password_hash)
    assert password(client, "admin@example.org") == "/staff/2fa"
    assert client.get("/staff/").status_code == 302  # not signed in yet
    page = client.get("/staff/2fa").get_data(as_text=True)
    assert 'src="data:image/svg+xml' in page
    key = re.search(r'<code class="reference">([A-Z2-7 ]+)</code>', page)
    assert key
    secret = key.group(1).replace(" ", "")
    assert user(app, "admin@example.org").totp_pending == secret
    refused = client.post("/staff/2fa", data={"code": "000000"})
    assert refused.status_code == 400
    assert client.post("/staff/2fa", data={"code": code_at(secret)}).status_code == 303
    assert client.get("/staff/").status_code == 200
    enrolled = user(app, "admin@example.org")
    assert enrolled.totp_secret == secret and enrolled.totp_pending is None


def test_sign_in_asks_for_the_code_and_a_code_works_once(app: Flask, password_hash: str) -> None:
    secret = pyotp.random_base32()
    add_user(app, "admin@example.org", "admin", password_hash, secret)
    first, second = app.test_client(), app.test_client()
    assert password(first, "admin@example.org") == "/staff/login/code"
    code = code_at(secret)
    assert first.post("/staff/login/code", data={"code": code}).status_code == 303
    assert first.get("/staff/").status_code == 200
    # The same code, seen over a shoulder or replayed, does not open a second session.
    password(second, "admin@example.org")
    replay = second.post("/staff/login/code", data={"code": code})
    assert replay.status_code == 400
    assert "used already" in replay.get_data(as_text=True)
    assert second.get("/staff/").status_code == 302
    assert second.post("/staff/login/code", data={"code": code_at(secret, 1)}).status_code == 303


@pytest.mark.parametrize("code", ["", "12345", "abcdef", "1234567", "999999"])
def test_wrong_codes_are_refused_and_logged_without_the_code(
    app: Flask, client: FlaskClient, password_hash: str, caplog: pytest.LogCaptureFixture, code: str
) -> None:
    secret = pyotp.random_base32()
    add_user(app, "admin@example.org", "admin", password_hash, secret)
    password(client, "admin@example.org")
    caplog.set_level(logging.WARNING)
    response = client.post("/staff/login/code", data={"code": code})
    assert response.status_code == 400
    assert client.get("/staff/").status_code == 302
    assert "second factor failed for 'admin@example.org'" in caplog.text
    if code:
        assert code not in caplog.text.replace("admin@example.org", "")


def test_code_page_without_a_password_first_goes_back_to_sign_in(client: FlaskClient) -> None:
    assert client.get("/staff/login/code").headers["Location"] == "/staff/login"
    assert client.get("/staff/2fa").headers["Location"] == "/staff/login"


@pytest.fixture
def admins_only_app(tmp_path: Path) -> Iterator[Flask]:
    app = make_app(tmp_path, INTAKE_REQUIRE_2FA="admins")
    yield app
    with app.app_context():
        db.engine.dispose()


def test_optional_for_editors_who_can_turn_it_on(
    admins_only_app: Flask, password_hash: str
) -> None:
    app, client = admins_only_app, admins_only_app.test_client()
    add_user(app, "ed@example.org", "editor", password_hash)
    assert password(client, "ed@example.org") == "/staff/"
    assert "Turn on two-factor sign-in" in client.get("/staff/").get_data(as_text=True)
    page = client.get("/staff/2fa").get_data(as_text=True)
    key = re.search(r'<code class="reference">([A-Z2-7 ]+)</code>', page)
    assert key
    secret = key.group(1).replace(" ", "")
    assert client.post("/staff/2fa", data={"code": code_at(secret)}).status_code == 303
    other = app.test_client()
    assert password(other, "ed@example.org") == "/staff/login/code"


def test_by_default_every_role_must_use_it(app: Flask, password_hash: str) -> None:
    assert Config.INTAKE_REQUIRE_2FA == "all" and app.config["INTAKE_REQUIRE_2FA"] == "all"
    for email, role in (("rep@example.org", "reporter"), ("ed@example.org", "editor")):
        add_user(app, email, role, password_hash)
        assert password(app.test_client(), email) == "/staff/2fa"


@pytest.mark.parametrize(
    ("policy", "role", "required"),
    [
        ("admins", "admin", True),
        ("admins", "editor", False),
        ("editors", "admin", True),
        ("editors", "editor", True),
        ("editors", "reporter", False),
        ("all", "reporter", True),
        ("nonsense", "reporter", True),  # a mistyped setting errs on the safe side
    ],
)
def test_policy_says_who_must_use_it(
    tmp_path: Path, password_hash: str, policy: str, role: str, required: bool
) -> None:
    app = make_app(tmp_path, INTAKE_REQUIRE_2FA=policy)
    add_user(app, "someone@example.org", role, password_hash)
    expected = "/staff/2fa" if required else "/staff/"
    assert password(app.test_client(), "someone@example.org") == expected


def test_admin_can_reset_a_lost_phone(
    app: Flask, runner: FlaskCliRunner, password_hash: str
) -> None:
    add_user(app, "admin@example.org", "admin", password_hash, pyotp.random_base32())
    result = runner.invoke(args=["intake", "reset-2fa", "admin@example.org"])
    assert result.exit_code == 0
    assert user(app, "admin@example.org").totp_secret is None
    assert password(app.test_client(), "admin@example.org") == "/staff/2fa"
