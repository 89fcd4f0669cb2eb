"""Health checks answer for the process and for its database."""

from __future__ import annotations

from pathlib import Path

from flask.testing import FlaskClient

from intake import create_app
from intake.extensions import db
from tests.conftest import settings


def test_healthz_checks_the_database(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {
        "status": "ok",
        "database": "ok",
        "outbox": {"due": 0, "oldest_due_seconds": 0, "failed_24h": 0, "retrying": 0},
    }


def test_healthz_answers_503_when_the_database_is_gone(tmp_path: Path) -> None:
    missing = f"sqlite:///{tmp_path / 'no-such-folder' / 'intake.sqlite3'}"
    app = create_app(settings(tmp_path, SQLALCHEMY_DATABASE_URI=missing))
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json == {"status": "unavailable", "database": "unreachable"}
    with app.app_context():
        db.engine.dispose()


def test_liveness_needs_no_database(client: FlaskClient) -> None:
    assert client.get("/healthz/live").json == {"status": "ok"}
