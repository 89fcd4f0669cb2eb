"""The admins' accounts page: who may open it, each change and its audit event, the
last-admin rules, and the emailed one-time link that sets a new account's password."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from html import unescape
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from intake import accounts
from intake.extensions import db
from intake.models import AuditEvent, OutboxEmail, StaffUser, utcnow
from tests.conftest import (
    ADMIN_TOTP,
    STAFF,
    STAFF_PASSWORD,
    AuthActions,
    add_staff,
    make_app,
    next_code,
)

NEW_PASSWORD = "a fresh and long passphrase"
LINK = re.compile(r"http://127\.0\.0\.1:5000(/staff/password/[\w.-]+)")
ROLES = ["anonymous", "world_reporter", "editor", "admin"]
# (method, path, expected status per role in ROLES order); account 2 is the editor.
ACCESS = [
    ("GET", "/staff/admin/", [302, 404, 404, 302]),
    ("GET", "/staff/admin/accounts", [302, 404, 404, 200]),
    ("POST", "/staff/admin/accounts/new", [302, 404, 404, 303]),
    ("POST", "/staff/admin/accounts/2/role", [302, 404, 404, 303]),
    ("POST", "/staff/admin/accounts/2/deactivate", [302, 404, 404, 303]),
    ("POST", "/staff/admin/accounts/2/reactivate", [302, 404, 404, 303]),
    ("POST", "/staff/admin/accounts/2/reset-2fa", [302, 404, 404, 303]),
    ("POST", "/staff/admin/accounts/2/send-link", [302, 404, 404, 303]),
]
CASES = [(m, p, role, codes[i]) for m, p, codes in ACCESS for i, role in enumerate(ROLES)]


def account(app: Flask, email: str) -> StaffUser:
    with app.app_context():
        user = accounts.find(db.session, email)
        assert user is not None
        db.session.expunge(user)
        return user


def audit(app: Flask) -> list[tuple[str, str, str, str]]:
    """Return every audit event as (actor, action, target, detail), oldest first."""
    with app.app_context():
        events = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id))
        return [(e.actor, e.action, e.target, e.detail) for e in events]


def emails_to(app: Flask, address: str) -> list[OutboxEmail]:
    with app.app_context():
        rows = db.session.scalars(
            sa.select(OutboxEmail).where(OutboxEmail.recipient == address).order_by(OutboxEmail.id)
        ).all()
        db.session.expunge_all()
        return list(rows)


def link_in(email: OutboxEmail) -> str:
    found = LINK.search(email.body)
    assert found is not None, email.body
    return found.group(1)


def said(client: FlaskClient, method: str, url: str, **data: str) -> str:
    """Make a request, follow its redirect, and return the page's text, unescaped."""
    response = client.open(url, method=method, data=data, follow_redirects=True)
    return unescape(response.get_data(as_text=True))


@pytest.fixture
def admin(app: Flask, auth: AuthActions, staff: dict[str, str]) -> FlaskClient:
    """A client signed in as the admin."""
    assert auth.login(staff["admin"]).status_code == 303
    return auth.client


def second_client(app: Flask, email: str) -> AuthActions:
    other = AuthActions(app, app.test_client())
    assert other.login(email).status_code == 303
    return other


@pytest.mark.parametrize(
    ("method", "path", "role", "expected"), CASES, ids=[f"{m} {p} as {r}" for m, p, r, _ in CASES]
)
def test_only_admins_reach_the_accounts_pages(
    client: FlaskClient,
    auth: AuthActions,
    staff: dict[str, str],
    method: str,
    path: str,
    role: str,
    expected: int,
) -> None:
    if role != "anonymous":
        assert auth.login(staff[role]).status_code == 303
    response = client.open(path, method=method, data={"role": "reporter"})
    assert response.status_code == expected
    if role == "anonymous":
        assert "/staff/login" in response.headers["Location"]


@pytest.mark.parametrize(("role", "shown"), [("editor", False), ("admin", True)])
def test_the_admin_link_is_shown_to_admins_only(
    auth: AuthActions, staff: dict[str, str], role: str, shown: bool
) -> None:
    auth.login(staff[role])
    inbox = auth.client.get("/staff/").get_data(as_text=True)
    assert ('href="/staff/admin/accounts"' in inbox) is shown


def account_rows(page: str) -> dict[str, str]:
    """Map each account's email to its row's text, tags taken out."""
    rows = re.findall(r'<tr id="account-\d+">(.*?)</tr>', page, re.S)
    texts = [" ".join(re.sub(r"<[^>]+>", " ", unescape(row)).split()) for row in rows]
    return {text.split()[0]: text for text in texts}


def test_the_page_lists_each_account_with_role_two_factor_sign_in_and_state(
    app: Flask, admin: FlaskClient, staff: dict[str, str]
) -> None:
    with app.app_context():
        editor = accounts.find(db.session, staff["editor"])
        assert editor is not None
        editor.totp_secret, editor.active = None, False
        db.session.commit()
    rows = account_rows(admin.get("/staff/admin/accounts").get_data(as_text=True))
    assert set(rows) == {email for email, _role in STAFF.values()}
    assert rows[staff["editor"]].startswith("editor@example.org editor off set never deactivated")
    signed_in = utcnow().strftime("%Y-%m-%d")
    assert rows[staff["admin"]].startswith(f"admin@example.org (you) admin on set {signed_in}")
    assert "reporter Iryna Koval" in rows[staff["world_reporter"]]


def test_creating_an_account_emails_a_link_that_sets_the_password_once(
    app: Flask, admin: FlaskClient, staff: dict[str, str]
) -> None:
    page = said(
        admin, "POST", "/staff/admin/accounts/new", email="New.Person@Example.org", role="editor"
    )
    assert "Created new.person@example.org (editor)" in page
    user = account(app, "new.person@example.org")
    assert (user.role, user.active, accounts.has_password(user)) == ("editor", True, False)
    with app.app_context():
        assert accounts.authenticate(db.session, user.email, NEW_PASSWORD) is None
    [invite] = emails_to(app, "new.person@example.org")
    assert (invite.purpose, invite.state, invite.submission_id) == (
        "account_invite",
        "pending",
        None,
    )
    assert staff["admin"] in invite.body and "for 72 hours" in invite.body
    link = link_in(invite)

    stranger = app.test_client()
    form = stranger.get(link)
    assert form.status_code == 200 and "new.person@example.org" in form.get_data(as_text=True)
    done = stranger.post(link, data={"password": NEW_PASSWORD, "password_again": NEW_PASSWORD})
    assert (done.status_code, done.headers["Location"]) == (303, "/staff/login")
    signing_in = stranger.post(
        "/staff/login", data={"email": "new.person@example.org", "password": NEW_PASSWORD}
    )
    assert signing_in.headers["Location"] == "/staff/2fa"  # enrols as every new account does
    again = stranger.post(
        link,
        data={"password": "another long passphrase", "password_again": "another long passphrase"},
    )
    assert again.status_code == 410
    assert "used already" in again.get_data(as_text=True)
    assert audit(app) == [
        (
            staff["admin"],
            "account.created",
            user.email,
            "editor, without a password (a link sets it)",
        ),
        (user.email, "account.password", user.email, "password set by link"),
    ]


@pytest.mark.parametrize(
    ("password", "again", "problem"),
    [
        ("short", "short", "at least 12 characters"),
        (NEW_PASSWORD, NEW_PASSWORD + "!", "The two passwords differ"),
    ],
)
def test_a_refused_password_leaves_the_link_usable(
    app: Flask, admin: FlaskClient, password: str, again: str, problem: str
) -> None:
    admin.post("/staff/admin/accounts/new", data={"email": "new@example.org", "role": "reporter"})
    link = link_in(emails_to(app, "new@example.org")[0])
    refused = app.test_client().post(link, data={"password": password, "password_again": again})
    assert refused.status_code == 400 and problem in refused.get_data(as_text=True)
    assert not accounts.has_password(account(app, "new@example.org"))
    assert app.test_client().get(link).status_code == 200


def test_an_expired_link_is_refused(app: Flask, admin: FlaskClient) -> None:
    admin.post("/staff/admin/accounts/new", data={"email": "new@example.org", "role": "reporter"})
    link = link_in(emails_to(app, "new@example.org")[0])
    app.config["INTAKE_INVITE_HOURS"] = 0
    for response in (
        app.test_client().get(link),
        app.test_client().post(
            link, data={"password": NEW_PASSWORD, "password_again": NEW_PASSWORD}
        ),
    ):
        assert response.status_code == 410
        assert "This link has expired: links last 0 hours" in unescape(
            response.get_data(as_text=True)
        )
    assert not accounts.has_password(account(app, "new@example.org"))


def link_status(app: Flask, token: str, hours: int, hours_later: float) -> int:
    """Say how the link page would answer a link so many hours after it was made."""
    with app.app_context():
        try:
            later = utcnow() + timedelta(hours=hours_later)
            accounts.account_for_link(db.session, token, "secret", hours, now=later)
        except accounts.LinkError as exc:
            return exc.status
    return 200


@pytest.mark.parametrize(("hours_later", "status"), [(0, 200), (71.9, 200), (72, 410), (100, 410)])
def test_a_link_lasts_its_hours(app: Flask, hours_later: float, status: int) -> None:
    with app.app_context():
        user = accounts.create(db.session, "x@example.org", "editor", NEW_PASSWORD)
        token = accounts.password_link_token(user, "secret")
    assert link_status(app, token, 72, hours_later) == status


PREFIX = "/staff/password/"


@pytest.mark.parametrize(
    "tampered",
    [
        # The signed part changed: its first character carries six whole bits.
        lambda token: ("A" if token[0] != "A" else "B") + token[1:],
        lambda token: "not-a-token",
        lambda token: "x" * 2000,
        lambda token: token.replace(".", "", 1),
    ],
    ids=["altered", "garbage", "very long", "cut"],
)
def test_a_link_that_is_not_ours_is_a_clear_400(
    app: Flask, admin: FlaskClient, tampered: Callable[[str], str]
) -> None:
    admin.post("/staff/admin/accounts/new", data={"email": "new@example.org", "role": "reporter"})
    token = link_in(emails_to(app, "new@example.org")[0]).removeprefix(PREFIX)
    response = app.test_client().get(PREFIX + tampered(token))
    assert response.status_code == 400
    assert "This link is not valid" in response.get_data(as_text=True)
    assert app.test_client().get(PREFIX + token).status_code == 200  # the real one still works


def test_a_new_link_replaces_the_one_that_was_lost(
    app: Flask, admin: FlaskClient, staff: dict[str, str]
) -> None:
    admin.post("/staff/admin/accounts/new", data={"email": "new@example.org", "role": "reporter"})
    lost = link_in(emails_to(app, "new@example.org")[0])
    user = account(app, "new@example.org")
    page = said(admin, "POST", f"/staff/admin/accounts/{user.id}/send-link")
    assert "A new link to set the password of new@example.org is in the outbox" in page
    fresh = link_in(emails_to(app, "new@example.org")[1])
    assert app.test_client().get(lost).status_code == 410
    assert app.test_client().get(fresh).status_code == 200
    assert audit(app)[-1] == (staff["admin"], "account.link_sent", "new@example.org", "")


def test_a_deactivated_account_gets_no_link_and_its_old_one_stops_working(
    app: Flask, admin: FlaskClient
) -> None:
    admin.post("/staff/admin/accounts/new", data={"email": "new@example.org", "role": "reporter"})
    link = link_in(emails_to(app, "new@example.org")[0])
    user = account(app, "new@example.org")
    admin.post(f"/staff/admin/accounts/{user.id}/deactivate")
    response = app.test_client().get(link)
    assert response.status_code == 410
    assert "This account is deactivated" in response.get_data(as_text=True)
    page = said(admin, "POST", f"/staff/admin/accounts/{user.id}/send-link")
    assert "new@example.org is deactivated: reactivate it first." in page
    assert len(emails_to(app, "new@example.org")) == 1


def test_a_link_for_someone_who_forgot_their_password_keeps_the_old_one_until_used(
    app: Flask, admin: FlaskClient, staff: dict[str, str]
) -> None:
    editor = account(app, staff["editor"])
    admin.post(f"/staff/admin/accounts/{editor.id}/send-link")
    [email] = emails_to(app, staff["editor"])
    assert email.purpose == "password_link"
    assert second_client(app, staff["editor"]).client.get("/staff/").status_code == 200
    app.test_client().post(
        link_in(email), data={"password": NEW_PASSWORD, "password_again": NEW_PASSWORD}
    )
    assert AuthActions(app, app.test_client()).login(staff["editor"]).status_code == 400
    assert (
        AuthActions(app, app.test_client()).login(staff["editor"], NEW_PASSWORD).status_code == 303
    )


@pytest.mark.parametrize(
    ("form", "problem"),
    [
        ({"email": "not an address", "role": "editor"}, "is not an email address"),
        ({"email": "editor@example.org", "role": "editor"}, "exists already"),
        (
            {"email": "new@example.org", "role": "chief"},
            "The role must be one of admin, editor, reporter",
        ),
        ({"email": "", "role": "editor"}, "Give the new account's email address"),
    ],
)
def test_a_refused_new_account_says_why_and_changes_nothing(
    app: Flask, admin: FlaskClient, staff: dict[str, str], form: dict[str, str], problem: str
) -> None:
    before = audit(app)
    assert problem in said(admin, "POST", "/staff/admin/accounts/new", **form)
    assert audit(app) == before
    assert emails_to(app, form["email"]) == []


def test_changing_a_role_signs_the_account_out_and_is_audited(
    app: Flask, admin: FlaskClient, staff: dict[str, str]
) -> None:
    editor = second_client(app, staff["editor"])
    target = account(app, staff["editor"])
    page = said(admin, "POST", f"/staff/admin/accounts/{target.id}/role", role="reporter")
    assert "editor@example.org is now reporter; their sessions are signed out" in page
    assert account(app, staff["editor"]).role == "reporter"
    assert editor.client.get("/staff/").status_code == 302
    assert audit(app)[-1] == (staff["admin"], "account.role", staff["editor"], "editor -> reporter")


def test_deactivating_and_reactivating_an_account(
    app: Flask, admin: FlaskClient, staff: dict[str, str]
) -> None:
    editor = second_client(app, staff["editor"])
    target = account(app, staff["editor"])
    assert "is deactivated and signed out" in said(
        admin, "POST", f"/staff/admin/accounts/{target.id}/deactivate"
    )
    assert editor.client.get("/staff/").status_code == 302
    assert AuthActions(app, app.test_client()).login(staff["editor"]).status_code == 400
    assert "is active again" in said(admin, "POST", f"/staff/admin/accounts/{target.id}/reactivate")
    assert AuthActions(app, app.test_client()).login(staff["editor"]).status_code == 303
    assert [a[:3] for a in audit(app)] == [
        (staff["admin"], "account.deactivated", staff["editor"]),
        (staff["admin"], "account.reactivated", staff["editor"]),
    ]


def test_resetting_two_factor_sign_in_signs_the_account_out(
    app: Flask, admin: FlaskClient, staff: dict[str, str]
) -> None:
    editor = second_client(app, staff["editor"])
    target = account(app, staff["editor"])
    said(admin, "POST", f"/staff/admin/accounts/{target.id}/reset-2fa")
    assert account(app, staff["editor"]).totp_secret is None
    assert editor.client.get("/staff/").status_code == 302
    assert audit(app)[-1] == (staff["admin"], "account.2fa_reset", staff["editor"], "")


@pytest.mark.parametrize(
    ("action", "form", "problem"),
    [
        ("role", {"role": "editor"}, "admin@example.org is the last active admin"),
        ("deactivate", {}, "You cannot deactivate your own account"),
        ("role", {"role": "admin"}, "admin@example.org is admin already"),
        ("role", {"role": "owner"}, "The role must be one of"),
        ("reactivate", {}, "admin@example.org is active already"),
    ],
)
def test_an_admin_cannot_leave_the_newsroom_without_an_admin(
    app: Flask,
    admin: FlaskClient,
    staff: dict[str, str],
    action: str,
    form: dict[str, str],
    problem: str,
) -> None:
    me = account(app, staff["admin"])
    assert problem in said(admin, "POST", f"/staff/admin/accounts/{me.id}/{action}", **form)
    assert (account(app, staff["admin"]).role, account(app, staff["admin"]).active) == (
        "admin",
        True,
    )
    assert audit(app) == []


def test_the_last_admin_can_step_down_once_there_is_another(
    app: Flask, admin: FlaskClient, staff: dict[str, str]
) -> None:
    editor = account(app, staff["editor"])
    me = account(app, staff["admin"])
    said(admin, "POST", f"/staff/admin/accounts/{editor.id}/role", role="admin")
    admin.post(f"/staff/admin/accounts/{me.id}/role", data={"role": "editor"})
    assert account(app, staff["admin"]).role == "editor"
    assert admin.get("/staff/admin/accounts").status_code == 302  # signed out by the change


def test_an_unknown_account_is_a_message_not_an_error(admin: FlaskClient) -> None:
    assert "There is no such account" in said(admin, "POST", "/staff/admin/accounts/999/deactivate")


def test_the_page_shows_the_audit_log_newest_first(
    app: Flask, admin: FlaskClient, staff: dict[str, str]
) -> None:
    editor = account(app, staff["editor"])
    admin.post(f"/staff/admin/accounts/{editor.id}/deactivate")
    admin.post(f"/staff/admin/accounts/{editor.id}/reactivate")
    page = admin.get("/staff/admin/accounts").get_data(as_text=True)
    log = page[page.index('id="audit"') :]
    assert log.index("account.reactivated") < log.index("account.deactivated")
    assert log.count(staff["admin"]) == 2


def test_the_outbox_shows_an_invitation_for_what_it_is(app: Flask, admin: FlaskClient) -> None:
    admin.post("/staff/admin/accounts/new", data={"email": "new@example.org", "role": "reporter"})
    page = admin.get("/staff/outbox?state=due").get_data(as_text=True)
    assert "<td>account invite</td>" in page and "new@example.org" in page


# --- The command line shares the same account code ------------------------------------------


@pytest.mark.parametrize(
    ("args", "output", "event", "detail"),
    [
        (
            ["set-role", "editor@example.org", "--role", "reporter"],
            "editor -> reporter",
            "account.role",
            "editor -> reporter",
        ),
        (
            ["deactivate-user", "editor@example.org"],
            "Deactivated editor@example.org.",
            "account.deactivated",
            "",
        ),
        (
            ["reset-2fa", "editor@example.org"],
            "Two-factor sign-in reset for",
            "account.2fa_reset",
            "",
        ),
    ],
)
def test_account_commands_are_audited_as_the_command_line(
    app: Flask,
    runner: FlaskCliRunner,
    staff: dict[str, str],
    args: list[str],
    output: str,
    event: str,
    detail: str,
) -> None:
    result = runner.invoke(args=["intake", *args])
    assert result.exit_code == 0, result.output
    assert output in result.output
    assert audit(app) == [("command line", event, "editor@example.org", detail)]


def test_reactivate_user_command(app: Flask, runner: FlaskCliRunner, staff: dict[str, str]) -> None:
    runner.invoke(args=["intake", "deactivate-user", staff["editor"]])
    result = runner.invoke(args=["intake", "reactivate-user", staff["editor"]])
    assert result.exit_code == 0 and "Reactivated editor@example.org." in result.output
    assert account(app, staff["editor"]).active
    again = runner.invoke(args=["intake", "reactivate-user", staff["editor"]])
    assert again.exit_code == 1 and "active already" in again.output


def test_create_user_command_is_audited(app: Flask, runner: FlaskCliRunner) -> None:
    runner.invoke(
        args=["intake", "create-user", "x@example.org", "--role", "admin", "--password-stdin"],
        input=f"{STAFF_PASSWORD}\n",
    )
    assert audit(app) == [
        ("command line", "account.created", "x@example.org", "admin, with a password")
    ]


def test_the_command_line_cannot_remove_the_last_admin_either(
    app: Flask, runner: FlaskCliRunner, staff: dict[str, str]
) -> None:
    for args in (
        ["deactivate-user", staff["admin"]],
        ["set-role", staff["admin"], "--role", "editor"],
    ):
        result = runner.invoke(args=["intake", *args])
        assert result.exit_code == 1 and "the last active admin" in result.output
    assert account(app, staff["admin"]).active


@pytest.fixture
def csrf_app(tmp_path: Path, password_hash: str) -> Iterator[Flask]:
    app = make_app(tmp_path, WTF_CSRF_ENABLED=True)
    add_staff(app, password_hash, admin_totp=ADMIN_TOTP)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def csrf_token(page: str) -> str:
    found = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


def test_actions_need_the_csrf_token(csrf_app: Flask) -> None:
    client = csrf_app.test_client()
    token = csrf_token(client.get("/staff/login").get_data(as_text=True))
    client.post(
        "/staff/login",
        data={"email": "admin@example.org", "password": STAFF_PASSWORD, "csrf_token": token},
    )
    # Signing in starts a new session, with a new token.
    token = csrf_token(client.get("/staff/login/code").get_data(as_text=True))
    code = next_code(csrf_app, "admin@example.org")
    signed_in = client.post("/staff/login/code", data={"code": code, "csrf_token": token})
    assert signed_in.status_code == 303
    editor = account(csrf_app, "editor@example.org")
    refused = client.post(f"/staff/admin/accounts/{editor.id}/deactivate")
    assert refused.status_code == 400
    assert account(csrf_app, "editor@example.org").active
    token = csrf_token(client.get("/staff/admin/accounts").get_data(as_text=True))
    done = client.post(f"/staff/admin/accounts/{editor.id}/deactivate", data={"csrf_token": token})
    assert done.status_code == 303
    assert not account(csrf_app, "editor@example.org").active
