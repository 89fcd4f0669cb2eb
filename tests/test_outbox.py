"""The outbox, visible: the staff page and its actions, the banner, /healthz and /metrics."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from intake import create_app
from intake.delivery import deliver_due
from intake.extensions import db, mail
from intake.models import OutboxEmail, utcnow
from tests.conftest import (
    ADMIN_TOTP,
    STAFF,
    STAFF_PASSWORD,
    AuthActions,
    SMTPSink,
    add_staff,
    get_submission,
    make_app,
    make_submission,
    queue_emails,
    settings,
)

TOKEN = "a-long-random-metrics-token"  # noqa: S105 - a test value


@pytest.fixture
def desk(mail_app: Flask, password_hash: str) -> Iterator[tuple[Flask, AuthActions]]:
    """The mail app with staff accounts, and a client to sign them in."""
    add_staff(mail_app, password_hash, admin_totp=ADMIN_TOTP)
    mail_app.config["INTAKE_METRICS_TOKEN"] = TOKEN
    yield mail_app, AuthActions(mail_app, mail_app.test_client())


def deliver(app: Flask, later: timedelta = timedelta(0)) -> Any:
    with app.app_context():
        report = deliver_due(db.session, mail, "test", now=utcnow() + later)
        db.session.remove()
        return report


def outbox_rows(app: Flask) -> dict[str, OutboxEmail]:
    with app.app_context():
        rows = db.session.scalars(sa.select(OutboxEmail).order_by(OutboxEmail.id)).all()
        db.session.expunge_all()
        return {row.recipient: row for row in rows}


def metrics(client: FlaskClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain")
    values = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            values[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return values


TEN = [f"reporter{n}@example.org" for n in range(10)]


def test_one_refused_and_one_deferred_of_ten(
    desk: tuple[Flask, AuthActions], smtp: SMTPSink
) -> None:
    """The issue's "done when": 8 delivered, 1 failed with its own 550, 1 retried and sent."""
    app, auth = desk
    refused, deferred = TEN[3], TEN[6]
    smtp.refuse.add(refused)
    smtp.defer.add(deferred)
    reference = queue_emails(app, TEN)
    report = deliver(app)
    assert (report.sent, report.failed, report.retried) == (8, 1, 1)
    rows = outbox_rows(app)
    assert rows[refused].state == "failed" and rows[refused].last_error.startswith("550")
    assert (rows[deferred].state, rows[deferred].attempts) == ("pending", 1)

    auth.login(STAFF["editor"][0])
    failed_page = auth.client.get("/staff/outbox?state=failed").get_data(as_text=True)
    assert "550 5.1.1 &lt;(address)&gt;: Recipient address rejected" in failed_page
    assert "reporter3@example.org" in failed_page  # a staff recipient is shown as such
    assert f'href="/staff/s/{reference}"' in failed_page
    assert "reporter4@example.org" not in failed_page  # only the failed one is listed
    retrying_page = auth.client.get("/staff/outbox?state=retrying").get_data(as_text=True)
    assert "reporter6@example.org" in retrying_page and "450 4.2.0" in retrying_page
    inbox = auth.client.get("/staff/").get_data(as_text=True)
    assert "Email trouble:" in inbox and "1 email failed in the last 24 hours" in inbox
    assert metrics(auth.client)[("intake_outbox_failed_24h", ())] == 1

    smtp.defer.clear()
    assert deliver(app, timedelta(minutes=1)).sent == 1
    assert outbox_rows(app)[deferred].state == "sent"
    delivered = sorted(r for m in smtp.received for r in m.rcpt_tos)
    assert delivered == sorted(r for r in TEN if r != refused)
    sent_page = auth.client.get("/staff/outbox?state=sent").get_data(as_text=True)
    assert sent_page.count("reporter notice") == 9


def test_reporters_get_404_for_the_outbox_and_its_actions(
    desk: tuple[Flask, AuthActions], smtp: SMTPSink
) -> None:
    app, auth = desk
    queue_emails(app, TEN[:1])
    auth.login(STAFF["world_reporter"][0])
    assert auth.client.get("/staff/outbox").status_code == 404
    assert auth.client.post("/staff/outbox/1/cancel").status_code == 404
    assert auth.client.post("/staff/outbox/1/send-again").status_code == 404
    assert "/staff/outbox" not in auth.client.get("/staff/").get_data(as_text=True)
    assert outbox_rows(app)[TEN[0]].state == "pending"


def test_signed_out_visitors_are_sent_to_sign_in(desk: tuple[Flask, AuthActions]) -> None:
    _app, auth = desk
    response = auth.client.get("/staff/outbox")
    assert response.status_code == 302 and "/staff/login" in response.headers["Location"]


def test_send_again_makes_a_failed_email_due_and_says_so_in_the_history(
    desk: tuple[Flask, AuthActions], smtp: SMTPSink
) -> None:
    app, auth = desk
    smtp.refuse.add(TEN[0])
    reference = queue_emails(app, TEN[:1])
    deliver(app)
    row = outbox_rows(app)[TEN[0]]
    auth.login(STAFF["editor"][0])
    response = auth.client.post(f"/staff/outbox/{row.id}/send-again", data={"state": "failed"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/staff/outbox?state=failed")
    again = outbox_rows(app)[TEN[0]]
    assert (again.state, again.attempts, again.failed_at) == ("pending", 0, None)
    [event] = [e for e in get_submission(app, reference).events if e.kind == "email_resent"]
    assert event.actor == STAFF["editor"][0]
    assert "after 1 failed attempt(s); the server's last answer was 550" in event.detail
    smtp.refuse.clear()
    assert deliver(app).sent == 1
    # Sending again what is not failed is refused with a reason, and changes nothing.
    response = auth.client.post(f"/staff/outbox/{row.id}/send-again", follow_redirects=True)
    assert "Only a failed email can be sent again" in response.get_data(as_text=True)
    assert outbox_rows(app)[TEN[0]].state == "sent"


def test_cancel_stops_a_waiting_email_for_good(
    desk: tuple[Flask, AuthActions], smtp: SMTPSink
) -> None:
    app, auth = desk
    reference = queue_emails(app, TEN[:2])
    first = outbox_rows(app)[TEN[0]]
    auth.login(STAFF["admin"][0])
    due_page = auth.client.get("/staff/outbox?state=due").get_data(as_text=True)
    assert f"/staff/outbox/{first.id}/cancel" in due_page
    assert auth.client.post(f"/staff/outbox/{first.id}/cancel").status_code == 303
    assert deliver(app).sent == 1
    rows = outbox_rows(app)
    assert rows[TEN[0]].state == "cancelled" and rows[TEN[0]].cancelled_at is not None
    assert [m.rcpt_tos for m in smtp.received] == [[TEN[1]]]
    kinds = [(e.kind, e.actor) for e in get_submission(app, reference).events]
    assert ("email_cancelled", STAFF["admin"][0]) in kinds


def test_an_email_a_worker_holds_cannot_be_cancelled(
    desk: tuple[Flask, AuthActions], smtp: SMTPSink
) -> None:
    app, auth = desk
    queue_emails(app, TEN[:1])
    row = outbox_rows(app)[TEN[0]]
    with app.app_context():
        db.session.execute(
            sa.update(OutboxEmail).values(
                claimed_by="other/worker", lease_until=utcnow() + timedelta(minutes=1)
            )
        )
        db.session.commit()
    auth.login(STAFF["editor"][0])
    response = auth.client.post(f"/staff/outbox/{row.id}/cancel", follow_redirects=True)
    assert "a worker is sending it right now" in response.get_data(as_text=True)
    assert outbox_rows(app)[TEN[0]].state == "pending"


def test_no_such_email_is_a_message_not_an_error(desk: tuple[Flask, AuthActions]) -> None:
    _app, auth = desk
    auth.login(STAFF["editor"][0])
    for action in ("cancel", "send-again"):
        response = auth.client.post(f"/staff/outbox/999999/{action}", follow_redirects=True)
        assert response.status_code == 200
        assert "There is no such email." in response.get_data(as_text=True)
    page = auth.client.get("/staff/outbox?state=nonsense")
    assert page.status_code == 200
    assert "Unknown state: showing the failed emails." in page.get_data(as_text=True)


def test_the_banner_shows_for_mail_waiting_too_long(
    desk: tuple[Flask, AuthActions],
) -> None:
    app, auth = desk
    queue_emails(app, TEN[:2])
    auth.login(STAFF["editor"][0])
    assert "Email trouble" not in auth.client.get("/staff/").get_data(as_text=True)
    with app.app_context():
        db.session.execute(
            sa.update(OutboxEmail).values(next_attempt_at=utcnow() - timedelta(minutes=6))
        )
        db.session.commit()
    page = auth.client.get("/staff/").get_data(as_text=True)
    assert "2 emails waiting; the oldest for 6 min." in page
    assert 'href="/staff/outbox?state=due"' in page
    app.config["INTAKE_OUTBOX_ALERT_SECONDS"] = 600
    assert "Email trouble" not in auth.client.get("/staff/").get_data(as_text=True)


def test_reporters_see_no_banner(desk: tuple[Flask, AuthActions], smtp: SMTPSink) -> None:
    app, auth = desk
    smtp.refuse.add(TEN[0])
    queue_emails(app, TEN[:1])
    deliver(app)
    auth.login(STAFF["world_reporter"][0])
    assert "Email trouble" not in auth.client.get("/staff/").get_data(as_text=True)


def test_a_readers_address_without_consent_is_not_shown(
    desk: tuple[Flask, AuthActions], smtp: SMTPSink
) -> None:
    app, auth = desk
    make_submission(app, email="olena@example.org", consent_contact=False)
    make_submission(app, email="petro@example.org", consent_contact=True)
    auth.login(STAFF["editor"][0])
    page = auth.client.get("/staff/outbox?state=due").get_data(as_text=True)
    assert "olena@example.org" not in page
    assert "address not shown: no consent to be contacted" in page
    assert "petro@example.org" in page


def test_healthz_reports_the_outbox(desk: tuple[Flask, AuthActions], smtp: SMTPSink) -> None:
    app, auth = desk
    smtp.refuse.add(TEN[0])
    queue_emails(app, TEN[:1])
    deliver(app)
    queue_emails(app, TEN[1:3])
    with app.app_context():
        db.session.execute(
            sa.update(OutboxEmail)
            .where(OutboxEmail.state == "pending")
            .values(next_attempt_at=utcnow() - timedelta(seconds=90))
        )
        db.session.commit()
    body = auth.client.get("/healthz").json
    assert body is not None
    assert body["database"] == "ok"
    outbox = body["outbox"]
    assert (outbox["due"], outbox["failed_24h"], outbox["retrying"]) == (2, 1, 0)
    assert 90 <= outbox["oldest_due_seconds"] < 120
    assert "@" not in str(body)


@pytest.mark.parametrize(
    ("token", "header", "status"),
    [
        ("", f"Bearer {TOKEN}", 404),  # not configured: nothing there
        (TOKEN, "", 401),
        (TOKEN, "Bearer wrong", 401),
        (TOKEN, f"bearer {TOKEN}x", 401),
        (TOKEN, TOKEN, 401),
    ],
)
def test_metrics_need_the_token(
    desk: tuple[Flask, AuthActions], token: str, header: str, status: int
) -> None:
    app, auth = desk
    app.config["INTAKE_METRICS_TOKEN"] = token
    response = auth.client.get("/metrics", headers={"Authorization": header} if header else {})
    assert response.status_code == status
    assert b"intake_" not in response.data


def test_metrics_count_submissions_and_emails_without_reader_data(
    desk: tuple[Flask, AuthActions], smtp: SMTPSink
) -> None:
    app, auth = desk
    make_submission(
        app, email="olena@example.org", consent_contact=True, name="Olena", body="Секрет " * 5
    )
    make_submission(app)
    deliver(app)
    values = metrics(auth.client)
    assert values[("intake_submissions", (("status", "new"),))] == 2
    assert values[("intake_submissions", (("status", "closed"),))] == 0
    assert values[("intake_emails", (("state", "sent"),))] == 3  # two notices, one receipt
    assert values[("intake_emails", (("state", "failed"),))] == 0
    assert values[("intake_outbox_due", ())] == 0
    text = auth.client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).data
    assert b"olena" not in text.lower() and "Секрет".encode() not in text


def test_two_apps_on_one_database_report_the_same_figures(
    desk: tuple[Flask, AuthActions], smtp: SMTPSink, tmp_path: Path
) -> None:
    """Figures come from the database at scrape time, so any server gives the same answer."""
    app, auth = desk
    queue_emails(app, TEN[:3])
    second = create_app(
        settings(
            tmp_path / "second",
            SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
            INTAKE_METRICS_TOKEN=TOKEN,
        )
    )
    try:
        first_figures = metrics(auth.client)
        assert first_figures[("intake_outbox_due", ())] == 3
        assert metrics(second.test_client()) == first_figures
    finally:
        with second.app_context():
            db.engine.dispose()


def test_outbox_actions_need_the_forms_token(
    tmp_path: Path, smtp: SMTPSink, password_hash: str
) -> None:
    app = make_app(
        tmp_path,
        WTF_CSRF_ENABLED=True,
        INTAKE_REQUIRE_2FA="admins",  # this is about the token, not the second factor
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=smtp.port,
    )
    add_staff(app, password_hash)
    queue_emails(app, TEN[:1])
    row = outbox_rows(app)[TEN[0]]
    client = app.test_client()

    def token(url: str) -> str:
        found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', client.get(url).text)
        assert found
        return found.group(1)

    login = {"email": STAFF["editor"][0], "password": STAFF_PASSWORD}
    assert client.post("/staff/login", data={**login, "csrf_token": token("/staff/login")})
    assert client.post(f"/staff/outbox/{row.id}/cancel").status_code == 400
    assert outbox_rows(app)[TEN[0]].state == "pending"
    fresh = token("/staff/outbox?state=due")
    response = client.post(f"/staff/outbox/{row.id}/cancel", data={"csrf_token": fresh})
    assert response.status_code == 303
    assert outbox_rows(app)[TEN[0]].state == "cancelled"
