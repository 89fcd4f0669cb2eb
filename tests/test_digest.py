"""Each desk's morning digest: once a day at its hour, figures and references only."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from intake.extensions import db
from intake.models import OutboxEmail
from intake.workflow.digest import send_digests
from tests.test_escalation import START, TIP, desk_app, escalate, send_tip

MORNING = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)  # the desk's digest_hour (8, UTC)


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    app = desk_app(tmp_path)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def digests(app: Flask) -> list[OutboxEmail]:
    with app.app_context():
        return list(
            db.session.scalars(
                sa.select(OutboxEmail)
                .where(OutboxEmail.purpose == "digest")
                .order_by(OutboxEmail.id)
            )
        )


def run(app: Flask, at: datetime) -> list[str]:
    with app.app_context():
        return send_digests(db.session, at)


def test_the_digest_goes_to_the_desks_editor_once_a_day_at_its_hour(app: Flask) -> None:
    assert run(app, MORNING - timedelta(minutes=1)) == []
    assert run(app, MORNING) == ["world"]
    assert run(app, MORNING + timedelta(hours=3)) == []
    [sent] = digests(app)
    assert sent.recipient == "olena@news.example.org"
    assert run(app, MORNING + timedelta(days=1)) == ["world"]
    assert len(digests(app)) == 2


def test_the_digest_counts_and_names_references_never_the_readers_words(app: Flask) -> None:
    reference = send_tip(app)
    escalate(app, 61)  # to Anna, escalated
    run(app, START + timedelta(hours=23))
    [sent] = digests(app)
    assert "1 new, 0 unassigned, 1 escalated, 1 overdue" in sent.subject
    assert f"Oldest waiting:       {reference}" in sent.body
    assert f"https://news.example.org/staff/s/{reference}" in sent.body
    assert TIP not in sent.body and TIP[:20] not in sent.body
    assert "Today's rota gaps:" in sent.body


def test_two_workers_at_once_send_one_digest(app: Flask) -> None:
    start = threading.Barrier(2)

    def worker() -> None:
        with app.app_context():
            start.wait(timeout=30)
            send_digests(db.session, MORNING)
            db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(digests(app)) == 1
