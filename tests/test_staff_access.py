"""Who may open which staff URL: anonymous, reporters of this and another desk, editor, admin."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import AuthActions, make_submission

# A tip on the World desk from a reader who agreed to be contacted (so a reply is possible).
ROLES = ["anonymous", "world_reporter", "politics_reporter", "editor", "admin"]

# (method, path, form data, expected status per role in ROLES order)
MATRIX = [
    ("GET", "/staff/", {}, [302, 200, 200, 200, 200]),
    ("GET", "/staff/export.csv", {}, [302, 200, 200, 200, 200]),
    ("GET", "/staff/s/{ref}", {}, [302, 200, 404, 200, 200]),
    ("GET", "/staff/s/T-ZZZZ-ZZZZ", {}, [302, 404, 404, 404, 404]),
    (
        "POST",
        "/staff/s/{ref}/status",
        {"status": "in_progress", "version": "1"},
        [302, 303, 404, 303, 303],
    ),
    (
        "POST",
        "/staff/s/{ref}/assign",
        {"target": "reporter:isa", "version": "1"},
        [302, 303, 404, 303, 303],
    ),
    (
        "POST",
        "/staff/s/{ref}/note",
        {"text": "Checked with the ministry.", "version": "1"},
        [302, 303, 404, 303, 303],
    ),
    (
        "POST",
        "/staff/s/{ref}/reply",
        {"text": "Thank you, we are looking into it.", "version": "1"},
        [302, 303, 404, 303, 303],
    ),
    (
        "POST",
        "/staff/bulk",
        {"action": "status:in_progress", "pick": "{ref}:1"},
        [302, 303, 303, 303, 303],
    ),
    ("GET", "/staff/logout", {}, [302, 200, 200, 200, 200]),
    ("GET", "/staff/login", {}, [200, 302, 302, 302, 302]),
]
CASES = [
    (method, path, data, role, statuses[i])
    for method, path, data, statuses in MATRIX
    for i, role in enumerate(ROLES)
]


@pytest.mark.parametrize(
    ("method", "path", "data", "role", "expected"),
    CASES,
    ids=[f"{m} {p} as {r}" for m, p, _, r, _ in CASES],
)
def test_access_matrix(
    app: Flask,
    client: FlaskClient,
    auth: AuthActions,
    staff: dict[str, str],
    method: str,
    path: str,
    data: dict[str, str],
    role: str,
    expected: int,
) -> None:
    ref = make_submission(app, email="olena@example.org", consent_contact=True, author_slug="iryna")
    if role != "anonymous":
        assert auth.login(staff[role]).status_code == 303
    url = path.format(ref=ref)
    form = {k: v.format(ref=ref) for k, v in data.items()}
    response = client.open(url, method=method, data=form)
    assert response.status_code == expected
    if expected == 302 and role == "anonymous":
        assert response.headers["Location"].startswith("/staff/login")
    if url.startswith("/staff/"):
        assert response.headers["Cache-Control"] == "no-store"


def test_other_desks_submission_is_absent_from_inbox_and_export(
    app: Flask, client: FlaskClient, auth: AuthActions, staff: dict[str, str]
) -> None:
    world = make_submission(app, author_slug="iryna")
    politics = make_submission(
        app, topic="us-politics", body="A senate aide says the vote will slip.", author_slug="dana"
    )
    auth.login(staff["politics_reporter"])
    inbox = client.get("/staff/").get_data(as_text=True)
    export = client.get("/staff/export.csv").get_data(as_text=True)
    assert politics in inbox and politics in export
    assert world not in inbox and world not in export


def test_bulk_on_an_invisible_submission_changes_nothing(
    app: Flask, client: FlaskClient, auth: AuthActions, staff: dict[str, str]
) -> None:
    from tests.conftest import get_submission

    ref = make_submission(app, author_slug="iryna")
    auth.login(staff["politics_reporter"])
    client.post("/staff/bulk", data={"action": "status:closed", "pick": f"{ref}:1"})
    assert get_submission(app, ref).status == "new"
