"""Story links a reader sent are links only on the newsroom's own sites."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from intake.links import defang, default_hosts, is_newsroom_link, newsroom_hosts
from tests.conftest import AuthActions, SMTPSink, make_submission, valid_form

HOSTS = ("example.org",)


@pytest.mark.parametrize(
    ("url", "linked"),
    [
        ("https://example.org/world/kharkiv", True),
        ("https://www.example.org/world/kharkiv", True),
        ("http://news.example.org/a?b=c", True),
        ("https://EXAMPLE.ORG./x", True),
        ("https://evil.example/world", False),
        ("https://example.org.evil.example/", False),
        ("https://notexample.org/", False),
        ("https://example.org@evil.example/", False),
        ("https://user:pass@example.org/", False),
        ("javascript:alert(1)//example.org", False),
        ("ftp://example.org/file", False),
        ("https://[::1]/", False),
        ("not a url", False),
    ],
)
def test_only_the_newsrooms_hosts_are_links(url: str, linked: bool) -> None:
    assert is_newsroom_link(url, HOSTS) is linked


@pytest.mark.parametrize(
    ("public_url", "hosts"),
    [
        ("https://tips.example.org", ("example.org",)),
        ("https://example.org", ("example.org",)),
        ("https://tips.news.example.co.uk/", ("news.example.co.uk",)),
        ("http://127.0.0.1:5000", ("127.0.0.1",)),
        ("http://localhost:5000", ("localhost",)),
    ],
)
def test_the_default_is_public_urls_host_less_its_first_label(
    public_url: str, hosts: tuple[str, ...]
) -> None:
    assert default_hosts(public_url) == hosts


def test_the_setting_replaces_the_default() -> None:
    assert newsroom_hosts("example.com, *.example.net example.com", "https://tips.example.org") == (
        "example.com",
        "example.net",
    )
    assert newsroom_hosts("", "https://tips.example.org") == ("example.org",)


def test_defanged_addresses_are_not_links() -> None:
    assert defang("https://evil.example/a.b") == "https[:]//evil[.]example/a[.]b"


def test_staff_page_links_our_story_and_not_another_site(
    app: Flask, client: FlaskClient, auth: AuthActions, staff: dict[str, str]
) -> None:
    app.config["INTAKE_ARTICLE_HOSTS"] = "example.org"
    ours = make_submission(app, article="https://www.example.org/world/kharkiv")
    theirs = make_submission(app, article="https://evil.example/login")
    auth.login(staff["editor"])
    ours_page = client.get(f"/staff/s/{ours}").get_data(as_text=True)
    theirs_page = client.get(f"/staff/s/{theirs}").get_data(as_text=True)
    assert '<a href="https://www.example.org/world/kharkiv"' in ours_page
    assert 'href="https://evil.example' not in theirs_page
    assert "https://evil.example/login" in theirs_page and "not linked" in theirs_page


def test_the_reporters_email_defangs_another_sites_address(mail_app: Flask, smtp: SMTPSink) -> None:
    mail_app.config["INTAKE_ARTICLE_HOSTS"] = "example.org"
    client = mail_app.test_client()
    client.post("/", data=valid_form(article="https://evil.example/login", reporter="iryna"))
    client.post("/", data=valid_form(article="https://example.org/world/x", reporter="iryna"))
    mail_app.test_cli_runner().invoke(args=["intake", "worker", "--once"])
    texts = [m.text() for m in smtp.received]
    assert any("https[:]//evil[.]example/login" in t for t in texts)
    assert not any("https://evil.example" in t for t in texts)
    assert any("From the story: https://example.org/world/x" in t for t in texts)
