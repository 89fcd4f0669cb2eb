"""What a source is promised: no words in emails that may not carry them, no reader data in
logs, contact details only with consent, capped receipts, private files, no addresses logged.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import re
import socket
import stat
import subprocess
import time
from collections.abc import Iterator
from email import message_from_bytes
from importlib import import_module
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from intake import workflow
from intake.delivery import deliver_due
from intake.extensions import db, limiter, mail
from intake.models import Event, OutboxEmail, Submission
from tests.conftest import (
    ADMIN_TOTP,
    BIN_DIR,
    ENGINE,
    ROOT,
    STAFF,
    AuthActions,
    SMTPSink,
    add_staff,
    free_port,
    make_app,
    stored_text,
    valid_form,
)

NAME, EMAIL = "Olena Hryhorenko", "olena.hryhorenko@example.org"
# The module, not the function of the same name that intake.workflow exports.
submitting = import_module("intake.workflow.submit")


def run_worker(app: Flask) -> None:
    with app.app_context():
        deliver_due(db.session, mail, "test")
        db.session.remove()


def decoded(raw: bytes) -> str:
    """Every header and text part of a message, decoded."""
    message = message_from_bytes(raw)
    parts = [str(value) for value in message.values()]
    for part in message.walk():
        if not part.is_multipart():
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            parts.append(payload.decode("utf-8", "replace"))
    return "\n".join(parts)


# --- 2. An email that may not carry the text carries no word of it ----------------------

# No topic is chosen, so routing finds one from the words, which the reason would quote.
WORDED = "Kremlin aides say the convoy leaves Kyiv tonight; my cousin Bohdan drives truck nine."


@pytest.mark.parametrize(
    ("fields", "to"),
    [
        ({"sensitive": "y", "topic": ""}, "worldnews@example.org"),
        (
            {"topic": "", "body": "Traders told me OPEC barrels cut next week; Bohdan has it."},
            "business@example.org",
        ),
    ],
    ids=["sensitive tip", "link-only desk"],
)
def test_no_word_of_the_text_in_an_email_that_may_not_carry_it(
    mail_app: Flask, smtp: SMTPSink, fields: dict[str, str], to: str
) -> None:
    form = {**valid_form(body=WORDED, subject="Convoy Bohdan"), **fields}
    response = mail_app.test_client().post("/", data=form)
    assert response.status_code == 303
    run_worker(mail_app)
    [notice] = smtp.received
    text = decoded(notice.raw).lower()
    words = {w.lower() for w in re.findall(r"\w{3,}", form["body"] + " " + form["subject"])}
    leaked = {w for w in words if re.search(rf"\b{re.escape(w)}\b", text)}
    # Only words any notice says anyway may appear (e.g. "the", the topic's own label).
    assert leaked <= {"the", "has", "will", "say", "says", "next", "week"}, leaked
    assert "from keywords in the text" in text  # the reason is there, without the words


# --- 3. A database error logs no reader data -------------------------------------------


@pytest.fixture
def logged(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    caplog.set_level(logging.DEBUG)
    yield caplog


def reader_data_in(text: str) -> list[str]:
    return [s for s in ("Marker-body-71", "Marker-subject-72", NAME, EMAIL) if s in text]


def test_a_database_error_on_the_form_logs_no_reader_data(
    app: Flask,
    logged: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    taken = app.test_client().post("/", data=valid_form()).headers["Location"][len("/thanks/") :]
    # Two requests drew the same reference at once: the submission's own INSERT fails, with
    # the reader's text, name and address among its values.
    monkeypatch.setattr(submitting, "_free_reference", lambda session, kind: taken)
    form = valid_form(
        body="Marker-body-71 is long enough to be stored here.",
        subject="Marker-subject-72",
        name=NAME,
        email=EMAIL,
        consent_contact="y",
    )
    response = app.test_client().post("/", data=form)
    assert response.status_code == 503
    assert "could not store a submission" in logged.text
    assert "IntegrityError" in logged.text  # the error is named ...
    assert reader_data_in(logged.text) == []  # ... without its values
    assert reader_data_in(capfd.readouterr().err) == []


def test_an_unhandled_error_in_a_staff_action_logs_no_reader_data(
    app: Flask, password_hash: str, logged: pytest.LogCaptureFixture
) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production: a 500 page, and a log
    add_staff(app, password_hash, admin_totp=ADMIN_TOTP)
    response = app.test_client().post("/", data=valid_form())
    reference = response.headers["Location"].removeprefix("/thanks/")
    client = app.test_client()
    AuthActions(app, client).login(STAFF["editor"][0])
    with app.app_context():
        db.session.execute(sa.text("DROP TABLE events"))
        db.session.commit()
    note = f"Marker-body-71 {NAME} {EMAIL}"
    response = client.post(f"/staff/s/{reference}/note", data={"text": note})
    assert response.status_code == 500
    assert "unhandled error on POST /staff/s/<reference>/note" in logged.text
    assert reader_data_in(logged.text) == []


def test_the_engine_hides_bound_parameters(app: Flask) -> None:
    with app.app_context():
        assert db.engine.hide_parameters is True


# --- 4. Contact details only with consent ---------------------------------------------


def submit_without_consent(client: FlaskClient, **fields: str) -> str:
    form = valid_form(
        body="Shelling near the station again this morning; many windows broken.",
        name=NAME,
        email=EMAIL,
        **fields,
    )
    response = client.post("/", data=form)
    assert response.status_code == 303
    return response.headers["Location"].removeprefix("/thanks/")


def test_without_consent_the_address_serves_the_receipt_and_is_kept_nowhere(
    mail_app: Flask, smtp: SMTPSink, password_hash: str, tmp_path: Path
) -> None:
    add_staff(mail_app, password_hash, admin_totp=ADMIN_TOTP)
    reference = submit_without_consent(mail_app.test_client())
    run_worker(mail_app)
    assert [m.rcpt_tos for m in smtp.received if EMAIL in m.rcpt_tos] == [[EMAIL]]

    with mail_app.app_context():
        submission = db.session.scalars(sa.select(Submission)).one()
        assert (submission.name, submission.email) == ("", "")
        events = " ".join(e.detail for e in db.session.scalars(sa.select(Event)))
        emails = list(db.session.scalars(sa.select(OutboxEmail)))
    assert "@" not in events
    receipt = next(e for e in emails if e.purpose == "reader_ack")
    assert (receipt.recipient, receipt.raw) == ("(erased)", None)  # forgotten once sent

    client = mail_app.test_client()
    AuthActions(mail_app, client).login(STAFF["editor"][0])
    pages = [
        client.get(f"/staff/s/{reference}").get_data(as_text=True),
        client.get("/staff/export.csv").get_data(as_text=True),
        client.get("/staff/outbox?state=sent").get_data(as_text=True),
        client.get("/staff/").get_data(as_text=True),
    ]
    exported = mail_app.test_cli_runner().invoke(args=["intake", "export", "--format", "jsonl"])
    for text in [*pages, exported.stdout]:
        assert "Olena" not in text and "hryhorenko" not in text.lower()
    assert reference in pages[3]
    for query in ("olena", "hryhorenko", "olena.hryhorenko@example.org"):
        found = client.get("/staff/", query_string={"q": query}).get_data(as_text=True)
        assert f">{reference}</a>" not in found  # search finds nothing

    result = mail_app.test_cli_runner().invoke(args=["intake", "purge", "--reference", reference])
    assert result.exit_code == 0, result.output
    stored = stored_text(mail_app, tmp_path)
    assert b"hryhorenko" not in stored.lower()
    assert NAME.encode() not in stored


def test_with_consent_the_reader_can_be_found_and_answered(mail_app: Flask, smtp: SMTPSink) -> None:
    submit_without_consent(mail_app.test_client(), consent_contact="y")
    run_worker(mail_app)
    with mail_app.app_context():
        submission = db.session.scalars(sa.select(Submission)).one()
        receipt = db.session.scalars(
            sa.select(OutboxEmail).where(OutboxEmail.purpose == "reader_ack")
        ).one()
    assert (submission.name, submission.email) == (NAME, EMAIL)
    assert receipt.recipient == EMAIL


def test_purge_by_address_finds_a_submission_that_kept_no_address(
    mail_app: Flask, smtp: SMTPSink
) -> None:
    reference = submit_without_consent(mail_app.test_client())
    run_worker(mail_app)
    result = mail_app.test_cli_runner().invoke(args=["intake", "purge", "--email", EMAIL.upper()])
    assert result.exit_code == 0, result.output
    assert "erased 1 submission(s)" in result.output
    with mail_app.app_context():
        submission = db.session.scalars(sa.select(Submission)).one()
        keys = list(db.session.scalars(sa.select(OutboxEmail.recipient_key)))
    assert submission.reference == reference and submission.purged_at is not None
    assert keys and set(keys) == {""}


@pytest.mark.parametrize(("consent", "receipts"), [("", 0), ("y", 1)])
def test_a_sensitive_tip_gets_a_receipt_only_with_consent(
    mail_app: Flask, smtp: SMTPSink, consent: str, receipts: int
) -> None:
    submit_without_consent(mail_app.test_client(), sensitive="y", consent_contact=consent)
    run_worker(mail_app)
    assert sum(EMAIL in m.rcpt_tos for m in smtp.received) == receipts
    with mail_app.app_context():
        details = [e.detail for e in db.session.scalars(sa.select(Event))]
    assert any("sensitive" in d for d in details if "not sent" in d) == (receipts == 0)


# --- 13. Receipts are capped per address, whatever its case or +tag, and per client --------


def test_receipts_are_capped_per_address_across_case_and_tags(app: Flask) -> None:
    client = app.test_client()
    for address in ("victim@example.org", "Victim+a@Example.org", "victim+b@example.org"):
        assert client.post("/", data=valid_form(email=address)).status_code == 303
    for address in ("VICTIM@example.org", "victim+c@example.org"):
        assert client.post("/", data=valid_form(email=address)).status_code == 303
    with app.app_context():
        receipts = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(OutboxEmail)
            .where(OutboxEmail.purpose == "reader_ack")
        )
        skipped = db.session.scalar(
            sa.select(sa.func.count()).select_from(Event).where(Event.kind == "ack_skipped")
        )
    assert (receipts, skipped) == (3, 2)


def test_receipts_are_capped_per_client(tmp_path: Path) -> None:
    app = make_app(
        tmp_path,
        RATELIMIT_ENABLED=True,
        INTAKE_RECEIPT_LIMIT="2 per hour",
        INTAKE_SUBMIT_LIMIT="100 per hour",
    )
    limiter.reset()
    client = app.test_client()
    for number in range(4):
        form = valid_form(email=f"person{number}@example.org")
        response = client.post("/", data=form, environ_base={"REMOTE_ADDR": "198.51.100.5"})
        assert response.status_code == 303
    with app.app_context():
        receipts = list(
            db.session.scalars(sa.select(OutboxEmail.id).where(OutboxEmail.purpose == "reader_ack"))
        )
        details = [e.detail for e in db.session.scalars(sa.select(Event))]
    limiter.reset()
    assert len(receipts) == 2
    assert details.count("reader's receipt not sent: too many from this client this hour") == 2


# --- 15. Files only their owner can read -----------------------------------------------


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.skipif(ENGINE != "sqlite", reason="the database files exist on SQLite only")
def test_instance_folder_and_database_files_are_private(tmp_path: Path) -> None:
    app = make_app(tmp_path / "fresh")
    app.test_client().post("/", data=valid_form())
    assert mode(Path(app.instance_path)) == 0o700
    database = Path(app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///"))
    files = [database, *database.parent.glob(database.name + "-*")]
    assert len(files) >= 2  # the database and its write-ahead log
    assert {f.name: mode(f) for f in files} == {f.name: 0o600 for f in files}


def test_the_mail_catchers_messages_are_private(tmp_path: Path) -> None:
    from intake import mailcatcher

    port = free_port()
    controller = mailcatcher.start(tmp_path / "mail", port)
    try:
        import smtplib

        with smtplib.SMTP("127.0.0.1", port, timeout=5) as client:
            client.sendmail("a@example.org", ["b@example.org"], b"Subject: x\r\n\r\nsecret")
    finally:
        controller.stop()
    [saved] = list((tmp_path / "mail").iterdir())
    assert mode(tmp_path / "mail") == 0o700 and mode(saved) == 0o600


# --- 11. No address in any log line, gunicorn's included --------------------------------


def test_gunicorn_logs_no_address_for_a_malformed_request(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    port = free_port()
    log_path = tmp_path / "gunicorn.log"
    env = {
        **os.environ,
        "INTAKE_ENV": "development",
        "SECRET_KEY": "x" * 32,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "INTAKE_INSTANCE": str(tmp_path / "instance"),
    }
    with log_path.open("wb") as log_file:
        server = subprocess.Popen(  # noqa: S603 - our own venv's gunicorn
            [
                str(BIN_DIR / "gunicorn"),
                "--config",
                "gunicorn.conf.py",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "1",
                "wsgi:app",
            ],
            cwd=ROOT,
            env=env,
            stdout=log_file,
            stderr=log_file,
        )
        try:
            deadline = time.monotonic() + 60
            while b"Booting worker" not in log_path.read_bytes():
                assert time.monotonic() < deadline, log_path.read_text()
                time.sleep(0.1)
            for request in (b"GARBAGE\r\n\r\n", b"GET / HTTP/1.1\r\nBad Header\r\n\r\n"):
                with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
                    connection.sendall(request)
                    connection.recv(1024)
            deadline = time.monotonic() + 10
            while b"Invalid request" not in log_path.read_bytes():
                assert time.monotonic() < deadline, log_path.read_text()
                time.sleep(0.1)
        finally:
            server.terminate()
            server.wait(timeout=30)
    logged = log_path.read_text()
    assert "Invalid request from ip=[address]" in logged
    assert "127.0.0.1:" not in logged.replace(f"127.0.0.1:{port}", "")  # the bind line only
    assert re.search(r"ip=\d", logged) is None


# --- 1/14 leftovers kept close to their features; see test_staff_sessions.py ----------


def test_staff_csv_of_a_reader_without_consent_has_empty_contact_columns(
    mail_app: Flask, smtp: SMTPSink, password_hash: str
) -> None:
    add_staff(mail_app, password_hash, admin_totp=ADMIN_TOTP)
    submit_without_consent(mail_app.test_client())
    client = mail_app.test_client()
    AuthActions(mail_app, client).login(STAFF["editor"][0])
    rows = list(csv.DictReader(io.StringIO(client.get("/staff/export.csv").text)))
    assert [(r["name"], r["email"]) for r in rows] == [("", "")]


def test_workflow_ignores_contact_details_without_consent(app: Flask) -> None:
    with app.test_request_context():
        workflow.submit(
            db.session,
            workflow.NewSubmission(
                kind="tip",
                topic="russia-ukraine-war",
                subject="",
                body="Straight into the workflow, past the form: long enough text.",
                name=NAME,
                email=EMAIL,
                consent_contact=False,
                consent_publish=False,
                sensitive=False,
                article="",
                author_slug="",
            ),
        )
        stored = db.session.scalars(sa.select(Submission)).one()
        assert (stored.name, stored.email) == ("", "")
