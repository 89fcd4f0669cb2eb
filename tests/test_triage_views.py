"""Triage: where staff land, the urgency marks, the dashboard's links, the "new since" count."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from intake.extensions import db
from intake.models import Attachment, Reporter, Submission, utcnow
from tests.conftest import DESK_HOURS, AuthActions, make_submission

REFERENCE = re.compile(r"[TQ]-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}")


def change(app: Flask, reference: str, **values: Any) -> None:
    """Set columns of a submission directly (the state a test starts from)."""
    with app.app_context():
        if "assignee" in values:
            slug = values.pop("assignee")
            values["assignee_id"] = db.session.scalar(
                sa.select(Reporter.id).where(Reporter.slug == slug)
            )
        db.session.execute(
            sa.update(Submission).where(Submission.reference == reference).values(**values)
        )
        db.session.commit()


def iryna(app: Flask) -> str:
    with app.app_context():
        slug = db.session.scalar(
            sa.select(Reporter.slug).where(Reporter.email == "iryna.koval@example.org")
        )
        assert slug is not None
        return slug


def shown(client: FlaskClient, query: str = "") -> list[str]:
    """Return the references the inbox lists, in order."""
    response = client.get(f"/staff/{'?' if query else ''}{query}")
    assert response.status_code == 200
    table = response.get_data(as_text=True).split('<table class="inbox">', 1)[1]
    return list(dict.fromkeys(REFERENCE.findall(table)))


@pytest.fixture
def queue(app: Flask) -> dict[str, str]:
    """Items of the world desk: Iryna's open ones, one answered, one closed, one unassigned."""
    now = utcnow()
    me = iryna(app)
    refs = {
        name: make_submission(app, now=DESK_HOURS)
        for name in ("oldest", "middle", "newest", "replied", "answered", "closed", "unassigned")
    }
    for name in ("oldest", "middle", "newest", "replied", "answered", "closed"):
        change(app, refs[name], assignee=me)
    change(app, refs["middle"], status="in_progress", first_action_at=now)
    change(app, refs["replied"], status="answered", reader_replied_at=now, first_action_at=now)
    change(app, refs["answered"], status="answered", first_action_at=now)
    change(app, refs["closed"], status="closed", first_action_at=now, closed_at=now)
    return refs


def test_a_reporter_lands_on_their_queue_reader_replies_first_then_oldest(
    app: Flask, client: FlaskClient, auth: AuthActions, staff: dict[str, str], queue: dict[str, str]
) -> None:
    auth.login(staff["world_reporter"])
    expected = [queue[n] for n in ("replied", "oldest", "middle", "newest")]
    assert shown(client) == expected
    assert shown(client, "view=mine") == expected


def test_an_editor_lands_on_every_open_item_newest_first(
    client: FlaskClient, auth: AuthActions, staff: dict[str, str], queue: dict[str, str]
) -> None:
    auth.login(staff["editor"])
    expected = [queue[n] for n in ("unassigned", "replied", "newest", "middle", "oldest")]
    assert shown(client) == expected


@pytest.mark.parametrize("who", ["editor", "world_reporter"])
def test_all_is_one_click_away_and_holds_closed_items(
    client: FlaskClient, auth: AuthActions, staff: dict[str, str], queue: dict[str, str], who: str
) -> None:
    auth.login(staff[who])
    page = client.get("/staff/").get_data(as_text=True)
    assert 'href="/staff/?view=all"' in page
    assert set(shown(client, "view=all")) == set(queue.values())


def test_a_filter_without_a_view_means_what_it_meant_before(
    client: FlaskClient, auth: AuthActions, staff: dict[str, str], queue: dict[str, str]
) -> None:
    """Bookmarked filter URLs cover every status, as they did before default views."""
    auth.login(staff["world_reporter"])
    assert set(shown(client, "kind=tip")) == set(queue.values())
    assert shown(client, "status=closed") == [queue["closed"]]


def test_my_queue_explains_why_it_is_empty_for_an_account_that_is_no_reporter(
    client: FlaskClient, auth: AuthActions, staff: dict[str, str], queue: dict[str, str]
) -> None:
    auth.login(staff["editor"])
    for query in ("view=mine", "assignee=me"):
        page = client.get(f"/staff/?{query}").get_data(as_text=True)
        assert "matches no reporter in the newsroom directory" in page
        assert shown(client, query) == []
    assert "matches no reporter" not in client.get("/staff/").get_data(as_text=True)


def test_a_bad_view_or_mark_is_ignored_and_said(
    client: FlaskClient, auth: AuthActions, staff: dict[str, str]
) -> None:
    auth.login(staff["editor"])
    page = client.get("/staff/?view=everything&flag=hot").get_data(as_text=True)
    assert "view must be one of mine, open, all" in page
    assert "Unknown mark &#39;hot&#39;; ignored." in page


# Each mark: the state that earns it, and the words the row then says.
MARKS = [
    ("overdue", {"created_at": utcnow() - timedelta(hours=5)}, "overdue"),
    ("replied", {"reader_replied_at": utcnow()}, "reader replied"),
    ("sensitive", {"sensitive": True}, "sensitive"),
    ("files", None, "has files"),
    ("translation", {"needs_translation": True, "language": "de"}, "needs translation"),
]


@pytest.mark.parametrize(("flag", "state", "words"), MARKS, ids=[m[0] for m in MARKS])
def test_each_mark_is_words_on_the_row_and_a_filter(
    app: Flask,
    client: FlaskClient,
    auth: AuthActions,
    staff: dict[str, str],
    flag: str,
    state: dict[str, Any] | None,
    words: str,
) -> None:
    plain = make_submission(app, now=utcnow())
    marked = make_submission(app, now=utcnow())
    if state is None:
        with app.app_context():
            submission_id = db.session.scalar(
                sa.select(Submission.id).where(Submission.reference == marked)
            )
            assert submission_id is not None
            db.session.add(
                Attachment(
                    submission_id=submission_id,
                    stored_name="f" * 32,
                    original_name="photo.jpg",
                    media_type="image/jpeg",
                    size=10,
                    sha256="0" * 64,
                )
            )
            db.session.commit()
    else:
        change(app, marked, **state)
    change(app, plain, needs_translation=False)
    auth.login(staff["editor"])
    page = client.get("/staff/?view=all").get_data(as_text=True)
    rows = {ref: row for row in page.split("<tr")[1:] for ref in REFERENCE.findall(row)[:1]}
    assert f'<li class="mark mark-{flag}">{words}</li>' in rows[marked]
    assert f"mark-{flag}" not in rows[plain]
    assert shown(client, f"view=all&flag={flag}") == [marked]


def test_an_item_acted_on_in_time_or_closed_is_not_overdue(
    app: Flask, client: FlaskClient, auth: AuthActions, staff: dict[str, str]
) -> None:
    late = utcnow() - timedelta(hours=5)
    acted = make_submission(app, now=late)
    closed = make_submission(app, now=late)
    overdue = make_submission(app, now=late)
    change(app, acted, first_action_at=late + timedelta(hours=1))
    change(app, closed, status="closed")
    auth.login(staff["editor"])
    assert shown(client, "view=all&flag=overdue") == [overdue]


def test_overdue_counts_from_the_setting(
    app: Flask, client: FlaskClient, auth: AuthActions, staff: dict[str, str]
) -> None:
    make_submission(app, now=utcnow() - timedelta(hours=3))
    auth.login(staff["editor"])
    assert shown(client, "flag=overdue") == []
    app.config["INTAKE_FIRST_ACTION_HOURS"] = 2
    assert len(shown(client, "flag=overdue")) == 1


def test_status_is_a_word_and_a_shape_and_new_rows_are_marked_as_such(
    app: Flask, client: FlaskClient, auth: AuthActions, staff: dict[str, str], queue: dict[str, str]
) -> None:
    auth.login(staff["editor"])
    page = client.get("/staff/?view=all").get_data(as_text=True)
    assert '<span class="shape" aria-hidden="true">●</span> new' in page
    assert '<span class="shape" aria-hidden="true">◐</span> in progress' in page
    assert '<tr class="status-new' in page and '<tr class="status-closed' in page


def test_every_dashboard_tile_links_to_the_items_it_counts(
    app: Flask, client: FlaskClient, auth: AuthActions, staff: dict[str, str], queue: dict[str, str]
) -> None:
    old = make_submission(app, now=utcnow() - timedelta(hours=30))
    auth.login(staff["editor"])
    page = client.get("/staff/").get_data(as_text=True)
    tiles = re.findall(
        r'<li><a href="/staff/\?([^"]+)"><span class="figure">([\d,+]+)</span> ([^<]+)</a>', page
    )
    assert [label for _, _, label in tiles] == [
        "new today",
        "open, unassigned",
        "overdue (no action in 4 h)",
        "reader replied",
        "new, waiting over 24 h",
    ]
    for query, figure, label in tiles:
        assert len(shown(client, query.replace("&amp;", "&"))) == int(figure), label
    assert old in shown(client, "view=all&flag=waiting")


def test_the_inbox_counts_what_arrived_since_it_was_opened(
    app: Flask, client: FlaskClient, auth: AuthActions, staff: dict[str, str]
) -> None:
    make_submission(app, now=DESK_HOURS)
    auth.login(staff["editor"])
    page = client.get("/staff/").get_data(as_text=True)
    url = re.search(r'data-url="([^"]+)"', page)
    assert url is not None and "last=" in url.group(1)
    poll = url.group(1).replace("&amp;", "&")
    assert client.get(poll).get_json() == {"new": 0, "capped": False}
    make_submission(app, now=DESK_HOURS)
    make_submission(app, now=DESK_HOURS)
    assert client.get(poll).get_json() == {"new": 2, "capped": False}


def test_the_new_count_follows_the_filters_and_what_the_viewer_may_see(
    app: Flask, client: FlaskClient, auth: AuthActions, staff: dict[str, str]
) -> None:
    with app.app_context():
        last = db.session.scalar(sa.select(sa.func.coalesce(sa.func.max(Submission.id), 0)))
    make_submission(app, now=DESK_HOURS)  # world desk
    make_submission(app, now=DESK_HOURS, kind="question")
    auth.login(staff["politics_reporter"])
    assert client.get(f"/staff/inbox/new?view=all&last={last}").get_json()["new"] == 0
    auth.logout()
    auth.login(staff["editor"])
    assert client.get(f"/staff/inbox/new?view=all&last={last}").get_json()["new"] == 2
    assert client.get(f"/staff/inbox/new?kind=question&last={last}").get_json()["new"] == 1


@pytest.mark.parametrize("last", ["", "x", "-1", "9" * 30])
def test_the_new_count_refuses_a_bad_starting_point(
    client: FlaskClient, auth: AuthActions, staff: dict[str, str], last: str
) -> None:
    auth.login(staff["editor"])
    response = client.get(f"/staff/inbox/new?last={last}")
    assert response.status_code == 400 and "error" in response.get_json()


def test_the_new_count_is_for_staff_only(client: FlaskClient) -> None:
    assert client.get("/staff/inbox/new?last=0").status_code == 302


def test_a_bare_export_is_every_submission_and_the_inbox_link_exports_what_it_shows(
    client: FlaskClient, auth: AuthActions, staff: dict[str, str], queue: dict[str, str]
) -> None:
    auth.login(staff["editor"])
    everything = client.get("/staff/export.csv").get_data(as_text=True)
    assert all(reference in everything for reference in queue.values())
    page = client.get("/staff/").get_data(as_text=True)
    link = re.search(r'href="(/staff/export\.csv\?[^"]*)"', page)
    assert link is not None and "view=open" in link.group(1)
    shown = client.get(link.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert queue["closed"] not in shown and queue["unassigned"] in shown
