"""The API's pages in a real browser: a reporter makes a token and a script uses it; axe
finds nothing serious on the tokens page or the reference."""

from __future__ import annotations

import json
import urllib.request

from playwright.sync_api import Browser, expect

from tests.conftest import DESK_HOURS, LiveServer, make_submission
from tests.test_browser import TIP, assert_no_serious_violations, axe_violations, sign_in

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
