"""The API's pages in a real browser: a reporter makes a token and a script uses it, an admin
registers a webhook; axe finds nothing serious on the tokens, webhooks and reference pages."""

from __future__ import annotations

import json
import urllib.request

from playwright.sync_api import Browser, expect

from tests.conftest import DESK_HOURS, LiveServer, make_submission
from tests.test_browser import TIP, assert_no_serious_violations, axe_violations, sign_in
from tests.test_browser_admin import sign_in_as_admin

REPORTER = "iryna.koval@example.org"


def api_get(server: LiveServer, path: str, token: str) -> dict[str, object]:
    """Call the API over HTTP as a script would (127.0.0.1, bounded in time)."""
    request = urllib.request.Request(  # noqa: S310 - the test's own server on 127.0.0.1
        server.url + path, headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        answer: dict[str, object] = json.load(response)
        return answer


def test_a_reporter_makes_a_token_and_a_script_reads_their_queue(
    browser: Browser, live_server: LiveServer
) -> None:
    reference = make_submission(live_server.app, body=TIP, author_slug="iryna", now=DESK_HOURS)
    context = browser.new_context(bypass_csp=True)  # axe is the test's own script
    page = context.new_page()
    results: dict[str, list[str]] = {}
    page.goto(live_server.url + "/staff/login")
    sign_in(page, live_server, email=REPORTER)
    page.get_by_role("link", name="API tokens").click()
    results["tokens"] = axe_violations(page)
    page.get_by_label("Name (what the token is for)").fill("newsroom dashboard")
    page.get_by_role("button", name="Make a token").click()
    shown = page.locator("#new-token")
    expect(shown).to_be_visible()
    token = shown.inner_text().strip()
    results["token made"] = axe_violations(page)
    items = api_get(live_server, "/api/v1/submissions?view=all", token)["items"]
    assert isinstance(items, list)
    assert [item["reference"] for item in items] == [reference]
    page.goto(live_server.url + "/staff/tokens")
    expect(page.locator("#new-token")).to_have_count(0)  # shown once
    expect(page.get_by_role("cell", name="newsroom dashboard", exact=True)).to_be_visible()
    page.goto(live_server.url + "/api/v1/docs")
    expect(page.get_by_role("heading", name="intake API, version 1")).to_be_visible()
    results["reference"] = axe_violations(page)
    context.close()
    assert_no_serious_violations(results, "axe-api-results.json")


def test_an_admin_registers_a_webhook_and_axe_finds_nothing_serious(
    browser: Browser, live_server: LiveServer
) -> None:
    context = browser.new_context(bypass_csp=True)
    page = context.new_page()
    results: dict[str, list[str]] = {}
    sign_in_as_admin(page, live_server)
    page.goto(live_server.url + "/staff/admin/webhooks")
    results["webhooks"] = axe_violations(page)
    page.get_by_label("Endpoint URL").fill("http://127.0.0.1:9/hook")
    page.get_by_label("submission.created").check()
    page.get_by_role("button", name="Register").click()
    expect(page.locator("#new-secret")).to_contain_text("whsec_")
    results["webhook registered"] = axe_violations(page)
    page.get_by_role("button", name="Remove webhook 1").click()
    expect(page.get_by_text("Webhook 1 removed")).to_be_visible()
    context.close()
    assert_no_serious_violations(results, "axe-webhooks-results.json")


def test_the_api_pages_fit_a_phone(browser: Browser, live_server: LiveServer) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 800})
    page = context.new_page()
    sideways = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    page.goto(live_server.url + "/api/v1/docs")
    assert page.evaluate(sideways) == 0
    sign_in_as_admin(page, live_server)
    page.goto(live_server.url + "/staff/tokens")
    page.get_by_label("Name (what the token is for)").fill("phone")
    page.get_by_role("button", name="Make a token").click()
    page.goto(live_server.url + "/staff/tokens")
    assert page.evaluate(sideways) == 0
    page.goto(live_server.url + "/staff/admin/webhooks")
    page.get_by_label("Endpoint URL").fill("http://127.0.0.1:9/a/long/path/for/the/receiver")
    page.get_by_label("submission.status_changed").check()
    page.get_by_role("button", name="Register").click()
    page.goto(live_server.url + "/staff/admin/webhooks")
    assert page.evaluate(sideways) == 0
    context.close()
