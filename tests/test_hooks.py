"""Webhooks and desk chat alerts: what each event queues, what a receiver gets, and retries.

Every delivery goes to a real HTTP receiver on 127.0.0.1 started here, and every payload is
checked with `standardwebhooks`, the library receivers verify with.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskCliRunner
from standardwebhooks.webhooks import Webhook

from intake import webhooks, workflow
from intake.directory import DirectoryError, parse_newsroom, read_newsroom, sync_newsroom
from intake.extensions import db
from intake.hookdelivery import HookReport, deliver_hooks
from intake.models import (
    HOOK_EVENTS,
    DbSession,
    Desk,
    Event,
    OutboxEmail,
    OutboxHook,
    StaffUser,
    Submission,
    utcnow,
)
from intake.workflow import hooks
from intake.workflow.conversation import reader_wrote
from tests.conftest import (
    BIN_DIR,
    EXAMPLE_NEWSROOM,
    ROOT,
    SMTPSink,
    add_staff,
    make_app,
    make_submission,
)

TIMEOUT = 5.0  # seconds any one POST may take in these tests
CREATED, ROUTED = "submission.created", "submission.routed"
STATUS, REASSIGNED, REPLIED = (
    "submission.status_changed",
    "submission.reassigned",
    "submission.reader_replied",
)

# --- The receiver -------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """One POST as the receiver got it."""

    path: str
    headers: dict[str, str]  # lower-cased names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    """An HTTP receiver on 127.0.0.1 that records each request and answers as queued."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self._answers: deque[int] = deque()
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def answer(self, *statuses: int) -> None:
        """Answer the next requests with these statuses, in order; then 200 again."""
        with self._lock:
            self._answers.extend(statuses)

    def record(self, request: Request) -> int:
        """Keep a request; return the status to answer it with."""
        with self._lock:
            self.requests.append(request)
            return self._answers.popleft() if self._answers else 200

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's method name
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            headers = {name.lower(): value for name, value in self.headers.items()}
            status = receiver.record(Request(self.path, headers, body))
            answer = b"ok" if status < 300 else b"not now"
            self.send_response(status)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            """Keep the test output quiet."""

    return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A running receiver for one test."""
    one = Receiver()
    one.start()
    yield one
    one.stop()


# --- Helpers ------------------------------------------------------------------------------


def register(app: Flask, url: str, events: list[str], with_text: bool = False) -> tuple[int, str]:
    """Register an endpoint as an admin would; return its id and secret."""
    with app.app_context():
        endpoint, secret = hooks.add_endpoint(
            db.session, url, events, with_text=with_text, actor="admin", allow_private=True
        )
        return endpoint.id, secret


def deliver(app: Flask, later: timedelta = timedelta(0), allow_private: bool = True) -> HookReport:
    """Run one delivery pass, `later` from now."""
    with app.app_context():
        report = deliver_hooks(
            db.session,
            "test",
            allow_private=allow_private,
            timeout=TIMEOUT,
            now=utcnow() + later,
        )
        db.session.remove()
        return report


def outbox(app: Flask) -> list[OutboxHook]:
    """Return every webhook and chat alert queued, oldest first."""
    with app.app_context():
        rows = list(db.session.scalars(sa.select(OutboxHook).order_by(OutboxHook.id)))
        db.session.expunge_all()
        return rows


def events_queued(app: Flask) -> list[str]:
    return [row.event for row in outbox(app)]


def verified(request: Request, secret: str) -> dict[str, Any]:
    """Verify a request as a receiver would; return its payload."""
    payload = Webhook(secret).verify(request.body, request.headers)
    assert isinstance(payload, dict)
    return payload


def words(*texts: str) -> set[str]:
    """Return the words of some texts worth looking for: four letters or more."""
    return {w.casefold() for text in texts for w in re.findall(r"\w{4,}", text)}


def text_of(request: Request) -> str:
    """Return everything a request's body says, readable (JSON escapes undone)."""
    return json.dumps(request.json(), ensure_ascii=False).casefold()


def set_chat(app: Flask, desk: str, url: str) -> None:
    with app.app_context():
        db.session.execute(sa.update(Desk).where(Desk.slug == desk).values(chat_webhook=url))
        db.session.commit()


Action = Callable[[DbSession, Submission, StaffUser], None]


def act(app: Flask, reference: str, action: Action) -> None:
    """Run a staff action on a submission as the editor."""
    with app.app_context():
        item = db.session.scalars(
            sa.select(Submission).where(Submission.reference == reference)
        ).one()
        actor = db.session.scalars(sa.select(StaffUser).where(StaffUser.role == "editor")).one()
        action(db.session, item, actor)
        db.session.remove()


def start_work(session: DbSession, item: Submission, actor: StaffUser) -> None:
    workflow.change_status(session, item, actor, "in_progress", item.version)


def give_to_sam(session: DbSession, item: Submission, actor: StaffUser) -> None:
    workflow.assign(session, item, actor, workflow.Target("reporter", "sam"), item.version)


def reader_writes(session: DbSession, item: Submission, actor: StaffUser) -> None:
    reader_wrote(session, item, "Ось ще одне фото з місця подій.", [], "followup", utcnow())
    session.commit()


TIP = "У Харкові знову вимкнули світло після обстрілу, люди стоять у чергах."
CHAT_TIP = "Біля заводу Азовмаш вночі розвантажували ешелон з бронетехнікою."
ENERGY_TIP = "The LNG terminal's pipeline was shut without notice, traders say."


# --- The command line ---------------------------------------------------------------------


def test_webhook_add_prints_the_secret_alone_on_its_last_line(
    runner: FlaskCliRunner, receiver: Receiver
) -> None:
    args = ["intake", "webhook", "add", receiver.url(), "--event", CREATED, "--event", ROUTED]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    secret = result.output.splitlines()[-1]
    assert re.fullmatch(r"whsec_[A-Za-z0-9+/]+=*", secret)
    Webhook(secret)  # a secret the receivers' library accepts


def test_webhook_list_shows_url_and_events_but_never_the_secret(
    runner: FlaskCliRunner, receiver: Receiver
) -> None:
    added = runner.invoke(
        args=["intake", "webhook", "add", receiver.url(), "--event", CREATED, "--event", STATUS]
    )
    secret = added.output.splitlines()[-1]
    result = runner.invoke(args=["intake", "webhook", "list"])
    assert result.exit_code == 0, result.output
    assert receiver.url() in result.output
    assert f"{CREATED},{STATUS}" in result.output
    assert secret not in result.output
    assert secret.removeprefix("whsec_") not in result.output


def test_webhook_remove_removes_it_and_cancels_its_waiting_deliveries(
    app: Flask, runner: FlaskCliRunner, receiver: Receiver
) -> None:
    endpoint_id, _secret = register(app, receiver.url(), [CREATED, ROUTED])
    make_submission(app)
    assert [row.state for row in outbox(app)] == ["pending", "pending"]
    result = runner.invoke(args=["intake", "webhook", "remove", str(endpoint_id)])
    assert result.exit_code == 0, result.output
    assert "2 waiting" in result.output
    assert [row.state for row in outbox(app)] == ["cancelled", "cancelled"]
    assert "No webhooks." in runner.invoke(args=["intake", "webhook", "list"]).output
    again = runner.invoke(args=["intake", "webhook", "remove", str(endpoint_id)])
    assert again.exit_code != 0
    assert f"there is no webhook {endpoint_id}" in again.output


@pytest.mark.parametrize(
    ("allow_private", "url", "event", "says"),
    [
        (True, "http://127.0.0.1:9/hook", "submission.deleted", "submission.deleted"),
        (True, "ftp://127.0.0.1/hook", CREATED, "must start with https://"),
        (False, "http://127.0.0.1:9/hook", CREATED, "loopback"),
    ],
    ids=["unknown event", "ftp URL", "private address"],
)
def test_webhook_add_refuses_what_it_cannot_send_to(
    tmp_path: Path, allow_private: bool, url: str, event: str, says: str
) -> None:
    app = make_app(tmp_path, INTAKE_WEBHOOK_ALLOW_PRIVATE=allow_private)
    result = app.test_cli_runner().invoke(args=["intake", "webhook", "add", url, "--event", event])
    assert result.exit_code != 0
    assert says in result.output
    assert "whsec_" not in result.output
    with app.app_context():
        assert hooks.endpoints(db.session) == []


# --- What an endpoint receives ------------------------------------------------------------


def test_a_new_tip_reaches_the_endpoint_signed_and_without_the_readers_words(
    app: Flask, receiver: Receiver
) -> None:
    _id, secret = register(app, receiver.url(), [CREATED, ROUTED])
    reader: dict[str, Any] = {
        "topic": "",  # routed by its keywords, which are the reader's words
        "subject": "Відключення світла на Салтівці",
        "body": TIP,
        "name": "Оксана Мельник",
        "email": "oksana.melnyk@example.net",
        "consent_contact": True,
    }
    reference = make_submission(app, **reader)
    report = deliver(app)
    assert (report.claimed, report.sent) == (2, 2)
    assert [r.path for r in receiver.requests] == ["/hook", "/hook"]
    payloads = [verified(request, secret) for request in receiver.requests]
    assert sorted(p["type"] for p in payloads) == [CREATED, ROUTED]
    assert {p["data"]["reference"] for p in payloads} == {reference}
    assert all(p["data"]["has_text"] is False for p in payloads)
    said = " ".join(text_of(request) for request in receiver.requests)
    for word in words(reader["subject"], reader["body"], reader["name"]):
        assert word not in said
    assert "oksana" not in said
    assert "from the words" not in said
    assert [row.state for row in outbox(app)] == ["sent", "sent"]


def test_a_failed_post_is_tried_again_later_with_the_same_webhook_id(
    app: Flask, receiver: Receiver
) -> None:
    _id, secret = register(app, receiver.url(), [CREATED])
    make_submission(app)
    receiver.answer(500)
    first = deliver(app)
    assert (first.sent, first.retried) == (0, 1)
    [row] = outbox(app)
    assert (row.state, row.attempts, row.last_status) == ("pending", 1, 500)
    assert utcnow() < row.next_attempt_at <= utcnow() + timedelta(seconds=60)
    assert deliver(app).claimed == 0  # not due yet
    second = deliver(app, later=timedelta(seconds=61))
    assert second.sent == 1
    [row] = outbox(app)
    assert (row.state, row.attempts, row.last_status) == ("sent", 2, 200)
    assert len(receiver.requests) == 2
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1
    verified(receiver.requests[1], secret)


@pytest.mark.parametrize(
    ("fields", "carries_text"),
    [
        ({}, True),
        ({"sensitive": True}, False),
        ({"topic": "energy-markets", "body": ENERGY_TIP}, False),
    ],
    ids=["full-text desk", "sensitive tip", "link-only desk"],
)
def test_an_endpoint_with_text_gets_the_text_only_where_an_email_could(
    app: Flask, receiver: Receiver, fields: dict[str, Any], carries_text: bool
) -> None:
    _id, secret = register(app, receiver.url(), [CREATED], with_text=True)
    reference = make_submission(app, **fields)
    deliver(app)
    [request] = receiver.requests
    data = verified(request, secret)["data"]
    body = fields.get("body", TIP)
    assert data["reference"] == reference
    assert data["has_text"] is carries_text
    assert data.get("body") == (body if carries_text else None)
    if not carries_text:
        said = text_of(request)
        assert not [word for word in words(body) if word in said]


# --- Which events are announced -----------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "event"),
    [(start_work, STATUS), (give_to_sam, REASSIGNED), (reader_writes, REPLIED)],
    ids=["status", "reassigned", "reader replied"],
)
def test_each_action_is_announced_once(
    app: Flask, receiver: Receiver, password_hash: str, action: Action, event: str
) -> None:
    add_staff(app, password_hash)
    _id, secret = register(app, receiver.url(), list(HOOK_EVENTS))
    reference = make_submission(app)
    deliver(app)
    act(app, reference, action)
    assert events_queued(app) == [CREATED, ROUTED, event]
    deliver(app)
    payload = verified(receiver.requests[-1], secret)
    assert (payload["type"], payload["data"]["reference"]) == (event, reference)


def test_a_status_change_says_what_the_status_was(
    app: Flask, receiver: Receiver, password_hash: str
) -> None:
    add_staff(app, password_hash)
    _id, secret = register(app, receiver.url(), [STATUS])
    reference = make_submission(app)
    act(app, reference, start_work)
    deliver(app)
    data = verified(receiver.requests[0], secret)["data"]
    assert (data["previous_status"], data["status"]) == ("new", "in_progress")


def test_a_reassignment_names_the_new_assignee_and_desk(
    app: Flask, receiver: Receiver, password_hash: str
) -> None:
    add_staff(app, password_hash)
    _id, secret = register(app, receiver.url(), [REASSIGNED])
    reference = make_submission(app)
    act(app, reference, give_to_sam)
    deliver(app)
    data = verified(receiver.requests[0], secret)["data"]
    assert data["detail"] == "to Sam Okafor (World News)"
    assert (data["assignee"], data["desk"]) == ("sam", "world")


def test_a_tip_moved_to_a_link_only_desk_is_announced_without_its_text(
    app: Flask, receiver: Receiver, password_hash: str
) -> None:
    add_staff(app, password_hash)
    _id, secret = register(app, receiver.url(), [REASSIGNED], with_text=True)
    reference = make_submission(app)

    def to_business(session: DbSession, item: Submission, actor: StaffUser) -> None:
        workflow.assign(session, item, actor, workflow.Target("desk", "business"), item.version)

    act(app, reference, to_business)
    deliver(app)
    data = verified(receiver.requests[0], secret)["data"]
    assert "body" not in data  # Business gets links only: its emails carry no text
    assert data["has_text"] is False
    assert (data["desk"], data["assignee"]) == ("business", None)


def test_the_readers_message_goes_only_to_an_endpoint_with_text(
    app: Flask, receiver: Receiver, password_hash: str
) -> None:
    add_staff(app, password_hash)
    _plain, plain_secret = register(app, receiver.url("/plain"), [REPLIED])
    _full, full_secret = register(app, receiver.url("/full"), [REPLIED], with_text=True)
    reference = make_submission(app)
    act(app, reference, reader_writes)
    deliver(app)
    got = {r.path: r for r in receiver.requests}
    assert "message" not in verified(got["/plain"], plain_secret)["data"]
    assert "фото" not in text_of(got["/plain"])
    assert verified(got["/full"], full_secret)["data"]["message"] == (
        "Ось ще одне фото з місця подій."
    )


def _same_status(session: DbSession, item: Submission, actor: StaffUser) -> None:
    workflow.change_status(session, item, actor, "new", item.version)


def _nobody(session: DbSession, item: Submission, actor: StaffUser) -> None:
    workflow.assign(session, item, actor, workflow.Target("reporter", "nobody"), item.version)


@pytest.mark.parametrize(
    "action", [_same_status, _nobody], ids=["status not allowed", "no such reporter"]
)
def test_an_action_that_is_not_allowed_queues_nothing(
    app: Flask, receiver: Receiver, password_hash: str, action: Action
) -> None:
    add_staff(app, password_hash)
    register(app, receiver.url(), list(HOOK_EVENTS))
    reference = make_submission(app)
    with pytest.raises(workflow.NotAllowed):
        act(app, reference, action)
    assert events_queued(app) == [CREATED, ROUTED]


def test_an_action_that_loses_a_race_queues_nothing(
    app: Flask, receiver: Receiver, password_hash: str
) -> None:
    add_staff(app, password_hash)
    register(app, receiver.url(), list(HOOK_EVENTS))
    reference = make_submission(app)

    def meanwhile_changed(session: DbSession, item: Submission, actor: StaffUser) -> None:
        with db.engine.begin() as other:  # another request commits first
            other.execute(
                sa.update(Submission)
                .where(Submission.id == item.id)
                .values(version=Submission.version + 1)
            )
        workflow.change_status(session, item, actor, "in_progress", None)

    with pytest.raises(workflow.Conflict):
        act(app, reference, meanwhile_changed)
    assert events_queued(app) == [CREATED, ROUTED]


def test_several_events_in_one_transaction_are_one_delivery_each(
    app: Flask, receiver: Receiver
) -> None:
    register(app, receiver.url(), list(HOOK_EVENTS))
    reference = make_submission(app)
    with app.app_context():
        item = db.session.scalars(
            sa.select(Submission).where(Submission.reference == reference)
        ).one()
        for kind, detail in [
            ("status", "new -> in_progress"),
            ("note", "internal"),  # not an event anyone is told of
            ("reassigned", "to Sam Okafor (World News)"),
            ("reader_message", "ще одне"),
        ]:
            db.session.add(Event(submission_id=item.id, kind=kind, detail=detail))
        db.session.commit()
    rows = outbox(app)
    assert [row.event for row in rows] == [CREATED, ROUTED, STATUS, REASSIGNED, REPLIED]
    assert len({row.message_id for row in rows}) == len(rows)
    report = deliver(app)
    assert report.sent == 5
    assert len(receiver.requests) == 5


def test_a_rolled_back_transaction_queues_nothing(app: Flask, receiver: Receiver) -> None:
    register(app, receiver.url(), list(HOOK_EVENTS))
    reference = make_submission(app)
    with app.app_context():
        item = db.session.scalars(
            sa.select(Submission).where(Submission.reference == reference)
        ).one()
        db.session.add(Event(submission_id=item.id, kind="status", detail="new -> closed"))
        db.session.add(Event(submission_id=item.id, kind="reassigned", detail="to Business"))
        db.session.flush()  # the hook has run and its rows are written, uncommitted
        db.session.rollback()
    assert events_queued(app) == [CREATED, ROUTED]


def test_each_endpoint_gets_only_the_events_it_chose(app: Flask, receiver: Receiver) -> None:
    register(app, receiver.url("/created"), [CREATED])
    register(app, receiver.url("/both"), [CREATED, ROUTED])
    register(app, receiver.url("/status"), [STATUS])
    make_submission(app)
    deliver(app)
    got = sorted((r.path, r.json()["type"]) for r in receiver.requests)
    assert got == [("/both", CREATED), ("/both", ROUTED), ("/created", CREATED)]


def test_a_removed_endpoints_waiting_delivery_is_never_sent(app: Flask, receiver: Receiver) -> None:
    endpoint_id, _secret = register(app, receiver.url(), [CREATED])
    make_submission(app)
    with app.app_context():
        assert hooks.remove_endpoint(db.session, endpoint_id, "admin") == 1
    assert deliver(app).claimed == 0
    assert deliver(app, later=timedelta(days=2)).claimed == 0
    assert receiver.requests == []
    [row] = outbox(app)
    assert (row.state, row.attempts) == ("cancelled", 0)
    make_submission(app)  # nor does a new event queue anything for it
    assert len(outbox(app)) == 1


@pytest.mark.parametrize("meanwhile", ["endpoint removed", "submission purged"])
def test_what_is_taken_back_during_a_pass_is_not_posted(
    app: Flask, receiver: Receiver, monkeypatch: pytest.MonkeyPatch, meanwhile: str
) -> None:
    first, _ = register(app, receiver.url("/first"), [CREATED], with_text=True)
    second, _ = register(app, receiver.url("/second"), [CREATED], with_text=True)
    reference = make_submission(app)
    post = webhooks.post

    def post_then_take_back(*args: Any, **kwargs: Any) -> webhooks.Outcome:
        outcome = post(*args, **kwargs)
        if meanwhile == "endpoint removed":
            hooks.remove_endpoint(db.session, second, "admin")
        else:
            workflow.purge_reference(db.session, Path(app.config["INTAKE_UPLOADS"]), reference)
        return outcome

    monkeypatch.setattr("intake.hookdelivery.webhooks.post", post_then_take_back)
    deliver(app)  # claims both; the first POST takes the second back
    assert [r.path for r in receiver.requests] == ["/first"]
    states = {row.endpoint_id: row.state for row in outbox(app)}
    assert states[second] == "cancelled"
    assert states[first] == "sent"


# --- Desk chat alerts ---------------------------------------------------------------------


def test_a_desks_chat_webhook_loads_from_the_directory_file(
    app: Flask, tmp_path: Path, receiver: Receiver
) -> None:
    text = EXAMPLE_NEWSROOM.read_text(encoding="utf-8").replace(
        'email = "worldnews@example.org"\n',
        f'email = "worldnews@example.org"\nchat_webhook = "{receiver.url()}"\n',
    )
    path = tmp_path / "newsroom.toml"
    path.write_text(text, encoding="utf-8")
    with app.app_context():
        sync_newsroom(db.session, read_newsroom(path))
        db.session.commit()
        chats = {desk.slug: desk.chat_webhook for desk in db.session.scalars(sa.select(Desk))}
    assert chats == {"world": receiver.url(), "politics": "", "business": ""}


def test_a_new_tip_is_told_to_its_desks_chat_in_one_line_without_its_text(
    app: Flask, receiver: Receiver, password_hash: str
) -> None:
    add_staff(app, password_hash)
    set_chat(app, "world", receiver.url("/chat"))
    reference = make_submission(app, body=CHAT_TIP, subject="Ешелон на заводі")
    assert deliver(app).sent == 1
    [request] = receiver.requests
    assert request.path == "/chat"
    assert request.headers["content-type"] == "application/json"
    message = request.json()
    assert list(message) == ["text"]
    assert reference in message["text"]
    assert "World News" in message["text"]
    assert "\n" not in message["text"]
    assert not words(CHAT_TIP, "Ешелон на заводі") & words(message["text"])
    act(app, reference, start_work)
    deliver(app)
    assert len(receiver.requests) == 1  # a status change is no arrival


@pytest.mark.parametrize("now", ["/elsewhere", ""])
def test_a_chat_alert_waiting_when_the_desks_webhook_changes_is_not_sent(
    app: Flask, receiver: Receiver, now: str
) -> None:
    set_chat(app, "world", receiver.url("/old-channel"))
    receiver.answer(500)
    make_submission(app, body=CHAT_TIP)
    deliver(app)  # fails once: waits to be tried again
    set_chat(app, "world", receiver.url(now) if now else "")
    deliver(app, later=timedelta(minutes=1))
    assert [r.path for r in receiver.requests] == ["/old-channel"]
    [row] = outbox(app)
    assert row.state == "cancelled" and "chat webhook changed" in row.last_error


def test_only_the_desk_that_gets_the_tip_hears_of_it(app: Flask, receiver: Receiver) -> None:
    set_chat(app, "world", receiver.url("/world"))
    set_chat(app, "business", receiver.url("/business"))
    make_submission(app, topic="energy-markets", body=ENERGY_TIP)
    deliver(app)
    assert [r.path for r in receiver.requests] == ["/business"]
    assert "Business" in receiver.requests[0].json()["text"]


@pytest.mark.parametrize(
    "url",
    ["ftp://x", "chat.example.org/hook", "https://user:pass@chat.example.org/hook"],
)
def test_a_chat_webhook_of_the_wrong_form_refuses_the_directory_file(url: str) -> None:
    text = EXAMPLE_NEWSROOM.read_text(encoding="utf-8").replace(
        'email = "worldnews@example.org"\n',
        f'email = "worldnews@example.org"\nchat_webhook = "{url}"\n',
    )
    with pytest.raises(DirectoryError) as refused:
        parse_newsroom(text)
    assert any("'world'" in p and "chat_webhook" in p for p in refused.value.problems)


def test_a_chat_webhook_on_a_private_address_fails_at_once_and_reaches_nothing(
    tmp_path: Path, receiver: Receiver
) -> None:
    app = make_app(tmp_path, INTAKE_WEBHOOK_ALLOW_PRIVATE=False)
    set_chat(app, "world", receiver.url("/chat"))
    make_submission(app)
    report = deliver(app, allow_private=False)
    assert (report.sent, report.retried, report.failed) == (0, 0, 1)
    [row] = outbox(app)
    assert (row.kind, row.state, row.attempts) == ("chat", "failed", 1)
    assert "loopback" in row.last_error
    assert deliver(app, later=timedelta(days=2), allow_private=False).claimed == 0
    assert receiver.requests == []


# --- The worker ---------------------------------------------------------------------------


def test_the_worker_delivers_email_and_webhooks_in_one_run(
    mail_app: Flask, smtp: SMTPSink, receiver: Receiver
) -> None:
    _id, secret = register(mail_app, receiver.url(), [CREATED])
    reference = make_submission(mail_app)
    result = mail_app.test_cli_runner().invoke(args=["intake", "worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "webhooks and chat: sent 1" in result.output
    assert smtp.received
    [request] = receiver.requests
    assert verified(request, secret)["data"]["reference"] == reference
    with mail_app.app_context():
        states = set(db.session.scalars(sa.select(OutboxEmail.state)))
    assert states == {"sent"}
    assert [row.state for row in outbox(mail_app)] == ["sent"]


class SlowReceiver(Receiver):
    """A receiver that takes its time over each answer (an endpoint under load)."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds

    def record(self, request: Request) -> int:
        status = super().record(request)
        time.sleep(self.seconds)
        return status


def test_the_worker_process_sends_email_while_a_slow_endpoint_keeps_it_waiting(
    app: Flask, smtp: SMTPSink, tmp_path: Path
) -> None:
    slow = SlowReceiver(8.0)
    slow.start()
    register(app, slow.url(), [CREATED])
    env = {
        **os.environ,
        "INTAKE_ENV": "development",
        "SECRET_KEY": str(app.secret_key),
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "INTAKE_INSTANCE": str(tmp_path / "worker-instance"),
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(smtp.port),
        "INTAKE_WORKER_ROTA": "false",
        "INTAKE_WEBHOOK_ALLOW_PRIVATE": "true",
    }
    worker = subprocess.Popen(  # noqa: S603 - our own venv's flask
        [str(BIN_DIR / "flask"), "--app", "wsgi", "intake", "worker", "--no-grouping"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        make_submission(app)  # a notice to send, and a webhook the endpoint sits on
        deadline = time.monotonic() + 30
        while not slow.requests and time.monotonic() < deadline:
            time.sleep(0.05)
        assert slow.requests, "the worker never posted the webhook"
        posted_at = time.monotonic()
        make_submission(app)  # queued while the first POST is still waiting on its answer
        while len(smtp.received) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(smtp.received) == 2
        # The second notice went out while the endpoint still sat on the first POST (8 s).
        assert time.monotonic() - posted_at < 6.0
    finally:
        worker.terminate()
        assert worker.wait(timeout=20) == 0
        slow.stop()
