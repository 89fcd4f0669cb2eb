"""/answers in a real browser: three languages, axe, a phone's width, and framed by the
newsroom's site, where "I want to know too" still counts."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from playwright.sync_api import Browser, Page, expect
from werkzeug.serving import make_server

from intake.extensions import db
from intake.models import QuestionGroup, StaffUser
from intake.workflow import questions
from tests.conftest import ADMIN_TOTP, LiveServer, add_staff, free_port, make_app
from tests.test_browser import assert_no_serious_violations, axe_violations, sign_in
from tests.test_questions import ANSWER, TALKS, ask, group_now, one_group

HEADLINE = {
    "en": "Will there be peace talks?",
    "ru": "Будут ли мирные переговоры?",
    "uk": "Чи будуть мирні переговори?",
}
LOOKING = "How many drones were shot down over Kyiv this week?"


def seed(app: Flask) -> tuple[int, int]:
    """Store, group, answer and publish the talks questions; put a second group under
    "We're looking into it". Return both groups' ids."""
    ask(app, TALKS["en"])
    ask(
        app,
        TALKS["ru"],
        locale="ru",
        name="Ольга Петренко",
        email="o@example.net",
        consent_contact=True,
        consent_publish=True,
    )
    ask(app, TALKS["uk"], locale="uk")
    ask(app, LOOKING)
    ask(app, "How many drones were shot down over Kyiv in the past week?")
    group_now(app)
    with app.app_context():
        editor = db.session.scalars(sa.select(StaffUser).where(StaffUser.role == "editor")).one()
        answered, looking = db.session.scalars(sa.select(QuestionGroup).order_by(QuestionGroup.id))
        questions.answer_group(
            db.session, answered, editor, ANSWER, "https://news.example.org/talks", None
        )
        questions.publish(db.session, answered, editor, "published", HEADLINE, None)
        questions.publish(db.session, looking, editor, "looking", {"en": LOOKING}, None)
        return answered.id, looking.id


@pytest.mark.parametrize("locale", ["en", "ru", "uk"])
def test_answers_page_has_no_serious_accessibility_violations(
    browser: Browser, live_server: LiveServer, locale: str
) -> None:
    seed(live_server.app)
    context = browser.new_context(bypass_csp=True, viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(f"{live_server.url}/answers?lang={locale}")
    expect(page.locator("article.answer h3")).to_have_text(HEADLINE[locale])
    expect(page.locator("article.answer")).to_contain_text(ANSWER[locale])
    overflow: int = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0  # nothing scrolls sideways on a phone
    results = {f"answers-{locale}": axe_violations(page)}
    page.get_by_role("button").first.click()
    expect(page.get_by_role("status")).to_be_visible()
    results[f"answers-{locale}-counted"] = axe_violations(page)
    page.screenshot(path=str(Path("tests/artifacts") / f"answers-{locale}-390.png"), full_page=True)
    context.close()
    assert_no_serious_violations(results, f"axe-answers-{locale}.json")


def test_staff_question_pages_have_no_serious_accessibility_violations(
    browser: Browser, live_server: LiveServer
) -> None:
    answered, _looking = seed(live_server.app)
    context = browser.new_context(bypass_csp=True)
    page = context.new_page()
    page.goto(live_server.url + "/staff/login")
    sign_in(page, live_server)
    results = {}
    page.goto(live_server.url + "/staff/questions")
    expect(page.get_by_role("heading", level=1)).to_have_text("Questions")
    results["questions"] = axe_violations(page)
    page.get_by_role("link", name=f"Q{answered}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Question group Q{answered}")
    results["question group"] = axe_violations(page)
    page.locator(".group-members a").first.click()
    expect(page.get_by_role("heading", name="Similar questions")).to_be_visible()
    results["question with similar ones"] = axe_violations(page)
    context.close()
    assert_no_serious_violations(results, "axe-questions.json")


class _Embedding(http.server.BaseHTTPRequestHandler):
    """The newsroom's own page, which frames /answers."""

    page = b""

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write(self.page)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        return


@pytest.fixture
def framed(tmp_path: Path, password_hash: str) -> Iterator[tuple[str, Flask]]:
    """Serve intake on 127.0.0.1 and, on localhost (another site), a page that frames it."""
    site_port = free_port()
    site = f"http://localhost:{site_port}"
    app = make_app(tmp_path, WTF_CSRF_ENABLED=True, INTAKE_FRAME_ANCESTORS=site)
    add_staff(app, password_hash, admin_totp=ADMIN_TOTP)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    intake_url = f"http://127.0.0.1:{server.server_port}"
    _Embedding.page = (
        f"<!doctype html><title>Our story</title><h1>Our story</h1>"
        f'<iframe src="{intake_url}/answers?lang=uk" title="Answers" width="600" height="900">'
        f"</iframe>"
    ).encode()
    embedding = http.server.ThreadingHTTPServer(("127.0.0.1", site_port), _Embedding)
    threading.Thread(target=embedding.serve_forever, daemon=True).start()
    yield site, app
    embedding.shutdown()
    embedding.server_close()
    server.shutdown()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_the_newsrooms_site_frames_answers_and_the_button_counts_there(
    page: Page, framed: tuple[str, Flask]
) -> None:
    site, app = framed
    _answered, looking = seed(app)
    page.goto(site)
    frame = page.frame_locator("iframe")
    expect(frame.locator("article.answer h3")).to_have_text(HEADLINE["uk"])
    frame.get_by_role("button", name="Я теж хочу знати").click()
    expect(frame.get_by_role("status")).to_contain_text("Дякуємо, ми вас врахували")
    with app.app_context():
        assert one_group(looking).want_count == 1
