"""The inbox: filters, full-text search in Russian and Ukrainian, pages, counts, CSV, dashboard."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from intake.extensions import db
from intake.models import utcnow
from intake.staff import inbox
from tests.conftest import DESK_HOURS, AuthActions, get_submission, make_submission

UK_TIP = "У Харкові знову вимкнули світло після обстрілу, люди стоять у чергах по воду."
RU_QUESTION = "Почему Кремль отказывается от переговоров, если большинство россиян их поддерживает?"
EN_TIP = "A senate aide says the vote on the aid package will slip; congress met last night."


@pytest.fixture
def seeded(app: Flask, auth: AuthActions, staff: dict[str, str]) -> dict[str, str]:
    """Three submissions in three languages; the editor is signed in."""
    refs = {
        "uk": make_submission(app, body=UK_TIP, topic="", now=DESK_HOURS),
        "ru": make_submission(app, body=RU_QUESTION, kind="question", now=DESK_HOURS),
        "en": make_submission(
            app,
            body=EN_TIP,
            topic="",
            author_slug="dana",
            name="Pat Smith",
            email="pat@example.org",
            consent_contact=True,  # a name is kept (and searched) only with consent
        ),
    }
    auth.login(staff["editor"])
    return refs


def listed(client: FlaskClient, query: str) -> str:
    response = client.get(f"/staff/?{query}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", {"uk", "ru", "en"}),
        ("q=Харків", {"uk"}),  # the stem finds "Харкові"
        ("q=харкові", {"uk"}),
        ("q=ОБСТРІЛ", {"uk"}),
        ("q=переговоры", {"ru"}),
        ("q=кремль+россиян", {"ru"}),
        ("q=кремль+харків", set()),  # every word must match
        ("q=senate", {"en"}),
        ("q=Pat", {"en"}),  # names are searched too
        ("kind=question", {"ru"}),
        ("language=uk", {"uk"}),
        ("topic=russia-ukraine-war", {"uk", "ru"}),
        ("desk=politics", {"en"}),
        ("assignee=unassigned", {"uk", "ru"}),
        ("assignee=dana", {"en"}),
        ("status=new", {"uk", "ru", "en"}),
        ("status=closed", set()),
        ("topic=russia-ukraine-war&assignee=unassigned&language=uk", {"uk"}),
        ("since=2026-11-24&until=2026-11-24", {"uk", "ru"}),
        ("until=2026-11-23", set()),
        ("q=%22senate%29%28*%22+%3A", {"en"}),  # FTS syntax from a user is just words
    ],
)
def test_filters_combine(
    client: FlaskClient, seeded: dict[str, str], query: str, expected: set[str]
) -> None:
    html = listed(client, query)
    assert {lang for lang, ref in seeded.items() if ref in html} == expected


def test_bad_filter_values_are_ignored_with_a_message(
    client: FlaskClient, seeded: dict[str, str]
) -> None:
    html = listed(client, "status=bogus&since=yesterday&sort=sideways&after=abc")
    assert "Unknown status &#39;bogus&#39;; ignored." in html
    assert "since must be a date like 2026-11-24; ignored." in html
    assert all(ref in html for ref in seeded.values())


def test_assigned_to_me(
    app: Flask, client: FlaskClient, auth: AuthActions, staff: dict[str, str]
) -> None:
    mine = make_submission(app, author_slug="iryna")
    other = make_submission(app, author_slug="isa")
    auth.login(staff["world_reporter"])
    html = listed(client, "assignee=me")
    assert mine in html and other not in html


def test_keyset_pages_in_both_orders(
    app: Flask, client: FlaskClient, auth: AuthActions, staff: dict[str, str]
) -> None:
    refs = [make_submission(app, now=DESK_HOURS) for _ in range(5)]
    auth.login(staff["editor"])
    with app.test_request_context():
        from intake.accounts import find

        view = inbox.viewer(db.session, find(db.session, staff["editor"]))  # type: ignore[arg-type]
        first = inbox.page(db.session, view, inbox.Filters(), size=2)
        second = inbox.page(db.session, view, inbox.Filters(after=first.next_after), size=2)
        third = inbox.page(db.session, view, inbox.Filters(after=second.next_after), size=2)
        oldest = inbox.page(db.session, view, inbox.Filters(sort="oldest"), size=3)
        seen = [s.reference for p in (first, second, third) for s in p.rows]
        assert third.next_after is None
        assert seen == list(reversed(refs))
        assert [s.reference for s in oldest.rows] == refs[:3]
    html = listed(client, f"after={first.next_after}")
    assert refs[2] in html and refs[4] not in html
    assert "First page" in html


def test_counts_per_status_follow_the_other_filters(
    app: Flask, client: FlaskClient, seeded: dict[str, str]
) -> None:
    client.post(f"/staff/s/{seeded['ru']}/status", data={"status": "closed", "version": "1"})
    html = listed(client, "topic=russia-ukraine-war&status=new")
    assert "new: 1</a>" in html and "closed: 1</a>" in html
    html = listed(client, "desk=politics")
    assert "new: 1</a>" in html and "closed: 0</a>" in html


def test_csv_export_of_a_filter(client: FlaskClient, seeded: dict[str, str]) -> None:
    response = client.get("/staff/export.csv?language=uk")
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True), newline="")))
    assert [r["reference"] for r in rows] == [seeded["uk"]]
    assert rows[0]["body"] == UK_TIP


def test_csv_export_defuses_formulas(
    app: Flask, client: FlaskClient, auth: AuthActions, staff: dict[str, str]
) -> None:
    make_submission(app, body='=HYPERLINK("http://evil.example","click me please")')
    auth.login(staff["editor"])
    rows = list(csv.DictReader(io.StringIO(client.get("/staff/export.csv").get_data(as_text=True))))
    assert rows[0]["body"].startswith("'=HYPERLINK")


def test_dashboard_figures(
    app: Flask, client: FlaskClient, auth: AuthActions, staff: dict[str, str]
) -> None:
    now = utcnow()
    old = make_submission(app, now=now - timedelta(hours=30))
    acted = make_submission(app, now=now - timedelta(hours=5))
    make_submission(app, author_slug="iryna", now=now)
    auth.login(staff["editor"])
    client.post(f"/staff/s/{acted}/note", data={"text": "on it", "version": "1"})
    with app.test_request_context():
        from intake.accounts import find

        view = inbox.viewer(db.session, find(db.session, staff["editor"]))  # type: ignore[arg-type]
        dash = inbox.dashboard(db.session, view, now=now + timedelta(seconds=1))
    today_count = sum(
        1
        for created in (now - timedelta(hours=30), now - timedelta(hours=5), now)
        if created.date() == now.date()
    )
    assert dash.new_today == today_count
    assert dash.waiting == 1  # only the 30-hour-old one is new, untouched, over 24 h
    assert get_submission(app, old).first_action_at is None
    median = dash.median_first_action["World News"]
    assert timedelta(hours=4, minutes=59) < median < timedelta(hours=5, minutes=1)
    html = listed(client, "")
    assert "new, waiting over 24 h" in html
    assert re.search(r"Median time to first action, 7 days:\s+World News 5 h", html)


def test_readers_markup_is_text_everywhere(
    app: Flask, client: FlaskClient, auth: AuthActions, staff: dict[str, str]
) -> None:
    attack = "<script>alert('x')</script>"
    ref = make_submission(
        app,
        subject=attack,
        body=f"{attack} and a long enough body <img src=x onerror=alert(1)>",
        name=attack,
        email="olena@example.org",
        consent_contact=True,
        article='https://example.org/"><script>alert(1)</script>',
    )
    auth.login(staff["editor"])
    client.post(f"/staff/s/{ref}/note", data={"text": attack, "version": "1"})
    pages = [
        client.get("/staff/").get_data(as_text=True),
        client.get(f"/staff/s/{ref}").get_data(as_text=True),
        client.get("/staff/?q=alert").get_data(as_text=True),
    ]
    for html in pages:
        assert "<script>alert" not in html
        assert "<img src=x" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in pages[1]


def test_counts_stop_at_the_cap(app: Flask) -> None:
    for _ in range(5):
        make_submission(app, now=DESK_HOURS)
    with app.app_context():
        assert inbox.capped_count(db.session, sa.true()) == 5
        assert inbox.capped_count(db.session, sa.true(), cap=3) == 4  # "more than 3"
    from intake.staff.queue import capped

    assert capped(inbox.COUNT_CAP) == "1,000"
    assert capped(inbox.COUNT_CAP + 1) == "1,000+"


def test_status_counts_past_the_cap_are_lower_bounds(
    app: Flask,
    client: FlaskClient,
    auth: AuthActions,
    staff: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for _ in range(4):
        make_submission(app, now=DESK_HOURS)
    monkeypatch.setattr(inbox, "COUNT_CAP", 2)
    auth.login(staff["editor"])
    html = client.get("/staff/").get_data(as_text=True)
    assert "new: 3+</a>" in html  # it read 3 rows, found 3 new, and says there may be more
    monkeypatch.setattr(inbox, "COUNT_CAP", 10)
    assert "new: 4</a>" in client.get("/staff/").get_data(as_text=True)


@pytest.mark.parametrize("typed", ["{ref}", "{lower}", "{bare}", "  {lower_bare} ", "{spaced}"])
def test_a_reference_typed_into_search_opens_that_submission(
    app: Flask, client: FlaskClient, auth: AuthActions, staff: dict[str, str], typed: str
) -> None:
    ref = make_submission(app)
    make_submission(app)
    auth.login(staff["editor"])
    query = typed.format(
        ref=ref,
        lower=ref.lower(),
        bare=ref.replace("-", ""),
        lower_bare=ref.replace("-", "").lower(),
        spaced=ref.replace("-", " "),
    )
    response = client.get("/staff/", query_string={"q": query})
    assert response.status_code == 303
    assert response.headers["Location"] == f"/staff/s/{ref}"


def test_a_reference_of_another_desk_finds_nothing_for_a_reporter(
    app: Flask, client: FlaskClient, auth: AuthActions, staff: dict[str, str]
) -> None:
    ref = make_submission(app)  # the world desk's
    auth.login(staff["politics_reporter"])
    response = client.get("/staff/", query_string={"q": ref.lower()})
    assert response.status_code == 200
    assert ref not in response.get_data(as_text=True).replace(f'value="{ref.lower()}"', "")
