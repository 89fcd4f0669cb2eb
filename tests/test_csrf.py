"""CSRF is enforced on the public form, and a failed token never loses the reader's text."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from intake.extensions import db
from intake.models import Submission
from tests.conftest import count, make_app, valid_form


@pytest.fixture
def csrf_app(tmp_path: Path) -> Iterator[Flask]:
    """An app with CSRF protection on, as in production."""
    app = make_app(tmp_path, WTF_CSRF_ENABLED=True)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def token_from(client: FlaskClient) -> str:
    html = client.get("/").get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert match, "the form carries a CSRF token"
    return match.group(1)


def test_post_with_the_forms_token_is_accepted(csrf_app: Flask) -> None:
    client = csrf_app.test_client()
    response = client.post("/", data=valid_form(csrf_token=token_from(client)))
    assert response.status_code == 303
    assert count(csrf_app, Submission) == 1


@pytest.mark.parametrize("token", [None, "", "forged-token"])
def test_post_without_a_valid_token_is_refused_with_the_text_kept(
    csrf_app: Flask, token: str | None
) -> None:
    client = csrf_app.test_client()
    token_from(client)  # a session exists, as for a reader who opened the form
    form = valid_form(body="Текст, який не можна втратити: деталі про обстріл.")
    if token is not None:
        form["csrf_token"] = token
    response = client.post("/", data=form)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "the message was not sent" in html
    assert "Текст, який не можна втратити: деталі про обстріл." in html
    assert count(csrf_app, Submission) == 0
    # The page carries a fresh token, so sending again works.
    fresh = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert fresh
    form["csrf_token"] = fresh.group(1)
    assert client.post("/", data=form).status_code == 303


def test_session_cookie_is_httponly_and_samesite(csrf_app: Flask) -> None:
    client = csrf_app.test_client()
    response = client.get("/")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
