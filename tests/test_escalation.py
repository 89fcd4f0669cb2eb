"""Nothing waits unseen: an item its reporter does not acknowledge moves along the rota."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from intake import workflow
from intake.directory import parse_newsroom, sync_newsroom
from intake.extensions import db
from intake.models import Event, OutboxEmail, Reporter, StaffUser, Submission
from intake.routing import DeskInfo, ReporterInfo, shift_minutes
from intake.workflow.escalate import escalate_due, why_due
from tests.conftest import ADMIN_TOTP, AuthActions, SMTPSink, make_app

DESK = """
[newsroom]
name = "Example Daily"
public_url = "https://news.example.org"
sender = "tips@news.example.org"
default_desk = "world"

[[desks]]
slug = "world"
name = "World News"
email = "world@news.example.org"
ack_minutes = 60
editors = ["olena"]

[[topics]]
slug = "war"
label = "Russia-Ukraine war"
desk = "world"
keywords = ["war"]

[[reporters]]
slug = "iryna"
name = "Iryna Koval"
email = "iryna@news.example.org"
desks = ["world"]
topics = ["war"]
languages = ["uk", "en"]
timezone = "Europe/Kyiv"
shift = "08:00-23:00"

[[reporters]]
slug = "anna"
name = "Anna Lysenko"
email = "anna@news.example.org"
desks = ["world"]
topics = ["war"]
languages = ["uk"]
timezone = "UTC"
shift = "06:00-21:00"

[[reporters]]
slug = "olena"
name = "Olena Bondar"
email = "olena@news.example.org"
desks = ["world"]
languages = ["uk", "en"]
timezone = "UTC"
shift = "06:00-21:00"
"""
START = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
TIP = "Колона техніки рухається зараз через міст на північ від міста, я бачу її з вікна."


def desk_app(tmp_path: Path, text: str = DESK, **settings: object) -> Flask:
    """Return an app whose directory is the desk above (or the text given)."""
    app = make_app(tmp_path, **settings)
    with app.app_context():
        sync_newsroom(db.session, parse_newsroom(text))
        db.session.commit()
    return app


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    app = desk_app(tmp_path)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def send_tip(app: Flask, now: datetime = START, sensitive: bool = False) -> str:
    new = workflow.NewSubmission(
        kind="tip",
        topic="war",
        subject="",
        body=TIP,
        name="",
        email="",
        consent_contact=False,
        consent_publish=False,
        sensitive=sensitive,
        article="",
        author_slug="",
    )
    with app.test_request_context():
        return workflow.submit(db.session, new, now=now)


def escalate(app: Flask, minutes: int) -> str:
    at = (START + timedelta(minutes=minutes)).isoformat()
    result = app.test_cli_runner().invoke(args=["intake", "escalate", "--once", "--now", at])
    assert result.exit_code == 0, result.output
    return result.output


def holder(app: Flask, reference: str) -> str:
    with app.app_context():
        return db.session.scalars(
            sa.select(Reporter.slug)
            .join(Submission, Submission.assignee_id == Reporter.id)
            .where(Submission.reference == reference)
        ).one()


def notices(app: Flask, to: str) -> list[str]:
    with app.app_context():
        return list(
            db.session.scalars(
                sa.select(OutboxEmail.body)
                .where(OutboxEmail.recipient == to)
                .order_by(OutboxEmail.id)
            )
        )


def ack_path(body: str) -> str:
    found = re.search(r"https://news\.example\.org(/staff/ack/\S+)", body)
    assert found is not None, body
    return found.group(1)


def test_a_tip_nobody_acknowledges_goes_along_the_rota_then_to_the_editor_once(
    app: Flask,
) -> None:
    reference = send_tip(app)
    assert holder(app, reference) == "iryna"
    assert escalate(app, 59) == ""
    assert holder(app, reference) == "iryna"

    assert f"escalated {reference}" in escalate(app, 61)
    assert holder(app, reference) == "anna"
    [notice] = notices(app, "anna@news.example.org")
    assert (
        "escalated: Iryna Koval did not acknowledge within 60 min; "
        "on shift now and reads Ukrainian: Anna Lysenko" in notice
    )
    assert "/staff/ack/" in notice

    assert "editors emailed" in escalate(app, 122)
    assert len(notices(app, "olena@news.example.org")) == 1
    escalate(app, 200)
    assert len(notices(app, "olena@news.example.org")) == 1  # once
    with app.app_context():
        kinds = db.session.scalars(
            sa.select(Event.kind).join(Submission).where(Submission.reference == reference)
        ).all()
        assert kinds.count("escalated") == 2


def test_the_acknowledge_link_and_its_button_stop_the_chain(app: Flask) -> None:
    reference = send_tip(app)
    escalate(app, 61)
    path = ack_path(notices(app, "anna@news.example.org")[0])
    client = app.test_client()
    page = client.get(path)
    assert page.status_code == 200 and f"Acknowledge {reference}" in page.text
    assert client.post(path).status_code == 200
    with app.app_context():
        item = db.session.scalars(sa.select(Submission)).one()
        assert (item.acknowledged_by, item.acknowledged_at is not None) == (
            "anna@news.example.org",
            True,
        )
    assert escalate(app, 122) == ""
    assert notices(app, "olena@news.example.org") == []
    assert holder(app, reference) == "anna"


def test_following_the_link_without_the_button_acknowledges_nothing(app: Flask) -> None:
    reference = send_tip(app)
    escalate(app, 61)
    path = ack_path(notices(app, "anna@news.example.org")[0])
    assert app.test_client().get(path).status_code == 200
    with app.app_context():
        assert db.session.scalars(sa.select(Submission.acknowledged_at)).one() is None
    assert "editors emailed" in escalate(app, 122)
    assert holder(app, reference) == "anna"


def test_the_first_notices_link_no_longer_works_once_the_item_moved_on(app: Flask) -> None:
    send_tip(app)
    first = ack_path(notices(app, "iryna@news.example.org")[0])
    escalate(app, 61)
    client = app.test_client()
    assert client.get(first).status_code == 410
    assert client.post(first).status_code == 410
    with app.app_context():
        assert db.session.scalars(sa.select(Submission.acknowledged_at)).one() is None


def test_a_forged_link_is_not_found(app: Flask) -> None:
    send_tip(app)
    assert app.test_client().get("/staff/ack/WzEsMSwxXQ.forged").status_code == 404


def test_two_workers_at_once_escalate_an_item_once(app: Flask) -> None:
    send_tip(app)
    start = threading.Barrier(2)
    results: list[int] = []

    def worker() -> None:
        with app.app_context():
            start.wait(timeout=30)
            done = escalate_due(db.session, START + timedelta(minutes=61))
            results.append(len(done.handed_on))
            db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(results) == [0, 1]
    assert len(notices(app, "anna@news.example.org")) == 1


def test_now_must_carry_a_time_zone(app: Flask) -> None:
    result = app.test_cli_runner().invoke(
        args=["intake", "escalate", "--once", "--now", "2026-12-02T10:00:00"]
    )
    assert result.exit_code == 2 and "give the time zone" in result.output


def add_editor() -> StaffUser:
    """Add an editor's account (inside an app context); signing in is not needed here."""
    editor = StaffUser(
        email="editor@news.example.org", role="editor", password_hash="x", session_token="t"
    )
    db.session.add(editor)
    db.session.commit()
    return editor


def test_any_staff_action_acknowledges(app: Flask) -> None:
    reference = send_tip(app)
    with app.app_context():
        editor = add_editor()
        item = db.session.scalars(sa.select(Submission)).one()
        workflow.add_note(db.session, item, editor, "Calling the reader's town now.", None)
    assert escalate(app, 61) == ""
    assert holder(app, reference) == "iryna"
    with app.app_context():
        event = db.session.scalars(sa.select(Event).where(Event.kind == "acknowledged")).one()
        assert (event.actor, event.detail) == ("editor@news.example.org", "by acting on it")


@pytest.mark.parametrize(
    ("shift", "zone", "start", "end", "minutes"),
    [
        ("06:00-21:00", "UTC", "09:00", "10:01", 61),
        ("06:00-21:00", "UTC", "20:30", "23:00", 30),  # the shift ended at 21:00
        ("06:00-21:00", "UTC", "22:00", "23:59", 0),  # off shift all along
        ("22:00-06:00", "UTC", "21:00", "23:00", 60),  # a night shift, begun this evening
        ("22:00-06:00", "UTC", "05:00", "07:00", 60),  # ... and the one begun last night
        ("08:00-23:00", "Europe/Kyiv", "05:30", "06:30", 30),  # 08:00 in Kyiv is 06:00 UTC
    ],
)
def test_the_clock_counts_only_minutes_on_shift(
    shift: str, zone: str, start: str, end: str, minutes: int
) -> None:
    reporter = ReporterInfo("r", "R", "r@x.org", ("world",), ("war",), ("uk",), zone, shift)

    def at(hhmm: str) -> datetime:
        return datetime.fromisoformat(f"2026-12-02T{hhmm}:00+00:00")

    assert shift_minutes(reporter, at(start), at(end)) == minutes


def test_a_shift_that_ends_hands_its_unacknowledged_items_on(app: Flask) -> None:
    late = START.replace(hour=20, minute=40)  # Iryna's shift ends at 21:00 UTC (23:00 Kyiv)
    with app.app_context():
        item_id = get_item_id(app)
        item = db.session.get(Submission, item_id)
        assert item is not None
        item.assigned_at = late
        db.session.commit()
    with app.app_context():
        item = db.session.get(Submission, item_id)
        assert item is not None
        iryna = ReporterInfo(
            "iryna", "Iryna Koval", "", ("world",), ("war",), ("uk",), "Europe/Kyiv", "08:00-23:00"
        )
        desk = DeskInfo("world", "World News", "w@x.org")
        assert why_due(iryna, desk, item, late + timedelta(minutes=15)) == ""
        assert why_due(iryna, desk, item, late + timedelta(minutes=25)) == (
            "Iryna Koval's shift ended before they acknowledged it"
        )


def get_item_id(app: Flask) -> int:
    send_tip(app)
    with app.app_context():
        return db.session.scalars(sa.select(Submission.id)).one()


def test_the_worker_escalates_and_sends_digests_when_told_to(
    tmp_path: Path, smtp: SMTPSink
) -> None:
    app = desk_app(
        tmp_path,
        DESK.replace('editors = ["olena"]', 'editors = ["olena"]\ndigest_hour = 0'),
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=smtp.port,
        MAIL_TIMEOUT=5,
        INTAKE_WORKER_ROTA=True,
    )
    # Received two days ago, 09:00 UTC, when Iryna was on shift: long past its 60 minutes,
    # whatever the time of this run (to Anna if she is on shift now, else to the editor).
    sent_at = (datetime.now(UTC) - timedelta(days=2)).replace(hour=9, minute=0)
    reference = send_tip(app, now=sent_at)
    result = app.test_cli_runner().invoke(args=["intake", "worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "sent the world desk's digest" in result.output
    assert f"escalated {reference}" in result.output
    received = {to for item in smtp.received for to in item.rcpt_tos}
    assert "olena@news.example.org" in received  # the digest, at least
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_the_inbox_marks_an_escalated_item_in_words_and_filters_by_it(
    app: Flask, password_hash: str
) -> None:
    reference = send_tip(app)
    escalate(app, 61)
    with app.app_context():
        db.session.add(
            StaffUser(
                email="editor@example.org",
                role="editor",
                password_hash=password_hash,
                session_token="e" * 64,
                totp_secret=ADMIN_TOTP,
            )
        )
        db.session.commit()
    client = app.test_client()
    AuthActions(app, client).login("editor@example.org")
    page = client.get("/staff/?view=all&flag=escalated")
    assert page.status_code == 200
    row = re.search(rf"{reference}.*?</tr>", page.text, re.S)
    assert row is not None and ">escalated</li>" in row.group(0)


def test_the_acknowledge_link_also_ends_the_overdue_mark(app: Flask) -> None:
    send_tip(app)
    escalate(app, 61)
    app.test_client().post(ack_path(notices(app, "anna@news.example.org")[0]))
    with app.app_context():
        item = db.session.scalars(sa.select(Submission)).one()
        assert item.first_action_at == item.acknowledged_at is not None


def test_an_escalated_sensitive_tip_keeps_its_text_out_of_every_email(app: Flask) -> None:
    send_tip(app, sensitive=True)
    escalate(app, 61)
    escalate(app, 122)
    for to in ("anna@news.example.org", "olena@news.example.org"):
        [body] = notices(app, to)
        assert TIP not in body and "marked this tip as sensitive" in body


def test_an_item_reassigned_to_a_colleague_starts_their_own_clock(app: Flask) -> None:
    reference = send_tip(app)
    with app.app_context():
        editor = add_editor()
        item = db.session.scalars(sa.select(Submission)).one()
        # Reassigned at the time the tip came in (the action's own time is the clock's).
        workflow.assign(db.session, item, editor, workflow.Target("reporter", "anna"), None)
        item.assigned_at = START
        db.session.commit()
    assert "/staff/ack/" in notices(app, "anna@news.example.org")[0]
    assert f"escalated {reference}" in escalate(app, 61)
    assert holder(app, reference) == "iryna"


def test_an_item_given_out_in_a_shifts_last_minute_goes_on_when_it_ends(app: Flask) -> None:
    item_id = get_item_id(app)
    with app.app_context():
        item = db.session.get(Submission, item_id)
        assert item is not None
        item.assigned_at = datetime(2026, 12, 2, 20, 59, 30, tzinfo=UTC)  # Iryna ends at 21:00
        iryna = ReporterInfo(
            "iryna", "Iryna Koval", "", ("world",), ("war",), ("uk",), "Europe/Kyiv", "08:00-23:00"
        )
        desk = DeskInfo("world", "World News", "w@x.org")
        at = datetime(2026, 12, 2, 21, 5, tzinfo=UTC)
        assert (
            why_due(iryna, desk, item, at)
            == "Iryna Koval's shift ended before they acknowledged it"
        )
