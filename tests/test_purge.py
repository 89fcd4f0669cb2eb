"""Retention: purge erases readers' text, contact details and files, and leaves no trace."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from intake import search
from intake.extensions import db
from intake.models import Attachment, Event, OutboxEmail, Submission, utcnow
from tests.conftest import ENGINE, get_submission, post_multipart, stored_text, valid_form

SECRET_WORD = "xylophonequartz"
SECRET_UK = "Жовтокрилий"
NAME = "Olena Pryvatna"
EMAIL = "olena.pryvatna@example.org"


def submit_with_file(client: FlaskClient, **fields: str) -> str:
    values = {
        "body": f"{SECRET_WORD} {SECRET_UK}: the governor's memo leaked this morning.",
        "subject": f"About {SECRET_WORD}",
        "name": NAME,
        "email": EMAIL,
        "consent_contact": "y",
        "reporter": "iryna",
        **fields,
    }
    data = {
        **valid_form(**values),
        "files": [(io.BytesIO(f"attachment {SECRET_WORD}".encode()), "memo.txt")],
    }
    response = post_multipart(client, "/", data)
    assert response.status_code == 303
    return response.headers["Location"].removeprefix("/thanks/")


def close(app: Flask, reference: str, days_ago: int) -> None:
    with app.app_context():
        sub = db.session.scalars(
            sa.select(Submission).where(Submission.reference == reference)
        ).one()
        sub.status = "closed"
        sub.closed_at = utcnow() - timedelta(days=days_ago)
        db.session.add(
            Event(
                submission_id=sub.id,
                kind="note",
                actor="ed@example.org",
                detail=f"Called {NAME} about {SECRET_WORD}",
            )
        )
        db.session.commit()


def database_bytes(app: Flask, tmp_path: Path) -> bytes:
    return stored_text(app, tmp_path)


def test_purge_erases_old_closed_submissions_and_leaves_no_text_in_the_file(
    app: Flask, client: FlaskClient, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    old = submit_with_file(client)
    recent = submit_with_file(client, subject="Recent one")
    close(app, old, days_ago=200)
    close(app, recent, days_ago=10)
    uploads = Path(app.config["INTAKE_UPLOADS"])
    assert len(list(uploads.iterdir())) == 2
    assert SECRET_WORD.encode() in database_bytes(app, tmp_path)  # the test can see text

    result = runner.invoke(args=["intake", "purge"])
    assert result.exit_code == 0, result.output
    assert "erased 1 submission(s), 1 file(s)" in result.output

    gone = get_submission(app, old)
    assert (gone.subject, gone.body, gone.name, gone.email, gone.article) == ("", "", "", "", "")
    assert gone.purged_at is not None
    # What statistics need stays.
    assert gone.reference == old and gone.status == "closed" and gone.created_at
    assert gone.topic is not None and gone.desk is not None and gone.language
    assert gone.events[-1].kind == "purged"
    assert "closed over 180 days ago" in gone.events[-1].detail
    assert all(SECRET_WORD not in e.detail for e in gone.events)
    kept = get_submission(app, recent)
    assert SECRET_WORD in kept.body

    # Remove the recent one too, then no reader text may remain anywhere in the file.
    assert runner.invoke(args=["intake", "purge", "--reference", recent]).exit_code == 0
    raw = database_bytes(app, tmp_path)
    for secret in (SECRET_WORD, SECRET_UK, NAME, EMAIL, "governor"):
        assert secret.encode() not in raw, secret
        assert secret.lower().encode() not in raw, secret
    assert list(uploads.iterdir()) == []
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Attachment)) == 0
        match = search.matches(ENGINE, SECRET_WORD)
        assert match is not None
        assert db.session.scalars(sa.select(Submission).where(match)).all() == []


def test_open_submissions_are_never_purged_by_retention(
    app: Flask, client: FlaskClient, runner: FlaskCliRunner
) -> None:
    reference = submit_with_file(client)
    with app.app_context():
        sub = db.session.scalars(sa.select(Submission)).one()
        sub.created_at = utcnow() - timedelta(days=999)
        db.session.commit()
    assert "erased 0 submission(s)" in runner.invoke(args=["intake", "purge", "--days", "1"]).output
    assert SECRET_WORD in get_submission(app, reference).body


def test_purge_by_email_erases_every_submission_and_every_email_to_it(
    app: Flask, client: FlaskClient, runner: FlaskCliRunner
) -> None:
    first = submit_with_file(client)
    second = submit_with_file(client)
    result = runner.invoke(args=["intake", "purge", "--email", EMAIL.upper()])
    assert result.exit_code == 0
    assert "erased 2 submission(s), 2 file(s)" in result.output
    for reference in (first, second):
        assert get_submission(app, reference).email == ""
    with app.app_context():
        emails = list(db.session.scalars(sa.select(OutboxEmail)))
    assert emails and all(EMAIL not in (e.recipient + e.body + e.reply_to) for e in emails)
    assert all(SECRET_WORD not in e.body + e.subject for e in emails)
    # Unsent copies are cancelled, not sent with their text gone.
    assert all(e.state != "pending" for e in emails)


def test_purge_refuses_bad_requests(runner: FlaskCliRunner) -> None:
    assert "not a reference" in runner.invoke(args=["intake", "purge", "--reference", "x"]).output
    missing = runner.invoke(args=["intake", "purge", "--reference", "T-2345-6789"])
    assert missing.exit_code == 1 and "no submission T-2345-6789" in missing.output
    both = runner.invoke(args=["intake", "purge", "--reference", "T-2345-6789", "--email", "a@b.c"])
    assert both.exit_code == 2


def test_orphaned_files_from_a_crash_are_removed(app: Flask, runner: FlaskCliRunner) -> None:
    import os
    import time

    uploads = Path(app.config["INTAKE_UPLOADS"])
    uploads.mkdir(parents=True, exist_ok=True)
    orphan = uploads / ("a" * 32)
    orphan.write_bytes(b"left by a crash")
    fresh = uploads / ("b" * 32)
    fresh.write_bytes(b"a submit in progress")
    two_hours_ago = time.time() - 7200
    os.utime(orphan, (two_hours_ago, two_hours_ago))
    result = runner.invoke(args=["intake", "purge"])
    assert "removed 1 orphaned file(s)" in result.output
    assert not orphan.exists() and fresh.exists()


@pytest.mark.skipif(ENGINE != "sqlite", reason="SQLite's write-ahead log; PostgreSQL has none here")
def test_purge_fails_loudly_while_the_log_cannot_be_emptied(
    app: Flask, client: FlaskClient, runner: FlaskCliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    from intake.workflow import purge as purging

    monkeypatch.setattr(purging, "CHECKPOINT_SECONDS", 0.5)
    reference = submit_with_file(client)
    reader = sa.create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    with reader.connect() as connection:
        # Another process reading an old snapshot: the checkpoint cannot truncate the log.
        connection.exec_driver_sql("BEGIN")
        connection.exec_driver_sql("SELECT count(*) FROM submissions").all()
        result = runner.invoke(args=["intake", "purge", "--reference", reference])
        assert result.exit_code == 1
        assert "purge incomplete" in result.output and "write-ahead log" in result.output
        connection.exec_driver_sql("ROLLBACK")
    reader.dispose()
    again = runner.invoke(args=["intake", "purge", "--reference", reference])
    assert again.exit_code == 0, again.output
    assert get_submission(app, reference).purged_at is not None
