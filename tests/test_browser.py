"""The reader's form and the staff pages in a real browser (Playwright, headless Chromium)."""

from __future__ import annotations

import io
import json
import re
from typing import Any

import pytest
import sqlalchemy as sa
from PIL import Image
from playwright.sync_api import Browser, FilePayload, Page, expect

from intake.extensions import db
from intake.models import Attachment, Submission
from tests.conftest import (
    ARTIFACTS,
    DESK_HOURS,
    STAFF_PASSWORD,
    LiveServer,
    make_submission,
    next_code,
)

AXE = ARTIFACTS.parent.parent / "node_modules" / "axe-core" / "axe.min.js"
REFERENCE = re.compile(r"[TQ]-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}")
TIP = "У Харкові вночі знову вимкнули світло після обстрілу; я бачив це зі свого вікна."


def stored(server: LiveServer) -> list[Submission]:
    with server.app.app_context():
        return list(db.session.scalars(sa.select(Submission).order_by(Submission.id)))


def test_reader_sends_a_tip(page: Page, live_server: LiveServer) -> None:
    page.goto(live_server.url + "/?lang=en")
    page.get_by_label("What do you know, and how do you know it?").fill(TIP)
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you: your tip has reached us")
    reference = page.locator(".reference").inner_text()
    assert REFERENCE.fullmatch(reference)
    [submission] = stored(live_server)
    assert (submission.reference, submission.body, submission.language) == (reference, TIP, "uk")


def test_reader_fixes_a_question_with_errors(page: Page, live_server: LiveServer) -> None:
    page.goto(live_server.url + "/?lang=en")
    page.get_by_role("radio", name="A question").check()
    body = page.get_by_label("What would you like us to find out?")  # the label followed
    body.fill("Too short")
    page.get_by_label("Your email (optional)").fill("not-an-address")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("alert").first).to_contain_text("Your message was not sent yet")
    expect(page.locator("#body-error")).to_contain_text("at least 20 characters (you wrote 9)")
    expect(page.locator("#body")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Your email (optional)")).to_have_value("not-an-address")
    assert stored(live_server) == []
    body.fill("When will the peace talks between the two governments begin?")
    page.get_by_label("Your email (optional)").fill("reader@example.org")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Thank you: your question has reached us"
    )
    [submission] = stored(live_server)
    # No consent to be contacted was given: the address served the receipt and is not kept.
    assert submission.kind == "question" and submission.email == ""


def test_enter_in_a_text_field_sends_the_form(page: Page, live_server: LiveServer) -> None:
    page.goto(live_server.url + "/?lang=en")
    page.locator("#body").fill(TIP)
    page.get_by_label("Subject (optional)").fill("Power cuts")
    page.get_by_label("Subject (optional)").press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you: your tip has reached us")
    assert len(stored(live_server)) == 1


def test_reader_switches_language_mid_way_and_keeps_the_text(
    page: Page, live_server: LiveServer
) -> None:
    page.goto(live_server.url + "/?lang=en")
    page.locator("#body").fill(TIP)
    page.get_by_role("button", name="Українська").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Повідомте нам інформацію або поставте запитання"
    )
    expect(page.locator("#body")).to_have_value(TIP)
    page.get_by_role("button", name="Надіслати").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Дякуємо: ваше повідомлення дійшло до нас"
    )
    assert stored(live_server)[0].locale == "uk"


def test_reader_attaches_a_photo_and_its_location_is_removed(
    page: Page, live_server: LiveServer
) -> None:
    image = Image.new("RGB", (30, 30), "blue")
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (50.0, 0.0, 0.0), 3: "E", 4: (36.0, 14.0, 0.0)}
    photo = io.BytesIO()
    image.save(photo, "JPEG", exif=exif.tobytes())
    page.goto(live_server.url + "/?lang=en")
    page.locator("#body").fill(TIP)
    payload: FilePayload = {
        "name": "IMG_0042.jpg",
        "mimeType": "image/jpeg",
        "buffer": photo.getvalue(),
    }
    page.set_input_files("#files", files=[payload])
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Thank you")
    with live_server.app.app_context():
        attachment = db.session.scalars(sa.select(Attachment)).one()
    assert attachment.cleaned and "GPS position" in attachment.note


def test_form_works_with_javascript_off(browser: Browser, live_server: LiveServer) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(live_server.url + "/?lang=en&kind=question")
    page.locator("#body").fill("What would a ceasefire line look like this winter?")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("your question has reached us")
    context.close()


def test_form_can_be_used_with_the_keyboard_alone(page: Page, live_server: LiveServer) -> None:
    page.goto(live_server.url + "/?lang=en")
    reached = []
    for _ in range(40):
        page.keyboard.press("Tab")
        focused = page.evaluate("document.activeElement.id || document.activeElement.textContent")
        reached.append(focused.strip())
        if focused == "body":
            page.keyboard.type("Typed with the keyboard only, from the first field to Send.")
            # Focus is visible: the stylesheet draws an outline on the focused field.
            outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
            assert outline != "none"
        if focused.strip() == "Send":
            page.keyboard.press("Enter")
            break
    assert "body" in reached and "leave_blank" not in reached  # the honeypot is skipped
    expect(page.get_by_role("heading", level=1)).to_contain_text("Thank you")


def test_public_page_is_small_and_talks_only_to_its_own_server(
    page: Page, live_server: LiveServer
) -> None:
    sizes: dict[str, int] = {}
    page.on("response", lambda r: sizes.__setitem__(r.url, len(r.body())))
    page.goto(live_server.url + "/")
    page.wait_for_load_state("networkidle")
    assert sizes and all(url.startswith(live_server.url) for url in sizes)
    assert sum(sizes.values()) < 100 * 1024, sizes


def sign_in(
    page: Page,
    live_server: LiveServer,
    check: Any = None,
    landing: str | None = None,
    email: str = "editor@example.org",
) -> None:
    """Sign in (as the editor unless told): password, then the authenticator's code."""
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/staff/login/code")
    if check is not None:
        check()
    page.get_by_label("Code from your authenticator app").fill(next_code(live_server.app, email))
    page.keyboard.press("Enter")
    if landing is None:
        # An editor lands on the open items, a reporter on their queue.
        expect(page.get_by_role("navigation", name="Views")).to_be_visible()
    else:
        page.wait_for_url(landing)


def test_staff_sign_in_filter_reassign_and_reply(page: Page, live_server: LiveServer) -> None:
    reference = make_submission(
        live_server.app, body=TIP, email="reader@example.org", consent_contact=True, now=DESK_HOURS
    )
    page.goto(live_server.url + "/staff/")
    sign_in(page, live_server)
    expect(page.get_by_role("heading", level=1)).to_have_text("Open items")
    page.get_by_text("Filters and search").click()  # folded away until asked for
    page.get_by_label("Topic").select_option("russia-ukraine-war")
    page.get_by_label("Assignee").select_option("unassigned")
    page.get_by_label("Language").select_option("uk")
    page.get_by_role("button", name="Filter").click()
    assert "language=uk" in page.url
    page.get_by_role("link", name=reference).click()
    page.get_by_label("Assign to").select_option("reporter:iryna")
    page.get_by_role("button", name="Reassign").click()
    expect(page.get_by_role("status")).to_contain_text("Reassigned")
    page.get_by_label("Reply to the reader").fill("Дякуємо! Звідки ви це знаєте?")
    page.get_by_role("button", name="Send reply").click()
    history = page.locator(".timeline")
    expect(history).to_contain_text("to Iryna Koval (World News)")
    expect(history).to_contain_text("Дякуємо! Звідки ви це знаєте?")


def axe_violations(page: Page) -> list[str]:
    """Run axe-core on the page; return 'impact: rule (nodes)' for each violation."""
    page.add_script_tag(path=str(AXE))
    found: list[dict[str, object]] = page.evaluate("async () => (await axe.run()).violations")
    return [f"{v['impact']}: {v['id']} ({len(v['nodes'])})" for v in found]  # type: ignore[arg-type]


def assert_no_serious_violations(results: dict[str, list[str]], report: str) -> None:
    """Keep axe's findings as an artifact; fail on any serious or critical one."""
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / report).write_text(json.dumps(results, indent=2), encoding="utf-8")
    serious = {
        name: found
        for name, found in results.items()
        if any(f.startswith(("serious", "critical")) for f in found)
    }
    assert serious == {}, serious


def test_no_serious_accessibility_violations(browser: Browser, live_server: LiveServer) -> None:
    reference = make_submission(live_server.app, body=TIP, author_slug="iryna")
    # Our CSP forbids injected scripts; axe is the test's own, so this context lets it in.
    context = browser.new_context(bypass_csp=True)
    page = context.new_page()
    results: dict[str, list[str]] = {}
    page.goto(live_server.url + "/?lang=en")
    results["form"] = axe_violations(page)
    page.get_by_role("button", name="Send").click()
    results["form with errors"] = axe_violations(page)
    page.locator("#body").fill(TIP)
    page.get_by_role("button", name="Send").click()
    results["thanks"] = axe_violations(page)
    page.goto(live_server.url + "/staff/login")
    results["sign-in"] = axe_violations(page)
    sign_in(page, live_server, check=lambda: results.update(code=axe_violations(page)))
    results["inbox"] = axe_violations(page)
    page.goto(f"{live_server.url}/staff/s/{reference}")
    results["submission"] = axe_violations(page)
    context.close()
    assert_no_serious_violations(results, "axe-results.json")


@pytest.mark.parametrize("locale", ["en", "ru", "uk"])
@pytest.mark.parametrize("width", [360, 1280])
def test_screenshots_of_the_form(
    browser: Browser, live_server: LiveServer, locale: str, width: int
) -> None:
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.goto(f"{live_server.url}/?lang={locale}")
    # Nothing sticks out sideways at this width.
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"form-{locale}-{width}.png"), full_page=True)
    context.close()


@pytest.mark.parametrize("width", [390, 1280])
def test_the_submission_page_is_a_conversation_with_actions_beside_or_below(
    browser: Browser, live_server: LiveServer, width: int
) -> None:
    reference = make_submission(live_server.app, body=TIP, author_slug="iryna")
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.goto(live_server.url + f"/staff/s/{reference}")
    sign_in(page, live_server, landing=f"{live_server.url}/staff/s/{reference}")
    page.get_by_label("Internal note (staff only)").fill("Check the bridge camera first.")
    page.get_by_role("button", name="Add note").click()
    note = page.locator("ol.thread li.internal")
    expect(note).to_contain_text("not seen by the reader")
    thread = page.locator(".thread-column").bounding_box()
    side = page.locator(".side-column").bounding_box()
    assert thread and side
    if width >= 1024:
        assert side["x"] > thread["x"] + thread["width"] - 1  # beside the thread
    else:
        assert side["y"] >= thread["y"] + thread["height"] - 1  # below it
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"submission-{width}.png"), full_page=True)
    context.close()
