"""Email through the outbox and a real SMTP server (aiosmtpd on 127.0.0.1)."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import Flask

from intake import workflow
from intake.delivery import MAX_ATTEMPTS, claim, deliver_due
from intake.extensions import db, mail
from intake.models import Event, OutboxEmail, Submission, utcnow
from tests.conftest import SMTPSink, valid_form

TEXT = "Власти Харькова скрывают данные о потерях: у меня есть документы из больницы."


def submit(app: Flask, **fields: str) -> str:
    """Post the public form and return the reference."""
    response = app.test_client().post("/", data=valid_form(**fields))
    assert response.status_code == 303, response.get_data(as_text=True)
    return response.headers["Location"].removeprefix("/thanks/")


def run_worker(app: Flask) -> str:
    result = app.test_cli_runner().invoke(args=["intake", "worker", "--once"])
    assert result.exit_code == 0, result.output
    return result.output


def outbox(app: Flask) -> list[OutboxEmail]:
    with app.app_context():
        return list(db.session.scalars(sa.select(OutboxEmail).order_by(OutboxEmail.id)))


def events(app: Flask, reference: str) -> list[tuple[str, str]]:
    with app.app_context():
        sub = db.session.scalars(
            sa.select(Submission).where(Submission.reference == reference)
        ).one()
        return [(e.kind, e.detail) for e in sub.events]


def test_submission_reaches_the_reporter_with_everything_they_need(
    mail_app: Flask, smtp: SMTPSink
) -> None:
    mail_app.config["INTAKE_ARTICLE_HOSTS"] = "example.org"  # the newsroom's own site
    reference = submit(
        mail_app,
        subject="Hospital data",
        body=TEXT,
        name="Olena",
        email="olena@example.org",
        consent_contact="y",
        reporter="iryna",
        article="https://example.org/world/kharkiv",
    )
    assert smtp.received == []  # the request sent nothing itself
    output = run_worker(mail_app)
    assert "sent 2" in output
    notice = next(m for m in smtp.received if "iryna.koval@example.org" in m.rcpt_tos)
    message = notice.message
    assert notice.rcpt_tos == ["iryna.koval@example.org"]
    assert message["To"] == "iryna.koval@example.org"
    assert message["From"] == "tips@example.org"
    assert message["Subject"] == f"[Tip] Russia-Ukraine war — Hospital data ({reference})"
    assert message["Reply-To"] == "tips@example.org"  # intake's mailbox, never the reader
    [stored] = [e for e in outbox(mail_app) if e.purpose == "reporter_notice"]
    assert message["Message-ID"] == stored.message_id
    body = notice.text()
    assert TEXT in body
    assert "Language: Russian" in body
    assert "author of the story: Iryna Koval" in body
    assert "From the story: https://example.org/world/kharkiv" in body
    assert f"http://127.0.0.1:5000/staff/s/{reference}" in body
    assert "Olena <olena@example.org>" in body
    assert stored.state == "sent" and stored.attempts == 1 and stored.sent_at is not None
    kinds = [kind for kind, _ in events(mail_app, reference)]
    assert kinds == ["created", "routed", "emailed", "emailed", "delivered", "delivered"]


def test_reader_gets_a_receipt_without_their_text(mail_app: Flask, smtp: SMTPSink) -> None:
    reference = submit(mail_app, body=TEXT, email="olena@example.org", kind="question")
    run_worker(mail_app)
    [receipt] = [m for m in smtp.received if m.rcpt_tos == ["olena@example.org"]]
    assert receipt.message["Subject"] == f"We received your question ({reference})"
    assert receipt.message["Auto-Submitted"] == "auto-generated"
    text = receipt.text()
    assert reference in text
    assert "Харьков" not in text and "Power cuts" not in text
    assert b"\xd0\xa5\xd0\xb0\xd1\x80" not in receipt.raw  # no "Хар" in any encoding of it


def test_no_email_no_receipt_and_no_reply_to(mail_app: Flask, smtp: SMTPSink) -> None:
    submit(mail_app, body=TEXT, reporter="iryna")
    run_worker(mail_app)
    [notice] = smtp.received
    assert notice.message["Reply-To"] == "tips@example.org"
    assert "did not agree to be contacted" in notice.text()


def test_contact_details_only_with_consent(mail_app: Flask, smtp: SMTPSink) -> None:
    submit(mail_app, body=TEXT, name="Olena", email="olena@example.org", reporter="iryna")
    run_worker(mail_app)
    notice = next(m for m in smtp.received if "iryna.koval@example.org" in m.rcpt_tos)
    assert notice.message["Reply-To"] == "tips@example.org"
    assert b"olena@example.org" not in notice.raw
    assert b"Olena" not in notice.raw


def assert_no_reader_text(raw: bytes, *secrets: str) -> None:
    """Check the raw message in every way the text could be encoded."""
    from email import message_from_bytes

    decoded = "\n".join(
        part.get_payload(decode=True).decode("utf-8", "replace")  # type: ignore[union-attr]
        for part in message_from_bytes(raw).walk()
        if not part.is_multipart()
    )
    for secret in secrets:
        assert secret not in decoded
        assert secret.encode() not in raw
        assert secret.encode("utf-8").hex() not in raw.hex()


def test_link_only_desk_gets_no_text_and_no_contact(mail_app: Flask, smtp: SMTPSink) -> None:
    # The business desk's email_content is "link"; Lee is the story's author there.
    reference = submit(
        mail_app,
        topic="energy-markets",
        reporter="lee",
        subject="OPEC leak",
        body="Two traders say OPEC will cut output; one sent me the draft communique.",
        name="Trader Joe",
        email="joe@example.org",
        consent_contact="y",
    )
    run_worker(mail_app)
    notice = next(m for m in smtp.received if "lee.park@example.org" in m.rcpt_tos)
    assert notice.message["Subject"] == f"[Tip] Energy and markets ({reference})"
    assert notice.message["Reply-To"] == "tips@example.org"
    assert_no_reader_text(
        notice.raw, "OPEC leak", "draft communique", "Trader Joe", "joe@example.org"
    )
    assert f"/staff/s/{reference}" in notice.text()


def test_sensitive_tip_gets_no_text_and_no_contact(mail_app: Flask, smtp: SMTPSink) -> None:
    reference = submit(
        mail_app,
        reporter="iryna",
        subject="Mass grave",
        body=TEXT,
        name="Olena",
        email="olena@example.org",
        consent_contact="y",
        sensitive="y",
    )
    run_worker(mail_app)
    notice = next(m for m in smtp.received if "iryna.koval@example.org" in m.rcpt_tos)
    assert notice.message["Subject"] == f"[Tip] Russia-Ukraine war ({reference})"
    assert_no_reader_text(notice.raw, "Mass grave", TEXT, "Olena", "olena@example.org")
    assert "marked this tip as sensitive" in notice.text()


def test_header_injection_from_reader_text_adds_no_header(mail_app: Flask, smtp: SMTPSink) -> None:
    # Straight into the workflow, past the form's own cleaning.
    with mail_app.test_request_context():
        workflow.submit(
            db.session,
            workflow.NewSubmission(
                kind="tip",
                topic="russia-ukraine-war",
                subject="Hi\r\nBcc: evil@example.org\r\n folded\u2028Cc: x@example.org\nX-Evil: 1",
                body=TEXT,
                name="",
                email="",
                consent_contact=False,
                consent_publish=False,
                sensitive=False,
                article="",
                author_slug="iryna",
            ),
        )
    run_worker(mail_app)
    [notice] = smtp.received
    assert notice.rcpt_tos == ["iryna.koval@example.org"]
    headers = {key.lower() for key in notice.message.keys()}
    assert not {"bcc", "cc", "x-evil"} & headers
    assert "\n" not in notice.message["Subject"]


def test_smtp_down_then_up_loses_nothing(mail_app: Flask, smtp: SMTPSink) -> None:
    smtp.stop()
    reference = submit(mail_app, body=TEXT, email="olena@example.org", reporter="iryna")
    output = run_worker(mail_app)
    assert "to retry 2" in output
    rows = outbox(mail_app)
    assert [r.state for r in rows] == ["pending", "pending"]
    assert all(r.attempts == 1 and "Connection" in r.last_error for r in rows)
    assert all(r.next_attempt_at > utcnow() for r in rows)
    # Not due yet: a second pass does not hammer the server.
    assert "done; sent 0, retries scheduled 0" in run_worker(mail_app)
    assert [r.attempts for r in outbox(mail_app)] == [1, 1]
    smtp.start()
    with mail_app.app_context():
        later = utcnow() + timedelta(minutes=5)
        report = deliver_due(db.session, mail, "test", now=later)
    assert report.sent == 2
    assert sorted(m.rcpt_tos[0] for m in smtp.received) == [
        "iryna.koval@example.org",
        "olena@example.org",
    ]
    rows = outbox(mail_app)
    assert [(r.state, r.attempts) for r in rows] == [("sent", 2), ("sent", 2)]
    delivered = {m.message["Message-ID"] for m in smtp.received}
    assert delivered == {r.message_id for r in rows}  # the same IDs as before the outage
    assert [k for k, _ in events(mail_app, reference)].count("delivered") == 2


def test_a_refused_recipient_fails_for_good_and_the_rest_go_through(
    mail_app: Flask, smtp: SMTPSink
) -> None:
    smtp.refuse.add("olena@example.org")
    reference = submit(mail_app, body=TEXT, email="olena@example.org", reporter="iryna")
    run_worker(mail_app)
    notice, receipt = outbox(mail_app)
    assert notice.state == "sent"
    assert receipt.state == "failed"
    assert "550" in receipt.last_error
    assert ("delivery_failed") in [k for k, _ in events(mail_app, reference)]


def test_retries_end_after_the_last_attempt(mail_app: Flask, smtp: SMTPSink) -> None:
    smtp.stop()
    submit(mail_app, body=TEXT, reporter="iryna")
    with mail_app.app_context():
        when = utcnow()
        for _ in range(MAX_ATTEMPTS):
            deliver_due(db.session, mail, "test", now=when)
            when += timedelta(hours=2)
    [row] = outbox(mail_app)
    assert (row.state, row.attempts) == ("failed", MAX_ATTEMPTS)


def test_one_connection_for_a_batch(mail_app: Flask, smtp: SMTPSink) -> None:
    for _ in range(3):
        submit(mail_app, body=TEXT, email="reader@example.org")
    run_worker(mail_app)
    assert len(smtp.received) == 6
    assert len({m.connection for m in smtp.received}) == 1


def test_two_workers_never_claim_the_same_email(mail_app: Flask) -> None:
    for _ in range(3):
        submit(mail_app, body=TEXT, email="reader@example.org")
    with mail_app.app_context():
        now = utcnow()
        first = {row.id for row in claim(db.session, "a", 4, now)}
        second = {row.id for row in claim(db.session, "b", 4, now)}
    assert len(first) == 4 and len(second) == 2
    assert not first & second


def test_a_dead_workers_claim_runs_out_and_another_sends(mail_app: Flask, smtp: SMTPSink) -> None:
    submit(mail_app, body=TEXT, reporter="iryna")
    with mail_app.app_context():
        now = utcnow()
        assert len(claim(db.session, "dead", 10, now)) == 1  # claimed, then the worker died
        assert deliver_due(db.session, mail, "alive", now=now).claimed == 0
        report = deliver_due(db.session, mail, "alive", now=now + timedelta(minutes=3))
    assert report.sent == 1
    assert len(smtp.received) == 1


def test_receipts_to_one_address_are_capped_per_hour(mail_app: Flask, smtp: SMTPSink) -> None:
    references = [submit(mail_app, body=TEXT, email="victim@example.org") for _ in range(5)]
    run_worker(mail_app)
    receipts = [m for m in smtp.received if m.rcpt_tos == ["victim@example.org"]]
    assert len(receipts) == 3
    assert "ack_skipped" in [k for k, _ in events(mail_app, references[-1])]
    with mail_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Submission)) == 5


def test_submission_and_its_emails_commit_together(mail_app: Flask) -> None:
    with mail_app.app_context():
        db.session.execute(sa.text("DROP TABLE outbox_emails"))
        db.session.commit()
    response = mail_app.test_client().post("/", data=valid_form(body=TEXT))
    assert response.status_code == 503
    with mail_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Submission)) == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Event)) == 0


def test_worker_refuses_to_start_without_a_mail_server(app: Flask) -> None:
    app.config["MAIL_SERVER"] = None
    result = app.test_cli_runner().invoke(args=["intake", "worker", "--once"])
    assert result.exit_code == 1
    assert "MAIL_SERVER is not set" in result.output


INJECTIONS = [
    "Hi\r\nBcc: evil@example.org",
    "Hi\nBcc: evil@example.org",
    "Hi\rX-Evil: 1",
    "Hi\r\n\tBcc: evil@example.org",
    "Hi\u2028Bcc: evil@example.org",
    "=?utf-8?q?Hi=0D=0ABcc=3A_evil=40example.org?=",
]
EXPECTED_HEADERS = {
    "content-type",
    "mime-version",
    "content-transfer-encoding",
    "subject",
    "from",
    "to",
    "date",
    "message-id",
    "auto-submitted",
    "reply-to",
}


def test_injection_in_subject_name_and_email_adds_no_header(
    mail_app: Flask, smtp: SMTPSink
) -> None:
    client = mail_app.test_client()
    accepted = 0
    for attack in INJECTIONS:
        for field in ("subject", "name", "email"):
            form = valid_form(
                body=TEXT, reporter="iryna", consent_contact="y", email="reader@example.org"
            )
            form[field] = attack if field != "email" else f"reader@example.org{attack[2:]}"
            response = client.post("/", data=form)
            assert response.status_code in (303, 400)
            accepted += response.status_code == 303
    assert accepted >= 2 * len(INJECTIONS)  # subject and name are kept, cleaned to one line
    run_worker(mail_app)
    assert smtp.received
    for received in smtp.received:
        assert "evil@example.org" not in received.rcpt_tos
        assert {key.lower() for key in received.message.keys()} <= EXPECTED_HEADERS
        # On the wire, every header line is a known header or a folded continuation of one.
        head = received.raw.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0]
        for line in head.split(b"\n"):
            name = line.split(b":", 1)[0].decode().lower()
            assert line[:1] in (b" ", b"\t") or name in EXPECTED_HEADERS, line
