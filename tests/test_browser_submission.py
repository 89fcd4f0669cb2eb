"""The submission page in a real browser: canned replies with and without script, duplicates."""

from __future__ import annotations

import sqlalchemy as sa
from playwright.sync_api import Browser, Page, expect

from intake.extensions import db
from intake.models import Submission
from tests.conftest import DESK_HOURS, LiveServer, make_submission
from tests.test_browser import TIP, assert_no_serious_violations, axe_violations, sign_in
from tests.test_canned_replies import THANKS, add_canned

REPEAT = "В Харькове опять нет света после обстрела, очереди за водой."


def open_signed_in(page: Page, live_server: LiveServer, path: str) -> None:
    page.goto(live_server.url + path)
    sign_in(page, live_server, landing=live_server.url + path)


def with_duplicate(live_server: LiveServer) -> tuple[str, str]:
    """Return A and B, B marked a duplicate of A; B's reader reads Russian."""
    app = live_server.app
    a = make_submission(
        app, body=TIP, email="a@example.org", consent_contact=True, locale="uk", now=DESK_HOURS
    )
    b = make_submission(
        app, body=REPEAT, email="b@example.org", consent_contact=True, locale="ru", now=DESK_HOURS
    )
    with app.app_context():
        found = {s.reference: s for s in db.session.scalars(sa.select(Submission))}
        original, duplicate = found[a], found[b]
        duplicate.status, duplicate.duplicate_of = "duplicate", original
        db.session.commit()
    return a, b


def test_choosing_a_canned_reply_fills_the_box_at_once(page: Page, live_server: LiveServer) -> None:
    add_canned(live_server.app)
    reference = make_submission(
        live_server.app, body=TIP, email="reader@example.org", consent_contact=True, locale="uk"
    )
    open_signed_in(page, live_server, f"/staff/s/{reference}")
    # With script, choosing is enough: the button for pages without script is gone.
    expect(page.get_by_role("button", name="Use this canned reply")).to_be_hidden()
    page.get_by_label("Canned reply").select_option(label="Thanks, we are checking")
    expect(page.get_by_label("Reply to the reader")).to_have_value(THANKS["uk"])
    expect(page.locator("#canned_note")).to_contain_text("in Ukrainian, the reader's language")
    page.get_by_role("button", name="Send reply").click()
    history = page.locator(".timeline")
    expect(history).to_contain_text("canned_used by editor@example.org: Thanks, we are checking")
    expect(history).to_contain_text(THANKS["uk"])


def test_writing_to_a_duplicates_reader_refills_in_their_language(
    page: Page, live_server: LiveServer
) -> None:
    add_canned(live_server.app)
    a, b = with_duplicate(live_server)
    open_signed_in(page, live_server, f"/staff/s/{a}")
    page.get_by_label("Canned reply").select_option(label="Thanks, we are checking")
    expect(page.get_by_label("Reply to the reader")).to_have_value(THANKS["uk"])
    page.get_by_label("Write to").select_option(label=f"the reader of {b} (a duplicate)")
    # The desk wrote no Russian: English, and the page says so.
    expect(page.get_by_label("Reply to the reader")).to_have_value(THANKS["en"])
    expect(page.locator("#canned_note")).to_contain_text("has no Russian text")


def test_use_fills_the_box_with_javascript_off(browser: Browser, live_server: LiveServer) -> None:
    add_canned(live_server.app)
    reference = make_submission(
        live_server.app, body=TIP, email="reader@example.org", consent_contact=True, locale="uk"
    )
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    open_signed_in(page, live_server, f"/staff/s/{reference}")
    page.get_by_label("Canned reply").select_option(label="Thanks, we are checking")
    page.get_by_role("button", name="Use this canned reply").click()
    expect(page.get_by_label("Reply to the reader")).to_have_value(THANKS["uk"])
    expect(page.get_by_role("status").last).to_contain_text("in Ukrainian")
    context.close()


def test_no_serious_accessibility_violations_on_canned_replies_and_duplicates(
    browser: Browser, live_server: LiveServer
) -> None:
    add_canned(live_server.app)
    add_canned(live_server.app, title="Retired", active=False)
    a, _b = with_duplicate(live_server)
    # Our CSP forbids injected scripts; axe is the test's own, so this context lets it in.
    context = browser.new_context(bypass_csp=True)
    page = context.new_page()
    results: dict[str, list[str]] = {}
    open_signed_in(page, live_server, "/staff/canned")
    results["canned replies"] = axe_violations(page)
    page.get_by_role("link", name="Edit “Thanks, we are checking”").click()
    results["canned reply form"] = axe_violations(page)
    page.goto(f"{live_server.url}/staff/s/{a}")
    results["submission with duplicates"] = axe_violations(page)
    context.close()
    assert_no_serious_violations(results, "axe-results-submission.json")
