"""The admins' newsroom page: the directory as loaded, who is on shift, the warnings, moving
a departed reporter's items, and uploading a directory file: its problems, its diff, apply."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from html import unescape
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from werkzeug.test import TestResponse

from intake import accounts, directory
from intake.extensions import db
from intake.models import AuditEvent, Event, OutboxEmail, Submission, utcnow
from tests.conftest import (
    DESK_HOURS,
    EXAMPLE_NEWSROOM,
    AuthActions,
    get_submission,
    make_submission,
)
from tests.test_directory import snapshot as directory_rows

EXAMPLE = EXAMPLE_NEWSROOM.read_text(encoding="utf-8")
OLEK = """
[[reporters]]
slug = "olek"
name = "Olek Marchenko"
email = "olek.marchenko@example.org"
desks = ["world"]
topics = ["russia-ukraine-war"]
languages = ["uk", "en"]
timezone = "Europe/Kyiv"
shift = "12:00-21:00"
"""


def without_reporter(text: str, slug: str) -> str:
    """Return a directory file with one reporter's entry taken out."""
    head, *entries = text.split("[[reporters]]")
    kept = [e for e in entries if f'slug = "{slug}"' not in e]
    assert len(kept) == len(entries) - 1
    return "[[reporters]]".join([head, *kept])


def audit(app: Flask) -> list[tuple[str, str, str]]:
    with app.app_context():
        events = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id))
        return [(e.actor, e.action, e.target) for e in events]


def text_of(response: TestResponse) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", unescape(response.get_data(as_text=True))).split())


def upload(client: FlaskClient, data: bytes | str, name: str = "newsroom.toml") -> TestResponse:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return client.post(
        "/staff/admin/newsroom/upload",
        data={"file": (io.BytesIO(raw), name)},
        content_type="multipart/form-data",
    )


def apply_form(page: TestResponse) -> dict[str, str]:
    """Return the hidden fields the diff page's Apply form carries."""
    html = page.get_data(as_text=True)
    form = html[html.index('action="/staff/admin/newsroom/apply"') :]
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', form))


@pytest.fixture
def newsroom_file(app: Flask, tmp_path: Path) -> Path:
    """The directory file the app was loaded from, where INTAKE_NEWSROOM says."""
    path = tmp_path / "newsroom.toml"
    path.write_text(EXAMPLE, encoding="utf-8")
    app.config["INTAKE_NEWSROOM"] = str(path)
    return path


@pytest.fixture
def admin(auth: AuthActions, staff: dict[str, str]) -> FlaskClient:
    """A client signed in as the admin."""
    assert auth.login(staff["admin"]).status_code == 303
    return auth.client


def load_text(app: Flask, text: str) -> None:
    """Load a directory into the tables directly, as `load-newsroom` would."""
    with app.app_context():
        directory.sync_newsroom(db.session, directory.parse_newsroom(text))
        db.session.commit()


ROLES = ["anonymous", "world_reporter", "editor", "admin"]
ACCESS = [
    ("GET", "/staff/admin/newsroom", [302, 404, 404, 200]),
    ("POST", "/staff/admin/newsroom/upload", [302, 404, 404, 303]),
    ("POST", "/staff/admin/newsroom/apply", [302, 404, 404, 303]),
    ("POST", "/staff/admin/newsroom/reporters/iryna/move-items", [302, 404, 404, 303]),
]
CASES = [(m, p, role, codes[i]) for m, p, codes in ACCESS for i, role in enumerate(ROLES)]


@pytest.mark.parametrize(
    ("method", "path", "role", "expected"), CASES, ids=[f"{m} {p} as {r}" for m, p, r, _ in CASES]
)
def test_only_admins_reach_the_newsroom_pages(
    client: FlaskClient,
    auth: AuthActions,
    staff: dict[str, str],
    method: str,
    path: str,
    role: str,
    expected: int,
) -> None:
    if role != "anonymous":
        assert auth.login(staff[role]).status_code == 303
    response = client.open(path, method=method)
    assert response.status_code == expected
    if role == "anonymous":
        assert "/staff/login" in response.headers["Location"]


def test_the_page_shows_desks_topics_and_reporters_as_loaded(admin: FlaskClient) -> None:
    page = text_of(admin.get("/staff/admin/newsroom"))
    assert "Newsroom directory: Example Daily — World desk" in page
    assert "World News (world, the default desk) worldnews@example.org the text" in page
    assert "Business (business) business@example.org a link only" in page
    assert "Energy and markets (energy-markets) business oil, opec" in page
    assert "Isa Rahman isa.rahman@example.org world russia-ukraine-war, asia-pacific en, ru" in page
    assert "09:00-18:00, Asia/Kuala_Lumpur" in page


def test_who_is_on_shift_comes_from_each_reporters_hours_and_time_zone(app: Flask) -> None:
    # 18:00 UTC on 24 November: 13:00 in New York, 18:00 in London, 20:00 in Kyiv.
    with app.app_context():
        now = directory.overview(db.session, DESK_HOURS)
    assert {r.info.name for r in now.reporters if r.on_shift} == {
        "Sam Okafor",
        "Dana Ellis",
        "Lee Park",
    }
    assert now.on_shift_at("world") == ["Sam Okafor"]


def test_an_account_that_matches_no_reporter_is_pointed_out(
    app: Flask, admin: FlaskClient, staff: dict[str, str]
) -> None:
    with app.app_context():
        accounts.create(db.session, "ghost@example.org", "reporter", "a long enough passphrase")
    page = admin.get("/staff/admin/newsroom").get_data(as_text=True)
    warnings = page[page.index('id="warnings"') : page.index('id="desks"')]
    assert "ghost@example.org" in warnings
    assert staff["world_reporter"] not in warnings  # Iryna is in the directory


@pytest.fixture
def iryna_left(app: Flask, newsroom_file: Path) -> dict[str, str]:
    """Items of Iryna's in several states; then a directory without her is loaded."""
    items = {
        name: make_submission(app, author_slug="iryna", now=DESK_HOURS)
        for name in ("new", "in progress", "closed, reader replied", "closed")
    }
    with app.app_context():
        for name, reference in items.items():
            submission = db.session.scalars(
                sa.select(Submission).where(Submission.reference == reference)
            ).one()
            assert submission.assignee is not None and submission.assignee.slug == "iryna"
            submission.status = {"in progress": "in_progress", "new": "new"}.get(name, "closed")
            if name == "closed, reader replied":
                submission.reader_replied_at = utcnow()
        db.session.commit()
    load_text(app, without_reporter(EXAMPLE, "iryna"))
    return items


def test_a_departed_reporters_items_are_pointed_out_with_one_action(
    admin: FlaskClient, iryna_left: dict[str, str]
) -> None:
    page = text_of(admin.get("/staff/admin/newsroom"))
    assert "Iryna Koval is no longer in the directory but still holds 3 open items." in page
    assert "Move 3 items to the World News inbox from Iryna Koval" in page
    assert "Deactivated reporters (kept for the history): Iryna Koval." in page


def notices(app: Flask, reference: str) -> list[tuple[str, str]]:
    with app.app_context():
        rows = db.session.scalars(
            sa.select(OutboxEmail)
            .join(Submission)
            .where(Submission.reference == reference)
            .order_by(OutboxEmail.id)
        )
        return [(e.purpose, e.recipient) for e in rows]


def test_moving_the_items_gives_them_to_the_desk_inbox_and_tells_the_desk(
    app: Flask, admin: FlaskClient, staff: dict[str, str], iryna_left: dict[str, str]
) -> None:
    response = admin.post("/staff/admin/newsroom/reporters/iryna/move-items")
    assert response.status_code == 303
    page = text_of(admin.get(response.headers["Location"]))
    assert "Moved 3 item(s) to the inbox of World News; each desk is emailed." in page
    assert "still holds" not in page
    for name in ("new", "in progress", "closed, reader replied"):
        moved = get_submission(app, iryna_left[name])
        assert (moved.assignee, moved.desk and moved.desk.slug) == (None, "world")
        [event] = [e for e in moved.events if e.kind == "reassigned"]
        assert (event.actor, event.detail) == (
            staff["admin"],
            "to the World News inbox (Iryna Koval is no longer active)",
        )
        assert notices(app, iryna_left[name])[-1] == ("reporter_notice", "worldnews@example.org")
    assert get_submission(app, iryna_left["in progress"]).status == "in_progress"
    # The reader is still waiting for an answer: the desk sees that.
    assert get_submission(app, iryna_left["closed, reader replied"]).reader_replied_at is not None
    left_alone = get_submission(app, iryna_left["closed"])
    assert left_alone.assignee is not None and left_alone.assignee.slug == "iryna"
    assert audit(app)[-1] == (staff["admin"], "newsroom.items_moved", "iryna")


def test_moving_again_or_from_an_active_reporter_is_refused(
    app: Flask, admin: FlaskClient, iryna_left: dict[str, str]
) -> None:
    admin.post("/staff/admin/newsroom/reporters/iryna/move-items")
    for slug, message in [
        ("iryna", "Iryna Koval holds no open items."),
        ("isa", "Isa Rahman is active: reassign their items one by one"),
        ("nobody", "There is no reporter 'nobody'."),
    ]:
        before = count_events(app)
        response = admin.post(f"/staff/admin/newsroom/reporters/{slug}/move-items")
        assert message in text_of(admin.get(response.headers["Location"]))
        assert count_events(app) == before


def count_events(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(Event)) or 0


@pytest.mark.parametrize(
    ("content", "status", "problems"),
    [
        ("[newsroom\nname = 1", 400, ["not valid TOML"]),
        (
            EXAMPLE.replace('desk = "business"', 'desk = "sport"'),
            400,
            ["topics[5] 'energy-markets': desk 'sport' is not a desk in this file"],
        ),
        (
            EXAMPLE.replace('shift = "07:00-16:00"', 'shift = "7am"').replace(
                'timezone = "Europe/London"', 'timezone = "Mars/Olympus"'
            ),
            400,
            ["unknown time zone 'Mars/Olympus'", "shift '7am' must be 'HH:MM-HH:MM'"],
        ),
        ("name = 'Köln'".encode("latin-1"), 400, ["The file is not UTF-8 text"]),
        (b"#" * (256 * 1024 + 1), 413, ["The file is larger than 256 KB."]),
    ],
    ids=["not TOML", "unknown desk", "two problems", "not UTF-8", "too large"],
)
def test_a_bad_upload_shows_every_problem_and_changes_nothing(
    app: Flask,
    admin: FlaskClient,
    newsroom_file: Path,
    content: str | bytes,
    status: int,
    problems: list[str],
) -> None:
    before = directory_rows(app)
    response = upload(admin, content)
    assert response.status_code == status
    page = unescape(response.get_data(as_text=True))
    shown = re.findall(r"<li>([^<]*)</li>", page[page.index('class="admin-problems"') :])
    for problem in problems:
        assert any(problem in item for item in shown), shown
    assert 'action="/staff/admin/newsroom/apply"' not in page
    assert directory_rows(app) == before
    assert newsroom_file.read_text(encoding="utf-8") == EXAMPLE


def test_an_upload_without_a_file_asks_for_one(admin: FlaskClient) -> None:
    response = admin.post("/staff/admin/newsroom/upload", data={})
    assert "Choose a directory file (TOML) to upload." in text_of(
        admin.get(response.headers["Location"])
    )


CHANGED = (
    without_reporter(EXAMPLE, "iryna").replace('name = "World News"', 'name = "World Desk"') + OLEK
)


def test_a_valid_upload_shows_what_it_would_change_and_changes_nothing_yet(
    app: Flask, admin: FlaskClient, newsroom_file: Path
) -> None:
    before = directory_rows(app)
    response = upload(admin, CHANGED, "newsroom-2026.toml")
    assert response.status_code == 200
    page = text_of(response)
    assert "What applying newsroom-2026.toml would change" in page
    assert "Desks Changed (1) World Desk (world): name" in page
    assert "Reporters Added (1) Olek Marchenko (olek) Changed (5) Isa Rahman (isa): order" in page
    assert "Deactivated (1) Iryna Koval (iryna)" in page
    assert "Topics" not in page.split("would change", 1)[1].split("Reporters")[0]
    assert directory_rows(app) == before
    assert newsroom_file.read_text(encoding="utf-8") == EXAMPLE


def test_a_reporter_back_in_the_file_is_shown_as_restored(app: Flask) -> None:
    load_text(app, without_reporter(EXAMPLE, "iryna"))
    with app.app_context():
        diff = directory.compare(db.session, directory.parse_newsroom(EXAMPLE))
    assert [(c.slug, c.fields) for c in diff.of("reporters", "restored")] == [("iryna", ())]
    assert {c.what for c in diff.changes} == {"restored", "changed"}  # the others move down


def test_applying_an_upload_changes_the_tables_and_the_file(
    app: Flask, admin: FlaskClient, staff: dict[str, str], newsroom_file: Path
) -> None:
    response = admin.post("/staff/admin/newsroom/apply", data=apply_form(upload(admin, CHANGED)))
    assert response.status_code == 303
    page = text_of(admin.get(response.headers["Location"]))
    assert f"Applied and saved to {newsroom_file}." in page
    assert "reporters: 1 created, 5 changed, 1 deactivated" in page  # the others moved up
    assert "gap(s) in the next seven days: see Rota and gaps." in page  # the example has some
    assert newsroom_file.read_text(encoding="utf-8") == CHANGED
    rows = directory_rows(app)
    assert ("world", "World Desk", "worldnews@example.org", True) in rows["desks"]
    assert {(r[0], r[3]) for r in rows["reporters"]} >= {("olek", True), ("iryna", False)}
    assert audit(app) == [(staff["admin"], "newsroom.applied", "newsroom")]


def tampered(form: dict[str, str]) -> dict[str, str]:
    return {**form, "upload": form["upload"][:-4] + "AAAA"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (tampered, "The uploaded file did not come back intact: nothing was applied."),
        (lambda form: {}, "The uploaded file did not come back intact: nothing was applied."),
        (
            lambda form: {**form, "seen": "2020-01-01T00:00:00+00:00"},
            "The uploaded file did not come back intact: nothing was applied.",
        ),
    ],
    ids=["text altered", "fields missing", "stamp altered"],
)
def test_an_apply_that_did_not_come_from_the_diff_page_is_refused(
    app: Flask,
    admin: FlaskClient,
    newsroom_file: Path,
    change: Callable[[dict[str, str]], dict[str, str]],
    message: str,
) -> None:
    form = apply_form(upload(admin, CHANGED))
    before = directory_rows(app)
    response = admin.post("/staff/admin/newsroom/apply", data=change(form))
    assert message in text_of(admin.get(response.headers["Location"]))
    assert directory_rows(app) == before
    assert newsroom_file.read_text(encoding="utf-8") == EXAMPLE
    assert audit(app) == []


def test_an_apply_after_the_directory_was_loaded_again_is_refused(
    app: Flask, admin: FlaskClient, newsroom_file: Path
) -> None:
    form = apply_form(upload(admin, CHANGED))
    load_text(app, without_reporter(EXAMPLE, "isa"))  # someone ran load-newsroom meanwhile
    before = directory_rows(app)
    response = admin.post("/staff/admin/newsroom/apply", data=form)
    page = text_of(admin.get(response.headers["Location"]))
    assert "The directory was loaded again since you saw the differences" in page
    assert directory_rows(app) == before


def test_without_intake_newsroom_an_upload_is_checked_but_not_applied(
    app: Flask, admin: FlaskClient, newsroom_file: Path
) -> None:
    form = apply_form(upload(admin, CHANGED))
    app.config["INTAKE_NEWSROOM"] = None
    assert "INTAKE_NEWSROOM is not set, so this file cannot be applied here" in text_of(
        upload(admin, CHANGED)
    )
    before = directory_rows(app)
    response = admin.post("/staff/admin/newsroom/apply", data=form)
    page = text_of(admin.get(response.headers["Location"]))
    assert "INTAKE_NEWSROOM is not set, so there is no directory file to keep this in" in page
    assert directory_rows(app) == before
    assert audit(app) == []


def test_nothing_is_applied_when_the_file_cannot_be_written(
    app: Flask, admin: FlaskClient, tmp_path: Path
) -> None:
    app.config["INTAKE_NEWSROOM"] = str(tmp_path / "missing-folder" / "newsroom.toml")
    before = directory_rows(app)
    response = admin.post("/staff/admin/newsroom/apply", data=apply_form(upload(admin, CHANGED)))
    page = text_of(admin.get(response.headers["Location"]))
    assert f"Cannot write in {tmp_path / 'missing-folder'}" in page
    assert "Nothing was applied." in page
    assert directory_rows(app) == before
    assert audit(app) == []


def test_load_newsroom_is_audited_as_the_command_line(
    app: Flask, runner: FlaskCliRunner, newsroom_file: Path
) -> None:
    newsroom_file.write_text(CHANGED, encoding="utf-8")
    result = runner.invoke(args=["intake", "load-newsroom"])
    assert result.exit_code == 0, result.output
    assert audit(app) == [("command line", "newsroom.applied", "newsroom")]
    with app.app_context():
        detail = db.session.scalars(sa.select(AuditEvent.detail)).one()
    assert f"from {newsroom_file}: desks: 0 created, 1 changed, 0 deactivated" in detail
