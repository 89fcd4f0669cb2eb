"""The admins' webhooks page, the outbox page's webhooks, and purge of their payloads."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from intake import workflow
from intake.extensions import db
from intake.hookdelivery import deliver_hooks
from intake.models import ERASED, AuditEvent, OutboxHook, WebhookEndpoint, utcnow
from tests.conftest import ADMIN_TOTP, AuthActions, add_staff, make_submission
from tests.test_hooks import Receiver, receiver  # noqa: F401 - the receiver fixture

ALL = ["submission.created", "submission.routed"]


@pytest.fixture
def admin(app: Flask, password_hash: str) -> FlaskClient:
    """A client signed in as the admin."""
    add_staff(app, password_hash, admin_totp=ADMIN_TOTP)
    client = app.test_client()
    AuthActions(app, client).login("admin@example.org")
    return client


def test_an_admin_registers_an_endpoint_and_sees_its_secret_once(
    app: Flask,
    admin: FlaskClient,
    receiver: Receiver,  # noqa: F811
) -> None:
    page = admin.post("/staff/admin/webhooks", data={"url": receiver.url(), "events": ALL})
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    secret = text.split('<code id="new-secret">', 1)[1].split("<", 1)[0]
    assert secret.startswith("whsec_")
    with app.app_context():
        endpoint = db.session.scalars(sa.select(WebhookEndpoint)).one()
        assert endpoint.secret == secret and endpoint.events == ALL
    again = admin.get("/staff/admin/webhooks").get_data(as_text=True)
    assert secret not in again
    assert f"http://127.0.0.1:{receiver.port}/…" in again


def test_an_endpoints_path_is_neither_shown_nor_kept_in_the_audit_log(
    app: Flask,
    admin: FlaskClient,
    receiver: Receiver,  # noqa: F811
) -> None:
    url = receiver.url("/services/T000/B000/SECRETsecret?token=abc123")
    admin.post("/staff/admin/webhooks", data={"url": url, "events": ALL})
    with app.app_context():
        endpoint_id = db.session.scalars(sa.select(WebhookEndpoint.id)).one()
    admin.post(f"/staff/admin/webhooks/{endpoint_id}/remove")
    page = admin.get("/staff/admin/webhooks").get_data(as_text=True)
    with app.app_context():
        audit = " ".join(db.session.scalars(sa.select(AuditEvent.detail)))
    for where in (page, audit):
        assert "SECRETsecret" not in where and "abc123" not in where
    assert "127.0.0.1" in audit


def test_a_webhook_id_too_large_for_the_database_is_404(admin: FlaskClient) -> None:
    assert admin.post("/staff/admin/webhooks/99999999999999999999/remove").status_code == 404


@pytest.mark.parametrize(
    ("form", "said"),
    [
        ({"url": "ftp://example.org/hook", "events": ALL}, "must start with https://"),
        ({"url": "http://127.0.0.1:9/hook", "events": []}, "at least one event"),
    ],
)
def test_a_bad_endpoint_is_refused_with_the_reason(
    app: Flask, admin: FlaskClient, form: dict[str, object], said: str
) -> None:
    page = admin.post("/staff/admin/webhooks", data=form)
    assert page.status_code == 400
    assert said in page.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(WebhookEndpoint)) == 0


def test_a_private_address_is_refused_unless_allowed(app: Flask, admin: FlaskClient) -> None:
    app.config["INTAKE_WEBHOOK_ALLOW_PRIVATE"] = False
    page = admin.post("/staff/admin/webhooks", data={"url": "http://127.0.0.1:9/", "events": ALL})
    assert page.status_code == 400
    assert "loopback" in page.get_data(as_text=True)


def test_only_admins_see_the_webhooks_page(app: Flask, password_hash: str) -> None:
    add_staff(app, password_hash, admin_totp=ADMIN_TOTP)
    client = app.test_client()
    AuthActions(app, client).login("editor@example.org")
    assert client.get("/staff/admin/webhooks").status_code == 404


def test_removing_an_endpoint_cancels_what_waits(
    app: Flask,
    admin: FlaskClient,
    receiver: Receiver,  # noqa: F811
) -> None:
    admin.post("/staff/admin/webhooks", data={"url": receiver.url(), "events": ALL})
    make_submission(app)
    with app.app_context():
        endpoint_id = db.session.scalars(sa.select(WebhookEndpoint.id)).one()
    admin.post(f"/staff/admin/webhooks/{endpoint_id}/remove")
    with app.app_context():
        states = db.session.scalars(sa.select(OutboxHook.state)).all()
    assert states == ["cancelled", "cancelled"]


def test_the_outbox_page_shows_a_failing_webhook_by_host_only(
    app: Flask,
    admin: FlaskClient,
    receiver: Receiver,  # noqa: F811
) -> None:
    admin.post("/staff/admin/webhooks", data={"url": receiver.url("/secret-path"), "events": ALL})
    make_submission(app)
    receiver.answer(500, 500)
    with app.app_context():
        deliver_hooks(db.session, "test", allow_private=True, timeout=5)
    page = admin.get("/staff/outbox?state=retrying").get_data(as_text=True)
    assert "submission.routed" in page and "HTTP 500" in page
    assert "127.0.0.1" in page and "secret-path" not in page


def test_purge_blanks_payloads_and_cancels_what_waits(
    app: Flask,
    admin: FlaskClient,
    receiver: Receiver,  # noqa: F811
) -> None:
    admin.post(
        "/staff/admin/webhooks", data={"url": receiver.url(), "events": ALL, "with_text": "y"}
    )
    reference = make_submission(app)
    with app.app_context():
        receiver.answer(200, 500)  # one sent, one waiting to be tried again
        deliver_hooks(db.session, "test", allow_private=True, timeout=5)
        workflow.purge_reference(db.session, Path(app.config["INTAKE_UPLOADS"]), reference)
        rows = db.session.scalars(sa.select(OutboxHook).order_by(OutboxHook.id)).all()
        assert [r.payload for r in rows] == [ERASED, ERASED]
        assert sorted(r.state for r in rows) == ["cancelled", "sent"]
        assert (
            deliver_hooks(
                db.session, "test", allow_private=True, timeout=5, now=utcnow() + timedelta(days=2)
            ).claimed
            == 0
        )


def test_an_editor_sends_a_failed_webhook_again(
    app: Flask,
    admin: FlaskClient,
    receiver: Receiver,  # noqa: F811
) -> None:
    admin.post(
        "/staff/admin/webhooks", data={"url": receiver.url(), "events": ["submission.created"]}
    )
    make_submission(app)
    with app.app_context():
        db.session.execute(sa.update(OutboxHook).values(state="failed", attempts=10))
        db.session.commit()
        hook_id = db.session.scalars(sa.select(OutboxHook.id)).one()
    page = admin.get("/staff/outbox?state=failed").get_data(as_text=True)
    assert f"/staff/outbox/hooks/{hook_id}/send-again" in page
    admin.post(f"/staff/outbox/hooks/{hook_id}/send-again", data={"state": "failed"})
    with app.app_context():
        assert deliver_hooks(db.session, "test", allow_private=True, timeout=5).sent == 1
    assert len(receiver.requests) == 1
    again = admin.post(f"/staff/outbox/hooks/{hook_id}/send-again", data={"state": "failed"})
    assert "not failed" in admin.get(again.headers["Location"]).get_data(as_text=True)
