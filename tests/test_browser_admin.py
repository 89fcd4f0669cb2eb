"""The admin pages in a real browser: a reporter leaves and their items go to the desk's
inbox; a new account's link sets a password; and axe finds nothing serious on any page."""

from __future__ import annotations

import re
from pathlib import Path

import sqlalchemy as sa
from playwright.sync_api import Browser, FilePayload, Page, expect

from intake import directory
from intake.extensions import db
from intake.models import OutboxEmail, Submission
from tests.conftest import (
    DESK_HOURS,
    EXAMPLE_NEWSROOM,
    STAFF_PASSWORD,
    LiveServer,
    make_submission,
    next_code,
)
from tests.test_admin_newsroom import without_reporter
from tests.test_browser import TIP, assert_no_serious_violations, axe_violations

ADMIN = "admin@example.org"
EXAMPLE = EXAMPLE_NEWSROOM.read_text(encoding="utf-8")


def sign_in_as_admin(page: Page, server: LiveServer) -> None:
    """Sign in as the admin: password, then the authenticator's code."""
    page.goto(server.url + "/staff/login")
    page.get_by_label("Email").fill(ADMIN)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/staff/login/code")
    page.get_by_label("Code from your authenticator app").fill(next_code(server.app, ADMIN))
    page.keyboard.press("Enter")
    page.wait_for_url(server.url + "/staff/")


def directory_file(server: LiveServer, tmp_path: Path) -> Path:
    """Give the server the directory file it was loaded from (INTAKE_NEWSROOM)."""
    path = tmp_path / "newsroom.toml"
    path.write_text(EXAMPLE, encoding="utf-8")
    server.app.config["INTAKE_NEWSROOM"] = str(path)
    return path


def toml(text: str, name: str = "newsroom.toml") -> FilePayload:
    return {"name": name, "mimeType": "text/plain", "buffer": text.encode("utf-8")}


def test_admin_deactivates_a_reporter_and_moves_their_items(
    page: Page, live_server: LiveServer, tmp_path: Path
) -> None:
    path = directory_file(live_server, tmp_path)
    references = [
        make_submission(live_server.app, body=TIP, author_slug="iryna", now=DESK_HOURS)
        for _ in range(2)
    ]
    sign_in_as_admin(page, live_server)
    page.get_by_role("link", name="Admin").click()
    page.get_by_role("link", name="Newsroom directory").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Newsroom directory")

    page.get_by_label("Directory file (TOML, at most 256 KB)").set_input_files(
        toml(without_reporter(EXAMPLE, "iryna"))
    )
    page.get_by_role("button", name="Check the file").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "What applying newsroom.toml would change"
    )
    expect(page.locator(".admin-diff .deactivated")).to_contain_text("Iryna Koval (iryna)")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("status")).to_contain_text(f"Applied and saved to {path}.")
    assert path.read_text(encoding="utf-8") == without_reporter(EXAMPLE, "iryna")

    warnings = page.locator(".admin-warnings")
    expect(warnings).to_contain_text("Iryna Koval is no longer in the directory")
    expect(warnings).to_contain_text("still holds 2 open items")
    warnings.get_by_role("button", name="Move 2 items to the World News inbox").click()
    expect(page.get_by_role("status")).to_contain_text("Moved 2 item(s) to the inbox of World News")
    expect(page.locator(".admin-warnings")).not_to_contain_text("Iryna Koval is no longer")

    with live_server.app.app_context():
        moved = db.session.scalars(
            sa.select(Submission).where(Submission.reference.in_(references))
        ).all()
        assert [(s.assignee_id, s.desk and s.desk.slug) for s in moved] == [(None, "world")] * 2
        notices = db.session.scalars(
            sa.select(OutboxEmail.recipient).where(
                OutboxEmail.purpose == "reporter_notice",
                OutboxEmail.recipient == "worldnews@example.org",
            )
        ).all()
        assert len(notices) == 2


def test_a_new_colleague_sets_their_password_from_the_emailed_link(
    browser: Browser, page: Page, live_server: LiveServer
) -> None:
    sign_in_as_admin(page, live_server)
    page.goto(live_server.url + "/staff/admin/accounts")
    page.get_by_label("Email", exact=True).fill("olek@example.org")
    page.get_by_label("Role", exact=True).select_option("editor")
    page.get_by_role("button", name="Create and email a link").click()
    expect(page.get_by_role("status")).to_contain_text("Created olek@example.org (editor)")
    link = invitation_link(live_server, "olek@example.org")

    newcomer = browser.new_context().new_page()
    newcomer.goto(live_server.url + link)
    newcomer.get_by_label("New password").fill("a long passphrase of mine")
    newcomer.get_by_label("The same password again").fill("a long passphrase of mine")
    newcomer.get_by_role("button", name="Set password").click()
    expect(newcomer.get_by_role("status")).to_contain_text("Your password is set")
    newcomer.get_by_label("Email").fill("olek@example.org")
    newcomer.get_by_label("Password").fill("a long passphrase of mine")
    newcomer.get_by_role("button", name="Sign in").click()
    expect(newcomer.get_by_role("heading", level=1)).to_have_text("Two-factor sign-in")
    newcomer.context.close()


def invitation_link(server: LiveServer, address: str) -> str:
    with server.app.app_context():
        body = db.session.scalars(
            sa.select(OutboxEmail.body)
            .where(OutboxEmail.recipient == address)
            .order_by(OutboxEmail.id.desc())
        ).first()
    assert body is not None
    found = re.search(r"/staff/password/[\w.-]+", body)
    assert found is not None
    return found.group(0)


def test_no_serious_accessibility_violations_on_the_admin_pages(
    browser: Browser, live_server: LiveServer, tmp_path: Path
) -> None:
    directory_file(live_server, tmp_path)
    make_submission(live_server.app, body=TIP, author_slug="iryna", now=DESK_HOURS)
    with live_server.app.app_context():
        # Iryna has left: the newsroom page shows its warnings.
        newsroom = directory.parse_newsroom(without_reporter(EXAMPLE, "iryna"))
        directory.sync_newsroom(db.session, newsroom)
        db.session.commit()
    # Our CSP forbids injected scripts; axe is the test's own, so this context lets it in.
    context = browser.new_context(bypass_csp=True)
    page = context.new_page()
    results: dict[str, list[str]] = {}
    sign_in_as_admin(page, live_server)
    page.goto(live_server.url + "/staff/admin/accounts")
    page.get_by_label("Email", exact=True).fill("olek@example.org")
    page.get_by_role("button", name="Create and email a link").click()
    results["accounts"] = axe_violations(page)
    page.goto(live_server.url + "/staff/admin/newsroom")
    expect(page.locator(".admin-warnings")).to_be_visible()
    results["newsroom"] = axe_violations(page)
    upload = page.get_by_label("Directory file (TOML, at most 256 KB)")
    upload.set_input_files(toml(EXAMPLE.replace('desk = "business"', 'desk = "sport"')))
    page.get_by_role("button", name="Check the file").click()
    results["upload with problems"] = axe_violations(page)
    page.goto(live_server.url + "/staff/admin/newsroom")
    page.get_by_label("Directory file (TOML, at most 256 KB)").set_input_files(toml(EXAMPLE))
    page.get_by_role("button", name="Check the file").click()
    results["differences"] = axe_violations(page)
    link = invitation_link(live_server, "olek@example.org")
    page.goto(live_server.url + link)
    results["set password"] = axe_violations(page)
    page.goto(live_server.url + link + "x")
    results["link not valid"] = axe_violations(page)
    context.close()
    assert_no_serious_violations(results, "axe-admin-results.json")
