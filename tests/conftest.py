"""Fixtures: a fresh app and database for every test, a client, a CLI runner."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from config import TestingConfig
from intake import create_app
from intake.directory import read_newsroom, sync_newsroom
from intake.extensions import db
from intake.models import Event, Submission

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_NEWSROOM = ROOT / "newsroom.example.toml"


def settings(tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    """Return the testing settings with a database and instance folder of the test's own."""
    values = {key: getattr(TestingConfig, key) for key in dir(TestingConfig) if key.isupper()}
    values["INSTANCE_PATH"] = str(tmp_path / "instance")
    values["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmp_path / 'intake.sqlite3'}"
    values.update(overrides)
    return values


def make_app(tmp_path: Path, **overrides: Any) -> Flask:
    """Create an app with an empty schema and the example newsroom loaded."""
    app = create_app(settings(tmp_path, **overrides))
    with app.app_context():
        db.create_all()
        sync_newsroom(db.session, read_newsroom(EXAMPLE_NEWSROOM))
        db.session.commit()
    return app


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    """An app with CSRF off (one test file turns it on) and the example newsroom."""
    app = make_app(tmp_path)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client for the app."""
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    """A runner for the app's `flask` commands."""
    return app.test_cli_runner()


def valid_form(**overrides: str) -> dict[str, str]:
    """Return a form a reader could send, with fields replaced as given."""
    form = {
        "kind": "tip",
        "topic": "russia-ukraine-war",
        "subject": "Power cuts",
        "body": "The power went out again in the city centre this morning.",
        "name": "",
        "email": "",
        "article": "",
        "reporter": "",
    }
    form.update(overrides)
    return form


def submissions(app: Flask) -> list[Submission]:
    """Return every stored submission, oldest first."""
    with app.app_context():
        return list(db.session.scalars(sa.select(Submission).order_by(Submission.id)))


def count(app: Flask, model: type[Submission] | type[Event]) -> int:
    """Count the rows of a table."""
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0


def field_errors(html: str) -> dict[str, str]:
    """Map each field id to the error message shown next to it."""
    found = re.findall(r'<p class="error" id="([\w-]+)-error">([^<]*)</p>', html)
    return {field: unescape(message) for field, message in found}
