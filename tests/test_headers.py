"""Security headers on every page, cookie flags, and templates with no inline script or style."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import AuthActions, make_app, make_submission

TEMPLATES = Path(__file__).resolve().parent.parent / "intake" / "templates"


def pages(app: Flask, client: FlaskClient, auth: AuthActions, staff: dict[str, str]) -> list[str]:
    ref = make_submission(app, author_slug="iryna")
    auth.login(staff["editor"])
    return [
        "/",
        "/?kind=question",
        "/thanks/T-2345-6789",
        "/no-such-page",
        "/staff/login",
        "/staff/",
        f"/staff/s/{ref}",
        "/staff/export.csv",
        "/staff/logout",
        "/staff/2fa",
    ]


def test_every_page_sends_the_security_headers(
    app: Flask, client: FlaskClient, auth: AuthActions, staff: dict[str, str]
) -> None:
    for url in pages(app, client, auth, staff):
        headers = client.get(url).headers
        csp = headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "style-src 'self'" in csp, url
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, url
        assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp, url
        assert headers["X-Frame-Options"] == "DENY", url
        assert headers["Referrer-Policy"] == "no-referrer", url
        assert headers["X-Content-Type-Options"] == "nosniff", url
        assert "geolocation=()" in headers["Permissions-Policy"], url
        assert headers["Cache-Control"] == "no-store", url
        assert "Strict-Transport-Security" not in headers, url  # plain HTTP: no HSTS


def test_hsts_over_https(client: FlaskClient) -> None:
    headers = client.get("/", base_url="https://tips.example.org").headers
    assert headers["Strict-Transport-Security"].startswith("max-age=")


def test_newsroom_site_may_frame_the_form_but_never_staff_pages(tmp_path: Path) -> None:
    app = make_app(tmp_path, INTAKE_FRAME_ANCESTORS="https://www.example.org")
    client = app.test_client()
    public = client.get("/").headers
    assert "frame-ancestors https://www.example.org" in public["Content-Security-Policy"]
    assert "X-Frame-Options" not in public
    staff = client.get("/staff/login").headers
    assert "frame-ancestors 'none'" in staff["Content-Security-Policy"]


@pytest.mark.parametrize("template", sorted(TEMPLATES.rglob("*.html")), ids=lambda p: p.name)
def test_templates_have_no_inline_script_or_style(template: Path) -> None:
    text = template.read_text(encoding="utf-8")
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), "inline <script>"
    assert "<style" not in text
    assert not re.search(r"\sstyle=", text)
    assert not re.search(r"\son[a-z]+=", text), "inline event handler"


def test_session_cookie_flags(
    client: FlaskClient, auth: AuthActions, staff: dict[str, str]
) -> None:
    auth.login(staff["editor"])
    cookie = client.get_cookie("session")
    assert cookie is not None
    assert cookie.http_only
    assert cookie.same_site == "Lax"


def test_production_cookies_are_secure(tmp_path: Path) -> None:
    from config import ProductionConfig

    app = make_app(
        tmp_path,
        SESSION_COOKIE_SECURE=ProductionConfig.SESSION_COOKIE_SECURE,
        WTF_CSRF_ENABLED=True,  # the form's token is what puts a cookie on a reader's page
    )
    client = app.test_client()
    response = client.get("/", base_url="https://tips.example.org")
    set_cookie = response.headers.get("Set-Cookie", "")
    assert "Secure" in set_cookie and "HttpOnly" in set_cookie and "SameSite=Lax" in set_cookie
