"""Staff sign-in: Argon2 passwords, one message for every failure, sessions that can end."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from intake import accounts
from intake.extensions import db
from intake.models import StaffUser
from tests.conftest import STAFF_PASSWORD, AuthActions, make_app, next_code

WRONG = "Email or password is wrong."


def test_sign_in_and_out(client: FlaskClient, auth: AuthActions, staff: dict[str, str]) -> None:
    response = auth.login(staff["editor"])
    assert response.status_code == 303
    assert response.headers["Location"] == "/staff/"
    assert client.get("/staff/").status_code == 200
    assert auth.logout().status_code == 303
    assert client.get("/staff/").status_code == 302


@pytest.mark.parametrize(
    ("email", "password"),
    [
        ("editor@example.org", "wrong password!"),
        ("nobody@example.org", STAFF_PASSWORD),
        ("", ""),
        ("editor@example.org", "x" * 2000),
    ],
)
def test_every_failure_says_the_same_thing(
    client: FlaskClient, auth: AuthActions, staff: dict[str, str], email: str, password: str
) -> None:
    response = auth.login(email, password)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert WRONG in html
    assert "not exist" not in html and "unknown" not in html.lower()
    assert client.get("/staff/").status_code == 302


def test_email_is_not_case_sensitive(
    client: FlaskClient, auth: AuthActions, staff: dict[str, str]
) -> None:
    assert auth.login("  Editor@Example.ORG ").status_code == 303


def test_failed_sign_in_is_logged_without_the_password(
    auth: AuthActions, staff: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    auth.login(staff["editor"], "my-secret-guess-123")
    assert "staff sign-in failed for 'editor@example.org'" in caplog.text
    assert "my-secret-guess-123" not in caplog.text


def test_deactivated_account_cannot_sign_in_and_is_signed_out(
    app: Flask, client: FlaskClient, auth: AuthActions, staff: dict[str, str]
) -> None:
    auth.login(staff["editor"])
    with app.app_context():
        user = accounts.find(db.session, staff["editor"])
        assert user is not None
        accounts.deactivate(db.session, user, actor=accounts.COMMAND_LINE)
    assert client.get("/staff/").status_code == 302
    assert auth.login(staff["editor"]).status_code == 400


def test_new_password_ends_other_sessions(
    app: Flask, client: FlaskClient, auth: AuthActions, staff: dict[str, str]
) -> None:
    auth.login(staff["editor"])
    with app.app_context():
        user = accounts.find(db.session, staff["editor"])
        assert user is not None
        accounts.set_password(db.session, user, "a brand new passphrase", actor=user.email)
    assert client.get("/staff/").status_code == 302
    assert auth.login(staff["editor"], "a brand new passphrase").status_code == 303


@pytest.mark.parametrize(
    ("next_url", "landing"),
    [
        ("/staff/s/T-2345-6789", "/staff/s/T-2345-6789"),
        ("https://evil.example/", "/staff/"),
        ("//evil.example/staff/", "/staff/"),
        ("/staff/\\evil", "/staff/"),
        ("/", "/staff/"),
    ],
)
def test_sign_in_returns_only_to_our_own_staff_pages(
    app: Flask, client: FlaskClient, staff: dict[str, str], next_url: str, landing: str
) -> None:
    response = client.post(
        "/staff/login",
        data={"email": staff["editor"], "password": STAFF_PASSWORD, "next": next_url},
    )
    assert response.headers["Location"] == "/staff/login/code"
    response = client.post("/staff/login/code", data={"code": next_code(app, staff["editor"])})
    assert response.headers["Location"] == landing


def test_anonymous_is_sent_to_sign_in_and_back(client: FlaskClient, staff: dict[str, str]) -> None:
    response = client.get("/staff/?status=new")
    assert response.status_code == 302
    login_page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'name="next" type="hidden" value="/staff/?status=new"' in login_page


def test_passwords_are_stored_as_argon2_hashes(app: Flask, runner: FlaskCliRunner) -> None:
    result = runner.invoke(
        args=["intake", "create-user", "New@Example.org", "--role", "editor", "--password-stdin"],
        input="a long enough passphrase\n",
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.scalars(sa.select(StaffUser)).one()
    assert user.email == "new@example.org"
    assert user.password_hash.startswith("$argon2id$")
    assert "a long enough passphrase" not in user.password_hash


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["--role", "editor"], "short\n", "at least 12 characters"),
        (["--role", "chief"], "a long enough passphrase\n", "'chief' is not one of"),
    ],
)
def test_create_user_refusals(
    runner: FlaskCliRunner, args: list[str], stdin: str, message: str
) -> None:
    result = runner.invoke(
        args=["intake", "create-user", "x@example.org", *args, "--password-stdin"], input=stdin
    )
    assert result.exit_code != 0
    assert message in result.output


def test_create_user_twice_is_refused(runner: FlaskCliRunner) -> None:
    args = ["intake", "create-user", "x@example.org", "--role", "admin", "--password-stdin"]
    assert runner.invoke(args=args, input="a long enough passphrase\n").exit_code == 0
    again = runner.invoke(args=args, input="a long enough passphrase\n")
    assert again.exit_code == 1
    assert "exists already" in again.output


def test_reporter_account_is_linked_to_the_directory(runner: FlaskCliRunner) -> None:
    result = runner.invoke(
        args=[
            "intake",
            "create-user",
            "iryna.koval@example.org",
            "--role",
            "reporter",
            "--password-stdin",
        ],
        input="a long enough passphrase\n",
    )
    assert "linked to reporter Iryna Koval" in result.output


def test_reset_and_deactivate_commands(
    app: Flask,
    runner: FlaskCliRunner,
    client: FlaskClient,
    auth: AuthActions,
    staff: dict[str, str],
) -> None:
    reset = runner.invoke(
        args=["intake", "reset-password", staff["editor"], "--password-stdin"],
        input="another long passphrase\n",
    )
    assert reset.exit_code == 0
    assert auth.login(staff["editor"], "another long passphrase").status_code == 303
    off = runner.invoke(args=["intake", "deactivate-user", staff["editor"]])
    assert off.exit_code == 0
    assert client.get("/staff/").status_code == 302
    missing = runner.invoke(args=["intake", "deactivate-user", "nobody@example.org"])
    assert missing.exit_code == 1 and "No account" in missing.output


@pytest.fixture
def csrf_app(tmp_path: Path) -> Iterator[Flask]:
    # Accounts without a second factor here: this is about the CSRF token.
    app = make_app(tmp_path, WTF_CSRF_ENABLED=True, INTAKE_REQUIRE_2FA="admins")
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_sign_in_and_actions_need_the_csrf_token(csrf_app: Flask, password_hash: str) -> None:
    with csrf_app.app_context():
        db.session.add(
            StaffUser(
                email="e@example.org",
                role="editor",
                password_hash=password_hash,
                session_token="t" * 64,
            )
        )
        db.session.commit()
    client = csrf_app.test_client()
    refused = client.post(
        "/staff/login", data={"email": "e@example.org", "password": STAFF_PASSWORD}
    )
    assert refused.status_code == 400
    page = client.get("/staff/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert token
    signed_in = client.post(
        "/staff/login",
        data={"email": "e@example.org", "password": STAFF_PASSWORD, "csrf_token": token.group(1)},
    )
    assert signed_in.status_code == 303
    # Signing out without the token (e.g. from another site) does nothing.
    assert client.post("/staff/logout").status_code == 400
    assert client.get("/staff/").status_code == 200
