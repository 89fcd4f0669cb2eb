"""The REST API: personal tokens, what a token sees, actions with If-Match, problem details."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from intake import tokens
from intake.extensions import db
from intake.models import ApiToken, StaffUser
from tests.conftest import (
    ADMIN_TOTP,
    STAFF,
    AuthActions,
    add_staff,
    get_submission,
    make_app,
    make_submission,
)

PROBLEM = "application/problem+json"
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


@pytest.fixture
def api_app(app: Flask, password_hash: str) -> Flask:
    """The example newsroom with one account per role."""
    add_staff(app, password_hash, admin_totp=ADMIN_TOTP)
    return app


def token_for(app: Flask, name: str, label: str = "script") -> str:
    """Make a token for one of STAFF's accounts, as the CLI does."""
    with app.app_context():
        user = db.session.scalars(
            sa.select(StaffUser).where(StaffUser.email == STAFF[name][0])
        ).one()
        return tokens.create(db.session, user, label)


def call(
    client: FlaskClient, method: str, url: str, token: str | None, **kwargs: Any
) -> TestResponse:
    headers = dict(kwargs.pop("headers", {}))
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return client.open(url, method=method, headers=headers, **kwargs)


def etag(app: Flask, reference: str) -> str:
    """Return the submission's ETag now, as a script would have read it."""
    return f'"{get_submission(app, reference).version}"'


def world_and_politics(app: Flask) -> tuple[str, str]:
    """Store one tip for the World desk and one for US Politics."""
    world = make_submission(app, now=NOW)
    politics = make_submission(
        app, now=NOW, topic="us-politics", body="A question about the Senate vote count."
    )
    return world, politics


# --- Tokens --------------------------------------------------------------------------------


def test_create_token_prints_the_token_alone_on_the_last_line(api_app: Flask) -> None:
    result = api_app.test_cli_runner().invoke(
        args=["intake", "create-token", STAFF["world_reporter"][0], "--name", "dashboard"]
    )
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    assert token.startswith("itk_") and " " not in token
    with api_app.app_context():
        stored = db.session.scalars(sa.select(ApiToken)).one()
        assert stored.name == "dashboard"
        assert stored.token_hash == tokens.digest(token)
        assert token not in stored.token_hash + stored.hint  # only a hash and a hint are kept


def test_only_the_hash_of_a_token_is_stored(api_app: Flask, tmp_path: Path) -> None:
    token = token_for(api_app, "editor")
    with api_app.app_context():
        db.session.remove()
        db.engine.dispose()
    stored = b"".join(p.read_bytes() for p in sorted(tmp_path.glob("intake.sqlite3*")))
    if stored:  # SQLite: the files themselves; PostgreSQL keeps them elsewhere
        assert token.encode() not in stored


def test_revoke_token_stops_it_working(api_app: Flask) -> None:
    client = api_app.test_client()
    token = token_for(api_app, "editor", "old")
    assert call(client, "GET", "/api/v1/me", token).status_code == 200
    result = api_app.test_cli_runner().invoke(
        args=["intake", "revoke-token", STAFF["editor"][0], "old"]
    )
    assert result.exit_code == 0, result.output
    assert call(client, "GET", "/api/v1/me", token).status_code == 401


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["create-token", "nobody@example.org"], "No account for nobody@example.org"),
        (["revoke-token", "editor@example.org", "missing"], "no token named"),
    ],
)
def test_token_commands_refuse_clearly(api_app: Flask, args: list[str], said: str) -> None:
    result = api_app.test_cli_runner().invoke(args=["intake", *args])
    assert result.exit_code != 0
    assert said in result.output


def test_two_tokens_of_one_person_need_different_names(api_app: Flask) -> None:
    token_for(api_app, "editor", "same")
    with pytest.raises(tokens.TokenError, match="already has a token named"):
        token_for(api_app, "editor", "same")


def test_a_deactivated_accounts_token_is_refused(api_app: Flask) -> None:
    token = token_for(api_app, "editor")
    with api_app.app_context():
        user = db.session.scalars(sa.select(StaffUser).where(StaffUser.role == "editor")).one()
        user.active = False
        db.session.commit()
    assert call(api_app.test_client(), "GET", "/api/v1/me", token).status_code == 401


def test_staff_page_makes_a_token_shown_once_and_revokes_it(api_app: Flask) -> None:
    client = api_app.test_client()
    AuthActions(api_app, client).login(STAFF["world_reporter"][0])
    made = client.post("/staff/tokens", data={"name": "my laptop"})
    assert made.status_code == 200
    page = made.get_data(as_text=True)
    token = page.split('<code id="new-token">', 1)[1].split("<", 1)[0]
    assert call(client, "GET", "/api/v1/me", token).json == {
        "email": STAFF["world_reporter"][0],
        "role": "reporter",
        "desks": ["world"],
    }
    again = client.get("/staff/tokens").get_data(as_text=True)
    assert "my laptop" in again and token not in again  # listed, never shown again
    client.post("/staff/tokens/revoke", data={"name": "my laptop"})
    assert call(client, "GET", "/api/v1/me", token).status_code == 401


# --- Authentication and problem details ----------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer", "Bearer itk_not-a-real-token", "Basic dXNlcjpwYXNz", "Bearer " + "x" * 500],
)
def test_no_valid_token_is_401_problem_details(api_app: Flask, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = api_app.test_client().get("/api/v1/submissions", headers=headers)
    assert response.status_code == 401
    assert response.content_type == PROBLEM
    assert response.json is not None
    assert response.json["status"] == 401 and response.json["title"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_an_unknown_api_address_is_404_problem_details(api_app: Flask) -> None:
    token = token_for(api_app, "editor")
    response = call(api_app.test_client(), "GET", "/api/v1/nowhere", token)
    assert response.status_code == 404
    assert response.content_type == PROBLEM


def test_a_session_cookie_is_not_a_token(api_app: Flask) -> None:
    client = api_app.test_client()
    AuthActions(api_app, client).login(STAFF["editor"][0])
    assert client.get("/api/v1/me").status_code == 401  # no cookie auth: no CSRF to fear


# --- What a token sees ---------------------------------------------------------------------


def test_a_reporters_token_sees_only_their_desk(api_app: Flask) -> None:
    world, politics = world_and_politics(api_app)
    client = api_app.test_client()
    token = token_for(api_app, "world_reporter")
    listed = call(client, "GET", "/api/v1/submissions?view=all", token)
    assert listed.status_code == 200
    assert listed.json is not None
    assert [item["reference"] for item in listed.json["items"]] == [world]
    assert call(client, "GET", f"/api/v1/submissions/{world}", token).status_code == 200
    hidden = call(client, "GET", f"/api/v1/submissions/{politics}", token)
    assert hidden.status_code == 404
    assert hidden.content_type == PROBLEM


def test_an_editors_token_sees_every_desk(api_app: Flask) -> None:
    world, politics = world_and_politics(api_app)
    token = token_for(api_app, "editor")
    listed = call(api_app.test_client(), "GET", "/api/v1/submissions?view=all", token)
    assert listed.json is not None
    assert {item["reference"] for item in listed.json["items"]} == {world, politics}


def test_one_submission_has_its_text_thread_and_etag(api_app: Flask) -> None:
    world, _ = world_and_politics(api_app)
    response = call(
        api_app.test_client(), "GET", f"/api/v1/submissions/{world}", token_for(api_app, "editor")
    )
    assert response.json is not None
    assert response.json["body"].startswith("У Харкові")
    assert [e["kind"] for e in response.json["thread"]][:2] == ["created", "routed"]
    assert response.headers["ETag"] == f'"{response.json["version"]}"'


def test_filters_are_the_inboxs(api_app: Flask) -> None:
    world, politics = world_and_politics(api_app)
    token = token_for(api_app, "editor")
    client = api_app.test_client()
    by_desk = call(client, "GET", "/api/v1/submissions?view=all&desk=politics", token)
    assert by_desk.json is not None
    assert [i["reference"] for i in by_desk.json["items"]] == [politics]
    by_words = call(client, "GET", "/api/v1/submissions?view=all&q=Senate", token)
    assert by_words.json is not None
    assert [i["reference"] for i in by_words.json["items"]] == [politics]


def test_keyset_pages_walk_every_item_once(api_app: Flask) -> None:
    made = {make_submission(api_app, now=NOW) for _ in range(5)}
    token = token_for(api_app, "editor")
    client = api_app.test_client()
    seen: list[str] = []
    url = "/api/v1/submissions?view=all&limit=2"
    for _ in range(5):
        page = call(client, "GET", url, token).json
        assert page is not None
        seen += [i["reference"] for i in page["items"]]
        if page["next"] is None:
            break
        url = f"/api/v1/submissions?view=all&limit=2&after={page['next']}"
    assert sorted(seen) == sorted(made) and len(seen) == 5


@pytest.mark.parametrize(
    "query",
    ["status=lost", "limit=0", "limit=1000", "since=yesterday", "sort=sideways", "colour=red"],
)
def test_a_bad_filter_is_400_naming_the_field(api_app: Flask, query: str) -> None:
    token = token_for(api_app, "editor")
    response = call(api_app.test_client(), "GET", f"/api/v1/submissions?{query}", token)
    assert response.status_code == 400
    assert response.content_type == PROBLEM
    assert response.json is not None
    assert response.json["errors"][0]["field"] == query.split("=")[0]


def test_the_directory_is_readable(api_app: Flask) -> None:
    response = call(
        api_app.test_client(), "GET", "/api/v1/directory", token_for(api_app, "world_reporter")
    )
    assert response.json is not None
    assert [d["slug"] for d in response.json["desks"]] == ["world", "politics", "business"]
    iryna = next(r for r in response.json["reporters"] if r["slug"] == "iryna")
    assert iryna["desks"] == ["world"] and "uk" in iryna["languages"]
    assert "email" not in iryna
    # A colleague's hours and zone (where they are) are not a reporter's to see.
    assert iryna["timezone"] is None and iryna["shift"] is None


def test_an_editor_sees_the_reporters_hours_in_the_directory(api_app: Flask) -> None:
    response = call(api_app.test_client(), "GET", "/api/v1/directory", token_for(api_app, "editor"))
    assert response.json is not None
    iryna = next(r for r in response.json["reporters"] if r["slug"] == "iryna")
    assert (iryna["timezone"], iryna["shift"]) == ("Europe/Kyiv", "08:00-17:00")


# --- Actions -------------------------------------------------------------------------------


def test_an_action_with_the_current_version_changes_the_submission(api_app: Flask) -> None:
    world, _ = world_and_politics(api_app)
    token = token_for(api_app, "world_reporter")
    client = api_app.test_client()
    etag = call(client, "GET", f"/api/v1/submissions/{world}", token).headers["ETag"]
    response = call(
        client,
        "POST",
        f"/api/v1/submissions/{world}/status",
        token,
        json={"status": "in_progress"},
        headers={"If-Match": etag},
    )
    assert response.status_code == 200, response.json
    assert response.json is not None and response.json["status"] == "in_progress"
    assert response.headers["ETag"] != etag
    assert get_submission(api_app, world).events[-1].actor == STAFF["world_reporter"][0]


def test_an_action_on_a_changed_submission_is_412(api_app: Flask) -> None:
    world, _ = world_and_politics(api_app)
    token = token_for(api_app, "editor")
    client = api_app.test_client()
    etag = call(client, "GET", f"/api/v1/submissions/{world}", token).headers["ETag"]
    call(
        client,
        "POST",
        f"/api/v1/submissions/{world}/notes",
        token,
        json={"text": "first"},
        headers={"If-Match": etag},
    )
    stale = call(
        client,
        "POST",
        f"/api/v1/submissions/{world}/notes",
        token,
        json={"text": "second"},
        headers={"If-Match": etag},
    )
    assert stale.status_code == 412
    assert stale.content_type == PROBLEM
    notes = [e.detail for e in get_submission(api_app, world).events if e.kind == "note"]
    assert notes == ["first"]


def test_an_action_without_if_match_is_428(api_app: Flask) -> None:
    world, _ = world_and_politics(api_app)
    response = call(
        api_app.test_client(),
        "POST",
        f"/api/v1/submissions/{world}/notes",
        token_for(api_app, "editor"),
        json={"text": "a note"},
    )
    assert response.status_code == 428
    assert not [e for e in get_submission(api_app, world).events if e.kind == "note"]


def test_an_action_on_another_desks_item_is_404(api_app: Flask) -> None:
    _, politics = world_and_politics(api_app)
    response = call(
        api_app.test_client(),
        "POST",
        f"/api/v1/submissions/{politics}/notes",
        token_for(api_app, "world_reporter"),
        json={"text": "peek"},
        headers={"If-Match": '"1"'},
    )
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("status", {"status": "published"}),
        ("status", {}),
        ("assign", {"reporter": "iryna", "desk": "world"}),
        ("assign", {}),
        ("notes", {"text": ""}),
        ("notes", {"text": "x", "extra": 1}),
        ("replies", {"text": "hello", "channel": "carrier pigeon"}),
    ],
)
def test_a_bad_body_is_400_and_changes_nothing(
    api_app: Flask, path: str, body: dict[str, Any]
) -> None:
    world, _ = world_and_politics(api_app)
    before = get_submission(api_app, world).version
    response = call(
        api_app.test_client(),
        "POST",
        f"/api/v1/submissions/{world}/{path}",
        token_for(api_app, "editor"),
        json=body,
        headers={"If-Match": f'"{before}"'},
    )
    assert response.status_code == 400
    assert response.content_type == PROBLEM
    assert get_submission(api_app, world).version == before


def test_an_action_the_workflow_refuses_is_409_with_its_reason(api_app: Flask) -> None:
    world, _ = world_and_politics(api_app)  # no email, so no reply by email
    response = call(
        api_app.test_client(),
        "POST",
        f"/api/v1/submissions/{world}/replies",
        token_for(api_app, "editor"),
        json={"text": "Thank you"},
        headers={"If-Match": etag(api_app, world)},
    )
    assert response.status_code == 409
    assert response.json is not None
    assert "did not leave an email address" in response.json["detail"]


def test_a_reporter_moving_an_item_off_their_desks_must_confirm(api_app: Flask) -> None:
    world, _ = world_and_politics(api_app)
    token = token_for(api_app, "world_reporter")
    client = api_app.test_client()
    version = get_submission(api_app, world).version
    asked = call(
        client,
        "POST",
        f"/api/v1/submissions/{world}/assign",
        token,
        json={"desk": "politics"},
        headers={"If-Match": f'"{version}"'},
    )
    assert asked.status_code == 409
    moved = call(
        client,
        "POST",
        f"/api/v1/submissions/{world}/assign",
        token,
        json={"desk": "politics", "confirm_move": True},
        headers={"If-Match": f'"{version}"'},
    )
    assert moved.status_code == 204  # no longer theirs to see
    moved_to = get_submission(api_app, world).desk
    assert moved_to is not None and moved_to.slug == "politics"


def test_a_reply_by_api_goes_through_the_outbox(api_app: Flask) -> None:
    reference = make_submission(api_app, now=NOW, email="reader@example.net", consent_contact=True)
    response = call(
        api_app.test_client(),
        "POST",
        f"/api/v1/submissions/{reference}/replies",
        token_for(api_app, "editor"),
        json={"text": "Thank you, we are looking into it."},
        headers={"If-Match": etag(api_app, reference)},
    )
    assert response.status_code == 200
    assert response.json is not None
    assert response.json["thread"][-1]["kind"] == "reply"


@pytest.mark.parametrize(
    ("if_match", "status"),
    [('"²"', 400), ('"١"', 400), ('W/"1"', 400), ('"1"x', 400), ("'1'", 400), ('"99"', 412)],
)
def test_if_match_must_be_the_etag_as_given(api_app: Flask, if_match: str, status: int) -> None:
    world, _ = world_and_politics(api_app)
    response = call(
        api_app.test_client(),
        "POST",
        f"/api/v1/submissions/{world}/notes",
        token_for(api_app, "editor"),
        json={"text": "a note"},
        headers={"If-Match": if_match},
    )
    assert response.status_code == status
    assert response.content_type == PROBLEM


@pytest.mark.parametrize(
    ("content_type", "data", "status"),
    [
        ("application/x-www-form-urlencoded", "text=hello", 415),
        ("multipart/form-data; boundary=x", "--x--", 415),
        ("text/plain", '{"text": "hello"}', 415),
        ("application/json", '{"text": "unclosed', 400),
        ("application/json", b'{"text": "\xff\xfe"}', 400),
        ("application/json", "[" * 100_000 + "]" * 100_000, 400),
        ("application/json", '{"text": "NUL \\u0000 inside"}', 400),
    ],
)
def test_a_body_that_is_not_json_is_refused_cleanly(
    api_app: Flask, content_type: str, data: str | bytes, status: int
) -> None:
    api_app.config["PROPAGATE_EXCEPTIONS"] = False  # a crash would be a 500, not raised
    world, _ = world_and_politics(api_app)
    version = get_submission(api_app, world).version
    response = call(
        api_app.test_client(),
        "POST",
        f"/api/v1/submissions/{world}/notes",
        token_for(api_app, "editor"),
        data=data,
        content_type=content_type,
        headers={"If-Match": f'"{version}"'},
    )
    assert response.status_code == status
    assert response.content_type == PROBLEM
    assert get_submission(api_app, world).version == version


@pytest.mark.parametrize("query", ["desk=world%00x", "q=a%00b", "assignee=%00", "language=uk%00"])
def test_a_nul_in_a_filter_is_refused_not_a_crash(api_app: Flask, query: str) -> None:
    api_app.config["PROPAGATE_EXCEPTIONS"] = False
    response = call(
        api_app.test_client(), "GET", f"/api/v1/submissions?{query}", token_for(api_app, "editor")
    )
    assert response.status_code == 400
    assert response.content_type == PROBLEM


# --- Rate limits ---------------------------------------------------------------------------


def test_each_token_has_its_own_rate_limit(tmp_path: Path, password_hash: str) -> None:
    app = make_app(tmp_path, RATELIMIT_ENABLED=True, INTAKE_API_LIMIT="3 per minute")
    add_staff(app, password_hash, admin_totp=ADMIN_TOTP)
    first, second = token_for(app, "editor", "one"), token_for(app, "editor", "two")
    client = app.test_client()
    codes = [call(client, "GET", "/api/v1/me", first).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    limited = call(client, "GET", "/api/v1/me", first)
    assert limited.content_type == PROBLEM
    assert call(client, "GET", "/api/v1/me", second).status_code == 200


def test_a_tokens_limit_is_one_allowance_however_it_is_spent(
    tmp_path: Path, password_hash: str
) -> None:
    app = make_app(tmp_path, RATELIMIT_ENABLED=True, INTAKE_API_LIMIT="3 per hour")
    add_staff(app, password_hash, admin_totp=ADMIN_TOTP)
    token = token_for(app, "editor")
    client = app.test_client()
    spent = [
        client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code,
        client.get("/api/v1/directory", headers={"Authorization": f"bearer  {token}"}).status_code,
        client.get(
            "/api/v1/submissions", headers={"Authorization": f"Bearer {token} "}
        ).status_code,
    ]
    assert spent == [200, 200, 200]
    limited = client.get("/api/v1/directory", headers={"Authorization": f"Bearer {token}"})
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) > 60  # the hour's window, not a guess


def test_made_up_tokens_are_counted_by_client_not_each_afresh(
    tmp_path: Path, password_hash: str
) -> None:
    app = make_app(tmp_path, RATELIMIT_ENABLED=True, INTAKE_API_LIMIT="3 per hour")
    client = app.test_client()
    codes = [call(client, "GET", "/api/v1/me", f"itk_made-up-{n}").status_code for n in range(5)]
    assert codes == [401, 401, 401, 429, 429]


def test_replies_by_page_and_by_api_share_one_allowance(tmp_path: Path, password_hash: str) -> None:
    app = make_app(tmp_path, RATELIMIT_ENABLED=True, INTAKE_REPLY_LIMIT="2 per hour")
    add_staff(app, password_hash, admin_totp=ADMIN_TOTP)
    reference = make_submission(app, now=NOW, email="reader@example.net", consent_contact=True)
    client = app.test_client()
    AuthActions(app, client).login(STAFF["editor"][0])
    for text in ("first", "second"):
        version = get_submission(app, reference).version
        page = client.post(
            f"/staff/s/{reference}/reply",
            data={"text": text, "channel": "email", "version": str(version)},
        )
        assert page.status_code == 303
    third = call(
        client,
        "POST",
        f"/api/v1/submissions/{reference}/replies",
        token_for(app, "editor"),
        json={"text": "third"},
        headers={"If-Match": etag(app, reference)},
    )
    assert third.status_code == 429
    assert third.content_type == PROBLEM


def test_a_person_has_at_most_ten_tokens(api_app: Flask) -> None:
    for n in range(tokens.PER_PERSON):
        token_for(api_app, "editor", f"t{n}")
    with pytest.raises(tokens.TokenError, match="revoke one first"):
        token_for(api_app, "editor", "one more")


# --- The document and its page -------------------------------------------------------------


def test_openapi_document_is_3_1_and_only_the_api(api_app: Flask) -> None:
    document = api_app.test_client().get("/api/v1/openapi.json").json
    assert document is not None
    assert document["openapi"].startswith("3.1")
    assert set(document["paths"]) == {
        "/api/v1/submissions",
        "/api/v1/submissions/{reference}",
        "/api/v1/submissions/{reference}/status",
        "/api/v1/submissions/{reference}/assign",
        "/api/v1/submissions/{reference}/notes",
        "/api/v1/submissions/{reference}/replies",
        "/api/v1/directory",
        "/api/v1/me",
    }
    listing = document["paths"]["/api/v1/submissions"]["get"]
    assert {p["name"] for p in listing["parameters"]} >= {"status", "desk", "after", "limit"}
    status_body = document["components"]["schemas"]
    assert any(name.startswith("StatusBody") for name in status_body)
    assert document["components"]["securitySchemes"]["token"]["scheme"] == "bearer"


def test_openapi_document_describes_errors_if_match_and_etags(api_app: Flask) -> None:
    document = api_app.test_client().get("/api/v1/openapi.json").json
    assert document is not None
    paths = document["paths"]
    note = paths["/api/v1/submissions/{reference}/notes"]["post"]
    assert "If-Match" in {p["name"] for p in note["parameters"] if p["in"] == "header"}
    assert "ETag" in note["responses"]["200"]["headers"]
    assert "ETag" in paths["/api/v1/submissions/{reference}"]["get"]["responses"]["200"]["headers"]
    for status in ("400", "412", "415", "428"):
        assert set(note["responses"][status]["content"]) == {PROBLEM}
    me = paths["/api/v1/me"]["get"]["responses"]
    assert "400" not in me and "404" not in me  # it validates nothing and names nothing
    assert not any(name.startswith("ValidationError") for name in document["components"]["schemas"])


def test_the_docs_page_lists_every_operation(api_app: Flask) -> None:
    page = api_app.test_client().get("/api/v1/docs")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    for operation in ("GET /api/v1/submissions", "POST /api/v1/submissions/{reference}/status"):
        assert operation in text
    assert "<script" not in text
