"""Staff sessions: the code step cannot be brute-forced, and a session ends when it should."""

from __future__ import annotations

import time
from pathlib import Path

import pyotp
import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from intake import accounts
from intake.extensions import db, limiter
from intake.models import StaffUser
from tests.conftest import ADMIN_TOTP, STAFF, STAFF_PASSWORD, AuthActions, make_app, next_code

EDITOR = STAFF["editor"][0]


def wrong_code(app: Flask) -> str:
    """Return a well-formed code that is not the right one now."""
    right = {next_code(app, EDITOR), pyotp.TOTP(ADMIN_TOTP).now()}
    return next(c for c in ("000000", "111111", "222222") if c not in right)


def password_step(client: FlaskClient) -> None:
    response = client.post("/staff/login", data={"email": EDITOR, "password": STAFF_PASSWORD})
    assert response.headers["Location"] == "/staff/login/code"


# --- 1. The code step -----------------------------------------------------------------


def test_five_wrong_codes_end_the_sign_in_whatever_the_form_says(
    app: Flask, client: FlaskClient, staff: dict[str, str]
) -> None:
    password_step(client)
    for number in range(4):
        # A client-chosen email field must not give each try a fresh limit or counter.
        data = {"code": wrong_code(app), "email": f"decoy{number}@example.org"}
        assert client.post("/staff/login/code", data=data).status_code == 400
    fifth = client.post("/staff/login/code", data={"code": wrong_code(app)})
    assert fifth.status_code == 303 and fifth.headers["Location"] == "/staff/login"
    # Even the right code no longer opens it: back to the password.
    right = client.post("/staff/login/code", data={"code": next_code(app, EDITOR)})
    assert right.headers["Location"] == "/staff/login"
    assert client.get("/staff/").status_code == 302


def test_a_replayed_cookie_of_an_ended_sign_in_opens_nothing(
    app: Flask, client: FlaskClient, staff: dict[str, str]
) -> None:
    password_step(client)
    cookie = client.get_cookie("session")
    assert cookie is not None
    for _ in range(5):
        client.post("/staff/login/code", data={"code": wrong_code(app)})
    replay = app.test_client()
    replay.set_cookie("session", cookie.value)
    response = replay.post("/staff/login/code", data={"code": next_code(app, EDITOR)})
    assert response.headers["Location"] == "/staff/login"


def test_a_new_password_step_starts_a_new_count(
    app: Flask, client: FlaskClient, staff: dict[str, str]
) -> None:
    password_step(client)
    for _ in range(4):
        client.post("/staff/login/code", data={"code": wrong_code(app)})
    password_step(client)
    response = client.post("/staff/login/code", data={"code": next_code(app, EDITOR)})
    assert response.headers["Location"] == "/staff/"


def test_code_tries_are_limited_per_client(tmp_path: Path, password_hash: str) -> None:
    app = make_app(
        tmp_path,
        RATELIMIT_ENABLED=True,
        INTAKE_LOGIN_LIMIT_CLIENT="4 per hour",
        INTAKE_LOGIN_LIMIT_ACCOUNT="100 per hour",
    )
    limiter.reset()
    from tests.conftest import add_staff

    add_staff(app, password_hash, admin_totp=ADMIN_TOTP)
    client = app.test_client()
    env = {"REMOTE_ADDR": "203.0.113.50"}
    client.post(
        "/staff/login", data={"email": EDITOR, "password": STAFF_PASSWORD}, environ_base=env
    )
    statuses = [
        client.post(
            "/staff/login/code", data={"code": wrong_code(app)}, environ_base=env
        ).status_code
        for _ in range(5)
    ]
    limiter.reset()
    assert statuses == [400, 400, 400, 400, 429]


# --- 12. A code cannot be used twice, even by two requests at once ----------------------


def test_two_racing_uses_of_one_code_let_only_one_in(app: Flask, staff: dict[str, str]) -> None:
    code = next_code(app, EDITOR)
    with app.app_context():
        first_session = db.session
        first = first_session.scalars(sa.select(StaffUser).where(StaffUser.email == EDITOR)).one()
        engine = db.engine
        with sa.orm.Session(engine) as second_session:
            # Both requests loaded the account before either used the code.
            second = second_session.scalars(
                sa.select(StaffUser).where(StaffUser.email == EDITOR)
            ).one()
            assert accounts.verify_second_factor(first_session, first, code) is True
            assert accounts.verify_second_factor(second_session, second, code) is False


# --- 5. Sign-out and timeouts ------------------------------------------------------------


def test_the_old_cookie_opens_nothing_after_sign_out(
    app: Flask, client: FlaskClient, auth: AuthActions, staff: dict[str, str]
) -> None:
    auth.login(EDITOR)
    cookie = client.get_cookie("session")
    assert cookie is not None and client.get("/staff/").status_code == 200
    assert auth.logout().status_code == 303
    thief = app.test_client()
    thief.set_cookie("session", cookie.value)
    assert thief.get("/staff/").status_code == 302


@pytest.mark.parametrize(
    ("key", "age"),
    [("seen_at", 61 * 60), ("signed_in_at", 12 * 3600 + 60)],
    ids=["idle over 60 minutes", "signed in over 12 hours ago"],
)
def test_a_session_ends_after_its_idle_or_absolute_limit(
    client: FlaskClient, auth: AuthActions, staff: dict[str, str], key: str, age: int
) -> None:
    auth.login(EDITOR)
    with client.session_transaction() as session:
        session[key] = time.time() - age
    response = client.get("/staff/")
    assert response.status_code == 302 and response.headers["Location"] == "/staff/login"
    page = client.get("/staff/login").get_data(as_text=True)
    assert "signed out after a while without activity" in page
    assert client.get("/staff/").status_code == 302


def test_activity_keeps_a_session_alive(
    client: FlaskClient, auth: AuthActions, staff: dict[str, str]
) -> None:
    auth.login(EDITOR)
    with client.session_transaction() as session:
        session["seen_at"] = time.time() - 59 * 60
    assert client.get("/staff/").status_code == 200
    assert client.get("/staff/").status_code == 200


def test_the_idle_limit_is_a_setting(tmp_path: Path, password_hash: str) -> None:
    app = make_app(tmp_path, INTAKE_STAFF_IDLE_MINUTES=5)
    from tests.conftest import add_staff

    add_staff(app, password_hash, admin_totp=ADMIN_TOTP)
    client = app.test_client()
    AuthActions(app, client).login(EDITOR)
    with client.session_transaction() as session:
        session["seen_at"] = time.time() - 6 * 60
    assert client.get("/staff/").status_code == 302
