"""Triage in a real browser: the inbox at phone and laptop widths, and two staff journeys."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, Page, expect

from intake.extensions import db
from intake.models import Reporter, Submission, utcnow
from tests.conftest import ARTIFACTS, DESK_HOURS, LiveServer, make_submission
from tests.test_browser import TIP, assert_no_serious_violations, axe_violations, sign_in

LONG_URL = (
    "https://news.example.net/" + "world/ukraine/kharkiv-" * 12 + "power-cuts?utm=" + "x" * 80
)
SIZES = {390: 844, 1280: 800}


def seed(server: LiveServer, count: int = 12) -> list[str]:
    """Store submissions in several states, some marked; return references, newest last."""
    app = server.app
    refs = [
        make_submission(
            app,
            body=f"{TIP} ({n})",
            subject=f"Power cut number {n} in a long subject line for the row" if n % 2 else "",
            sensitive=n % 3 == 0,
            now=utcnow() - timedelta(hours=6 - n * 0.1),
        )
        for n in range(count)
    ]
    with app.app_context():
        iryna = db.session.scalar(sa.select(Reporter.id).where(Reporter.slug == "iryna"))
        # Routing followed the wall clock (who was on shift six hours ago); the rows below
        # must not: four held by Iryna, the rest by nobody, whatever the time of the run.
        db.session.execute(
            sa.update(Submission).where(Submission.reference.in_(refs)).values(assignee_id=None)
        )
        db.session.execute(
            sa.update(Submission)
            .where(Submission.reference.in_(refs[:4]))
            .values(assignee_id=iryna)
        )
        db.session.execute(
            sa.update(Submission)
            .where(Submission.reference == refs[1])
            .values(reader_replied_at=utcnow(), email="reader@example.org", consent_contact=True)
        )
        db.session.commit()
    return refs


def overflow(page: Page) -> int:
    result: int = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    return result


@pytest.mark.parametrize("width", list(SIZES))
def test_the_inbox_fits_the_screen_and_shows_items_first(
    browser: Browser, live_server: LiveServer, width: int
) -> None:
    seed(live_server)
    context = browser.new_context(viewport={"width": width, "height": SIZES[width]})
    page = context.new_page()
    page.goto(live_server.url + "/staff/")
    sign_in(page, live_server)
    assert overflow(page) <= 0  # no sideways scroll
    expect(page.locator("form.filters")).to_be_hidden()  # folded away until asked for
    rows = page.locator("table.inbox tbody tr")
    expect(rows).to_have_count(12)
    first = rows.first.bounding_box()
    assert first is not None
    assert first["y"] + first["height"] <= SIZES[width], first  # on the first screen
    if width < 768:
        # A card: the reference and first line above the details, within the screen.
        assert first["width"] <= width
        line = rows.first.locator("td.line").bounding_box()
        assert line is not None and line["width"] > width * 0.7
    else:
        fifth = rows.nth(4).bounding_box()
        assert fifth is not None and fifth["y"] + fifth["height"] <= SIZES[width], fifth
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"inbox-{width}.png"), full_page=False)
    page.get_by_text("Filters and search").click()
    expect(page.locator("form.filters")).to_be_visible()
    assert overflow(page) <= 0
    page.screenshot(path=str(ARTIFACTS / f"inbox-{width}-filters.png"), full_page=False)
    context.close()


@pytest.mark.parametrize("width", list(SIZES))
def test_the_submission_page_wraps_long_urls(
    browser: Browser, live_server: LiveServer, width: int
) -> None:
    reference = make_submission(live_server.app, body=TIP + " " + LONG_URL, article=LONG_URL)
    context = browser.new_context(viewport={"width": width, "height": SIZES[width]})
    page = context.new_page()
    page.goto(f"{live_server.url}/staff/s/{reference}")
    sign_in(page, live_server, landing=f"{live_server.url}/staff/s/{reference}")
    expect(page.get_by_text("not one of our sites")).to_be_visible()
    assert overflow(page) <= 0
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"submission-long-url-{width}.png"), full_page=True)
    context.close()


def test_an_editor_triages_ten_items_at_laptop_width(
    browser: Browser, live_server: LiveServer
) -> None:
    refs = seed(live_server)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(live_server.url + "/staff/")
    sign_in(page, live_server)
    expect(page.get_by_role("heading", level=1)).to_have_text("Open items")
    # The unassigned tile leads to the items nobody holds yet.
    page.get_by_role("link", name="open, unassigned").click()
    expect(page.locator("table.inbox tbody tr")).to_have_count(8)
    for reference in refs[4:]:
        page.get_by_label(f"Pick {reference}").check()
    page.get_by_label("With the ticked submissions").select_option("assign:reporter:iryna")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("status").first).to_contain_text("Done for 8.")
    for reference in refs[2:4]:
        page.get_by_role("link", name="All", exact=True).click()
        page.get_by_label(f"Pick {reference}").check()
        page.get_by_label("With the ticked submissions").select_option("status:spam")
        page.get_by_role("button", name="Apply").click()
        expect(page.get_by_role("status").first).to_contain_text("Done for 1.")
    page.get_by_role("link", name="Open items").click()
    open_rows = page.locator("table.inbox tbody tr")
    expect(open_rows).to_have_count(10)
    expect(open_rows.filter(has_text="spam")).to_have_count(0)
    with live_server.app.app_context():
        held = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Submission)
            .join(Reporter, Submission.assignee_id == Reporter.id)
            .where(Reporter.slug == "iryna", Submission.status != "spam")
        )
    assert held == 10
    context.close()


def test_a_reporter_answers_the_reader_who_wrote_back_on_a_phone(
    browser: Browser, live_server: LiveServer
) -> None:
    refs = seed(live_server)
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    page.goto(live_server.url + "/staff/")
    sign_in(page, live_server, email="iryna.koval@example.org")
    expect(page.get_by_role("heading", level=1)).to_have_text("My queue")
    first = page.locator("table.inbox tbody tr").first
    expect(first).to_contain_text("reader replied")  # the reader's reply is on top
    first.get_by_role("link", name=refs[1]).click()
    page.get_by_label("Reply to the reader").fill("Дякуємо! Звідки ви це знаєте?")
    page.get_by_role("button", name="Send reply").click()
    expect(page.locator(".timeline")).to_contain_text("Дякуємо! Звідки ви це знаєте?")
    assert overflow(page) <= 0
    page.get_by_role("link", name="Inbox").click()
    # Answered, and the reader has not written again: it left the top of the queue.
    expect(page.locator("table.inbox tbody tr").first).not_to_contain_text("reader replied")
    context.close()


def test_an_open_inbox_says_how_many_arrived_since(page: Page, live_server: LiveServer) -> None:
    live_server.app.config["INTAKE_INBOX_POLL_SECONDS"] = 1
    make_submission(live_server.app, now=DESK_HOURS)
    page.goto(live_server.url + "/staff/")
    sign_in(page, live_server)
    news = page.locator("#inbox-news")
    expect(news).to_be_hidden()
    make_submission(live_server.app, now=DESK_HOURS)
    make_submission(live_server.app, now=DESK_HOURS)
    expect(news).to_contain_text("2 new items since you opened this page.", timeout=10_000)
    news.get_by_role("link", name="Show them").click()
    expect(page.locator("table.inbox tbody tr")).to_have_count(3)


def test_the_inbox_views_have_no_serious_accessibility_violations(
    browser: Browser, live_server: LiveServer
) -> None:
    seed(live_server)
    results: dict[str, list[str]] = {}
    for width in SIZES:
        context = browser.new_context(bypass_csp=True, viewport={"width": width, "height": 900})
        page = context.new_page()
        page.goto(live_server.url + "/staff/")
        sign_in(page, live_server)
        for view in ("open", "mine", "all"):
            page.goto(f"{live_server.url}/staff/?view={view}")
            results[f"{view}-{width}"] = axe_violations(page)
        page.goto(f"{live_server.url}/staff/?view=all&flag=sensitive")
        results[f"marked-{width}"] = axe_violations(page)
        context.close()
    assert_no_serious_violations(results, "axe-inbox.json")
