"""Findings of the review of the triage and admin pages, each kept fixed as a class."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from intake.delivery import deliver_due
from intake.extensions import db, mail
from intake.models import ERASED, Reporter, StaffUser, Submission, utcnow
from intake.text import ascii_digits, whole_number
from tests.conftest import (
    ADMIN_TOTP,
    DESK_HOURS,
    EXAMPLE_NEWSROOM,
    STAFF_PASSWORD,
    AuthActions,
    SMTPSink,
    add_staff,
    make_submission,
)
from tests.test_admin_accounts import emails_to, link_in

# Digits that str.isdigit() accepts and int() refuses, and other non-ASCII digits.
ODD_NUMBERS = ["²", "12²", "١٢", "１２", "9" * 40, "-1", " 1"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [("0", 0), ("42", 42), ("", None), ("²", None), ("١٢", None), ("４２", None), ("4 2", None)],
)
def test_a_whole_number_is_ascii_digits_only(value: str, expected: int | None) -> None:
    assert whole_number(value) == expected


def test_a_passphrase_typed_in_other_digits_reads_as_ascii() -> None:
    assert ascii_digits("١٢٣٤ ５６-78²") == "12345678"


@pytest.mark.parametrize("odd", ODD_NUMBERS)
def test_odd_numbers_in_the_url_or_a_form_are_never_a_500(
    app: Flask, client: FlaskClient, auth: AuthActions, staff: dict[str, str], odd: str
) -> None:
    reference = make_submission(app, now=DESK_HOURS)
    auth.login(staff["editor"])
    assert client.get("/staff/", query_string={"after": odd}).status_code == 200
    assert client.get("/staff/inbox/new", query_string={"last": odd}).status_code == 400
    response = client.post(f"/staff/s/{reference}/note", data={"text": "A note.", "version": odd})
    assert response.status_code == 303  # an unreadable version is not checked, not a crash
    response = client.post(
        "/staff/bulk", data={"pick": f"{reference}:{odd}", "action": "status:in_progress"}
    )
    assert response.status_code == 303
    response = client.post(f"/staff/s/{reference}/reply/canned", data={"canned": odd, "text": ""})
    assert response.status_code == 400


@pytest.mark.parametrize("code", ["12345²", "１２３４５６", "١٢٣٤٥٦"])
def test_a_sign_in_code_in_odd_digits_is_wrong_not_a_500(
    app: Flask, client: FlaskClient, staff: dict[str, str], code: str
) -> None:
    client.post("/staff/login", data={"email": staff["editor"], "password": STAFF_PASSWORD})
    response = client.post("/staff/login/code", data={"code": code})
    assert response.status_code in (200, 400)
    assert "Code from your authenticator app" in response.get_data(as_text=True)


def test_the_last_day_there_is_as_until_is_refused_not_a_500(
    client: FlaskClient, auth: AuthActions, staff: dict[str, str]
) -> None:
    auth.login(staff["editor"])
    response = client.get("/staff/?until=9999-12-31")
    assert response.status_code == 200
    assert "until must be before 9999-12-31; ignored." in response.get_data(as_text=True)
    assert client.get("/staff/inbox/new?until=9999-12-31&last=0").status_code == 200


def test_the_inbox_poll_does_not_keep_an_idle_session_alive(
    client: FlaskClient, auth: AuthActions, staff: dict[str, str]
) -> None:
    auth.login(staff["editor"])
    with client.session_transaction() as session:
        session["seen_at"] = time.time() - 59 * 60
    for _ in range(3):
        assert client.get("/staff/inbox/new?last=0").status_code == 200
    with client.session_transaction() as session:
        session["seen_at"] -= 2 * 60  # two more idle minutes, the poll still asking
    assert client.get("/staff/inbox/new?last=0").status_code == 302
    assert client.get("/staff/").status_code == 302


def test_a_reporter_is_not_told_the_newsrooms_total(
    app: Flask, client: FlaskClient, auth: AuthActions, staff: dict[str, str]
) -> None:
    world = make_submission(app, now=DESK_HOURS)
    make_submission(app, now=DESK_HOURS, topic="us-politics")
    auth.login(staff["world_reporter"])
    page = client.get("/staff/").get_data(as_text=True)
    with app.app_context():
        world_id = db.session.scalar(sa.select(Submission.id).where(Submission.reference == world))
    assert f"last={world_id}" in page


def test_a_reporters_bulk_move_off_their_desks_is_left_undone_and_said(
    app: Flask, client: FlaskClient, auth: AuthActions, staff: dict[str, str]
) -> None:
    reference = make_submission(app, now=DESK_HOURS)
    auth.login(staff["world_reporter"])
    with app.app_context():
        politics = db.session.scalar(
            sa.select(Reporter.slug).where(Reporter.email == staff["politics_reporter"])
        )
        assert politics is not None
    response = client.post(
        "/staff/bulk",
        data={"pick": f"{reference}:1", "action": f"assign:reporter:{politics}"},
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    assert "Done for 0." in page and "is outside your desks" in page
    with app.app_context():
        still = db.session.scalar(
            sa.select(Submission.assignee_id).where(Submission.reference == reference)
        )
    assert still is None


@pytest.fixture
def admin_app(mail_app: Flask, password_hash: str) -> Iterator[tuple[Flask, FlaskClient]]:
    add_staff(mail_app, password_hash, admin_totp=ADMIN_TOTP)
    auth = AuthActions(mail_app, mail_app.test_client())
    assert auth.login("admin@example.org").status_code == 303
    yield mail_app, auth.client


def test_a_password_link_is_erased_from_the_outbox_once_sent(
    admin_app: tuple[Flask, FlaskClient], smtp: SMTPSink
) -> None:
    app, admin = admin_app
    admin.post("/staff/admin/accounts/new", data={"email": "new@example.org", "role": "editor"})
    [queued] = emails_to(app, "new@example.org")
    link = link_in(queued)
    with app.app_context():
        deliver_due(db.session, mail, "test", now=utcnow())
    assert any(link in message.text() for message in smtp.received)  # the person got it
    [sent] = emails_to(app, "new@example.org")
    assert (sent.state, sent.body, sent.raw) == ("sent", ERASED, None)


def test_a_failed_password_link_is_erased_and_not_sent_again(
    admin_app: tuple[Flask, FlaskClient], smtp: SMTPSink
) -> None:
    app, admin = admin_app
    admin.post("/staff/admin/accounts/new", data={"email": "new@example.org", "role": "editor"})
    smtp.refuse.add("new@example.org")
    with app.app_context():
        deliver_due(db.session, mail, "test", now=utcnow())
    [failed] = emails_to(app, "new@example.org")
    assert (failed.state, failed.body, failed.raw) == ("failed", ERASED, None)
    response = admin.post(f"/staff/outbox/{failed.id}/send-again", follow_redirects=True)
    assert "Send a new link from the accounts page instead." in response.get_data(as_text=True)


def test_reactivating_an_account_does_not_bring_its_old_link_back(
    admin_app: tuple[Flask, FlaskClient],
) -> None:
    app, admin = admin_app
    admin.post("/staff/admin/accounts/new", data={"email": "new@example.org", "role": "editor"})
    link = link_in(emails_to(app, "new@example.org")[0])
    with app.app_context():
        user_id = db.session.scalar(
            sa.select(StaffUser.id).where(StaffUser.email == "new@example.org")
        )
    admin.post(f"/staff/admin/accounts/{user_id}/deactivate")
    admin.post(f"/staff/admin/accounts/{user_id}/reactivate")
    response = app.test_client().get(link)
    assert response.status_code == 410
    assert "used already, or a newer one was sent" in response.get_data(as_text=True)


def test_a_new_link_for_someone_with_a_password_ends_the_old_one(
    admin_app: tuple[Flask, FlaskClient],
) -> None:
    app, admin = admin_app
    with app.app_context():
        editor_id = db.session.scalar(
            sa.select(StaffUser.id).where(StaffUser.email == "editor@example.org")
        )
    admin.post(f"/staff/admin/accounts/{editor_id}/send-link")
    admin.post(f"/staff/admin/accounts/{editor_id}/send-link")
    first, second = emails_to(app, "editor@example.org")
    assert app.test_client().get(link_in(first)).status_code == 410
    assert app.test_client().get(link_in(second)).status_code == 200


NESTED = "a = " + "[" * 5000 + "]" * 5000 + "\n"


@pytest.mark.parametrize(
    ("content", "said"),
    [(NESTED.encode(), "nested too deeply")],
)
def test_a_crafted_directory_upload_is_refused_with_a_reason(
    client: FlaskClient, auth: AuthActions, staff: dict[str, str], content: bytes, said: str
) -> None:
    auth.login(staff["admin"])
    response = client.post(
        "/staff/admin/newsroom/upload",
        data={"file": (io.BytesIO(content), "newsroom.toml")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert said in response.get_data(as_text=True)


def test_a_directory_file_with_a_byte_order_mark_is_read(
    client: FlaskClient, auth: AuthActions, staff: dict[str, str]
) -> None:
    auth.login(staff["admin"])
    content = b"\xef\xbb\xbf" + Path(EXAMPLE_NEWSROOM).read_bytes()
    response = client.post(
        "/staff/admin/newsroom/upload",
        data={"file": (io.BytesIO(content), "newsroom.toml")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]


def test_an_untouched_open_item_is_overdue_but_one_a_person_moved_is_not(
    app: Flask, client: FlaskClient, auth: AuthActions, staff: dict[str, str]
) -> None:
    late = utcnow() - timedelta(hours=5)
    untouched = make_submission(app, now=late)
    auth.login(staff["editor"])
    client.post(f"/staff/s/{untouched}/status", data={"status": "in_progress"})
    page = client.get("/staff/?view=all&flag=overdue").get_data(as_text=True)
    assert untouched not in page.split('<table class="inbox">', 1)[1]
