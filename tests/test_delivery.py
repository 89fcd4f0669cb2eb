"""One email, one outcome: a relay's answer about one email changes that email alone.

Every case runs against a real SMTP server (aiosmtpd on 127.0.0.1) told to refuse, defer,
hang up or stall on chosen addresses.
"""

from __future__ import annotations

import smtplib
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from intake.delivery import (
    MAX_UNRECORDED,
    Courier,
    Verdict,
    backoff,
    deliver_due,
    judge,
)
from intake.extensions import db, mail
from intake.models import Event, OutboxEmail, utcnow
from tests.conftest import SMTPSink, get_submission, make_app, make_submission, queue_emails

RECIPIENTS = [f"reporter{n}@example.org" for n in range(6)]


def deliver(app: Flask, later: timedelta = timedelta(0), **kwargs: Any) -> Any:
    """Run one pass of the worker, `later` from now."""
    with app.app_context():
        report = deliver_due(db.session, mail, "test", now=utcnow() + later, **kwargs)
        db.session.remove()
        return report


def emails(app: Flask) -> dict[str, OutboxEmail]:
    """Return the outbox by recipient."""
    with app.app_context():
        rows = db.session.scalars(sa.select(OutboxEmail).order_by(OutboxEmail.id)).all()
        db.session.expunge_all()
        return {row.recipient: row for row in rows}


def states(app: Flask) -> list[tuple[str, int]]:
    """Return each email's state and attempts, in queue order."""
    return [(row.state, row.attempts) for row in emails(app).values()]


def delivered_to(smtp: SMTPSink) -> list[str]:
    return [rcpt for message in smtp.received for rcpt in message.rcpt_tos]


# How the relay answers the third of six emails, and what becomes of that email alone.
ANSWERS = [
    ("refuse", "550 5.1.1", "failed"),
    ("defer", "450 4.2.0", "pending"),
    ("refuse_data", "554 5.7.1", "failed"),
    ("defer_data", "451 4.3.0", "pending"),
]


@pytest.mark.parametrize(("answer", "reply", "state"), ANSWERS)
def test_an_answer_about_one_email_changes_that_email_alone(
    mail_app: Flask, smtp: SMTPSink, answer: str, reply: str, state: str
) -> None:
    target = RECIPIENTS[2]
    getattr(smtp, answer).add(target)
    queue_emails(mail_app, RECIPIENTS)
    report = deliver(mail_app)
    assert (report.sent, report.failed + report.retried) == (5, 1)
    assert delivered_to(smtp) == [r for r in RECIPIENTS if r != target]
    assert smtp.connections == 1  # the others went on over the same connection
    outbox = emails(mail_app)
    assert (outbox[target].state, outbox[target].attempts) == (state, 1)
    assert outbox[target].last_error.startswith(reply)
    for recipient in RECIPIENTS:
        if recipient != target:
            assert (outbox[recipient].state, outbox[recipient].last_error) == ("sent", "")


def test_a_refused_sender_fails_only_the_email_from_it(mail_app: Flask, smtp: SMTPSink) -> None:
    queue_emails(mail_app, RECIPIENTS[:3])
    queue_emails(mail_app, ["reader@example.org"], sender="worldnews@example.org")
    smtp.refuse_sender.add("worldnews@example.org")
    deliver(mail_app)
    outbox = emails(mail_app)
    assert outbox["reader@example.org"].state == "failed"
    assert outbox["reader@example.org"].last_error.startswith("553 5.7.1")
    assert [outbox[r].state for r in RECIPIENTS[:3]] == ["sent"] * 3


def test_an_error_never_names_another_emails_recipient(mail_app: Flask, smtp: SMTPSink) -> None:
    smtp.refuse.update(RECIPIENTS[1:3])
    smtp.defer.update(RECIPIENTS[3:5])
    queue_emails(mail_app, RECIPIENTS)
    deliver(mail_app)
    outbox = emails(mail_app)
    for recipient, row in outbox.items():
        others = [r for r in RECIPIENTS if r != recipient]
        assert not any(other in row.last_error for other in others), row.last_error
    # The server named the address it refused; what is kept and shown names none.
    assert "(address)" in outbox[RECIPIENTS[1]].last_error
    assert all("@" not in row.last_error for row in outbox.values())


def test_a_deferred_email_waits_its_backoff_then_goes(mail_app: Flask, smtp: SMTPSink) -> None:
    target = RECIPIENTS[0]
    smtp.defer.add(target)
    queue_emails(mail_app, RECIPIENTS[:2])
    before = utcnow()
    deliver(mail_app)
    row = emails(mail_app)[target]
    assert row.next_attempt_at >= before + backoff(1)
    assert deliver(mail_app, timedelta(seconds=10)).claimed == 0  # not due yet
    smtp.defer.clear()
    assert deliver(mail_app, backoff(1) + timedelta(seconds=1)).sent == 1
    assert (emails(mail_app)[target].state, emails(mail_app)[target].attempts) == ("sent", 2)
    assert delivered_to(smtp) == [RECIPIENTS[1], target]


@pytest.mark.parametrize("trouble", ["drop_at", "stall_at"])
def test_a_lost_connection_fails_nothing_and_the_rest_go_next_pass(
    tmp_path: Path, smtp: SMTPSink, trouble: str
) -> None:
    app = make_app(tmp_path, MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port, MAIL_TIMEOUT=1)
    target = RECIPIENTS[2]
    getattr(smtp, trouble).add(target)
    queue_emails(app, RECIPIENTS)
    report = deliver(app)
    assert (report.sent, report.retried, report.failed, report.released) == (2, 1, 0, 3)
    outbox = emails(app)
    assert [outbox[r].state for r in RECIPIENTS] == ["sent"] * 2 + ["pending"] * 4
    # The email on the wire counts a try and waits; the ones never tried are due at once.
    assert outbox[target].attempts == 1 and outbox[target].next_attempt_at > utcnow()
    assert outbox[target].last_error
    for recipient in RECIPIENTS[3:]:
        row = outbox[recipient]
        assert (row.attempts, row.last_error, row.claimed_by, row.lease_until) == (0, "", "", None)
    getattr(smtp, trouble).clear()
    assert deliver(app).sent == 3
    assert deliver(app, timedelta(minutes=5)).sent == 1
    assert {row.state for row in emails(app).values()} == {"sent"}


def test_an_address_that_cannot_be_encoded_fails_alone(mail_app: Flask, smtp: SMTPSink) -> None:
    # The form refuses such a mailbox name; one that got in some other way fails alone.
    queue_emails(mail_app, [RECIPIENTS[0], "олена@example.org", RECIPIENTS[1]])
    report = deliver(mail_app)
    assert (report.sent, report.failed) == (2, 1)
    outbox = emails(mail_app)
    assert outbox["олена@example.org"].state == "failed"
    assert outbox["олена@example.org"].last_error
    assert [outbox[r].state for r in RECIPIENTS[:2]] == ["sent", "sent"]
    assert smtp.connections == 1


def test_an_international_domain_travels_as_idna(mail_app: Flask, smtp: SMTPSink) -> None:
    queue_emails(mail_app, ["reader@пример.укр"])
    assert deliver(mail_app).sent == 1
    assert delivered_to(smtp) == ["reader@xn--e1afmkfd.xn--j1amh"]


def watch_unrecorded(app: Flask, smtp: SMTPSink) -> tuple[list[int], sa.Engine]:
    """As each message arrives, note how many accepted before it are not yet recorded sent."""
    engine = sa.create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    unrecorded: list[int] = []

    def look() -> None:
        with engine.connect() as connection:
            recorded = connection.scalar(
                sa.select(sa.func.count())
                .select_from(OutboxEmail)
                .where(OutboxEmail.state == "sent")
            )
        unrecorded.append(len(smtp.received) - (recorded or 0))

    smtp.on_data = look
    return unrecorded, engine


def test_accepted_emails_are_recorded_within_a_few_sends(mail_app: Flask, smtp: SMTPSink) -> None:
    """At each message the server takes, at most MAX_UNRECORDED earlier ones are unrecorded."""
    queue_emails(mail_app, [f"r{n}@example.org" for n in range(20)])
    unrecorded, engine = watch_unrecorded(mail_app, smtp)
    assert deliver(mail_app).sent == 20
    engine.dispose()
    assert len(unrecorded) == 20
    assert max(unrecorded) <= MAX_UNRECORDED < 5
    with mail_app.app_context():
        delivered = db.session.scalar(
            sa.select(sa.func.count()).select_from(Event).where(Event.kind == "delivered")
        )
    assert delivered == 20


def test_each_email_recorded_before_the_next_when_asked(mail_app: Flask, smtp: SMTPSink) -> None:
    queue_emails(mail_app, [f"r{n}@example.org" for n in range(6)])
    unrecorded, engine = watch_unrecorded(mail_app, smtp)
    assert deliver(mail_app, record_lag=0).sent == 6
    engine.dispose()
    assert unrecorded == [0] * 6


def test_a_pass_stops_sending_when_half_its_lease_is_gone(tmp_path: Path, smtp: SMTPSink) -> None:
    app = make_app(tmp_path, MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port, MAIL_TIMEOUT=5)
    smtp.stall_at.add(RECIPIENTS[0])  # 3 s for the first: past half of a 4 s lease
    queue_emails(app, RECIPIENTS[:4])
    report = deliver(app, lease=timedelta(seconds=4))
    assert (report.sent, report.released) == (1, 3)
    outbox = emails(app)
    assert [(outbox[r].state, outbox[r].claimed_by) for r in RECIPIENTS[1:4]] == [
        ("pending", "")
    ] * 3


def test_a_connection_closed_while_idle_costs_no_attempt(mail_app: Flask, smtp: SMTPSink) -> None:
    queue_emails(mail_app, RECIPIENTS[:1])
    with mail_app.app_context():
        courier = Courier(mail)
        assert deliver_due(db.session, mail, "test", courier=courier).sent == 1
        smtp.stop()  # the relay restarts while the worker waits for more mail
        smtp.start()
    queue_emails(mail_app, RECIPIENTS[1:2])
    with mail_app.app_context():
        report = deliver_due(db.session, mail, "test", courier=courier)
        courier.close()
    assert report.sent == 1
    assert emails(mail_app)[RECIPIENTS[1]].attempts == 1


def test_a_server_that_cannot_be_reached_fails_nothing(mail_app: Flask, smtp: SMTPSink) -> None:
    smtp.stop()
    queue_emails(mail_app, RECIPIENTS[:3])
    report = deliver(mail_app)
    assert (report.retried, report.failed) == (3, 0)
    assert states(mail_app) == [("pending", 1)] * 3


def test_delivery_events_never_hold_a_readers_address(mail_app: Flask, smtp: SMTPSink) -> None:
    reference = make_submission(
        mail_app, email="olena@example.org", consent_contact=True, author_slug="iryna"
    )
    smtp.refuse.add("olena@example.org")
    deliver(mail_app)
    details = [e.detail for e in get_submission(mail_app, reference).events]
    assert any("reader_ack to the reader not delivered: refused (550)" in d for d in details)
    assert not any("olena@example.org" in d for d in details if "not delivered" in d)


# The judgement of each error, table-driven: what the email gets, and whether the
# connection is still good for the next one.
ERRORS: list[tuple[BaseException, str, bool]] = [
    (smtplib.SMTPRecipientsRefused({"a@example.org": (550, b"no such user")}), "failed", False),
    (smtplib.SMTPRecipientsRefused({"a@example.org": (452, b"mailbox full")}), "retry", False),
    (smtplib.SMTPRecipientsRefused({"a@example.org": (421, b"closing")}), "retry", True),
    (smtplib.SMTPSenderRefused(553, b"not yours", "tips@example.org"), "failed", False),
    (smtplib.SMTPSenderRefused(451, b"try later", "tips@example.org"), "retry", False),
    (smtplib.SMTPDataError(554, b"spam"), "failed", False),
    (smtplib.SMTPDataError(451, b"later"), "retry", False),
    (smtplib.SMTPDataError(421, b"shutting down"), "retry", True),
    (smtplib.SMTPServerDisconnected("Connection unexpectedly closed"), "retry", True),
    (TimeoutError("timed out"), "retry", True),
    (ConnectionResetError(104, "Connection reset by peer"), "retry", True),
    (smtplib.SMTPNotSupportedError("SMTPUTF8 not supported by server"), "failed", False),
    (UnicodeEncodeError("ascii", "ы", 0, 1, "no"), "failed", False),
]


@pytest.mark.parametrize(("error", "fate", "lost"), ERRORS)
def test_each_smtp_error_is_judged(error: BaseException, fate: str, lost: bool) -> None:
    verdict = judge(error)
    assert (verdict.fate, verdict.connection_lost) == (fate, lost)
    assert isinstance(verdict, Verdict) and verdict.reply and "\n" not in verdict.reply


def test_the_worker_survives_a_database_error_and_says_so(mail_app: Flask, smtp: SMTPSink) -> None:
    with mail_app.app_context():
        db.session.execute(sa.text("DROP TABLE outbox_emails"))
        db.session.commit()
    result = mail_app.test_cli_runner().invoke(args=["intake", "worker", "--once"])
    assert result.exit_code == 1
    assert "database error (" in result.output
    assert "Traceback" not in result.output


def test_a_failed_receipt_forgets_an_address_kept_without_consent(
    mail_app: Flask, smtp: SMTPSink
) -> None:
    reference = make_submission(mail_app, email="olena@example.org", consent_contact=False)
    smtp.refuse.add("olena@example.org")
    deliver(mail_app)
    with mail_app.app_context():
        receipt = db.session.scalars(
            sa.select(OutboxEmail).where(OutboxEmail.purpose == "reader_ack")
        ).one()
        assert (receipt.state, receipt.recipient, receipt.raw) == ("failed", "(erased)", None)
        assert "olena" not in receipt.last_error
    assert get_submission(mail_app, reference).email == ""
