"""Tell the newsroom's tools of submission events: webhooks and chat alerts, into the outbox.

Every use case already writes an Event row for what happened (created, routed, status,
reassigned, reader_message, escalated). A session hook turns those rows into outbox rows
in the same flush, so the pages, the API, bulk actions, mail in and the worker's
escalation all announce the same way, and a rolled-back action announces nothing.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa
import sqlalchemy.orm as so

from intake import webhooks
from intake.language import name as language_name
from intake.models import (
    Desk,
    Event,
    Newsroom,
    OutboxHook,
    Reporter,
    Submission,
    Topic,
    WebhookEndpoint,
    utcnow,
)
from intake.notify import KIND_TAGS, carries_text
from intake.routing import without_words

# An event row's kind -> the webhook event it announces.
EVENT_NAMES = {
    "created": "submission.created",
    "routed": "submission.routed",
    "escalated": "submission.routed",  # handed on by the rota: routed again
    "status": "submission.status_changed",
    "reassigned": "submission.reassigned",
    "reader_message": "submission.reader_replied",
}
_PENDING = "intake.announce.pending"


@dataclass(frozen=True)
class Happened:
    """One event to announce: what, about which submission, with what detail."""

    event: str
    kind: str  # the event row's kind: "routed" is an arrival, "escalated" a hand-on
    submission: Submission
    detail: str
    at: datetime


def message_id() -> str:
    """Return a new webhook-id: the same on every try of one delivery."""
    return f"msg_{uuid.uuid4().hex}"


_Row = TypeVar("_Row", Desk, Topic, Reporter)


def _related(
    session: so.Session, item: Submission, relation: str, model: type[_Row]
) -> _Row | None:
    """Return the desk, topic or reporter the submission points to once this flush is done.

    Before a flush, a relationship set as an object (`item.desk = desk`, as assign does) is
    not yet copied to its column, and a column set directly (as escalation does) has not
    reached the relationship: whichever of the two changed says where it now goes.
    """
    if sa.inspect(item).attrs[relation].history.has_changes():
        found = getattr(item, relation)
        return found if isinstance(found, model) else None
    row_id = getattr(item, f"{relation}_id")
    return session.get(model, row_id) if row_id is not None else None


def _slug(session: so.Session, item: Submission, relation: str, model: type[_Row]) -> str | None:
    row = _related(session, item, relation, model)
    return row.slug if row is not None else None


def _data(
    session: so.Session, happened: Happened, newsroom: Newsroom | None, with_text: bool
) -> dict[str, Any]:
    """Describe the submission for a payload; the reader's words only when `with_text`."""
    item = happened.submission
    url = f"{newsroom.public_url}/staff/s/{item.reference}" if newsroom else None
    data: dict[str, Any] = {
        "reference": item.reference,
        "kind": item.kind,
        "status": item.status,
        "desk": _slug(session, item, "desk", Desk),
        "topic": _slug(session, item, "topic", Topic),
        "assignee": _slug(session, item, "assignee", Reporter),
        "language": item.language,
        "needs_translation": item.needs_translation,
        "sensitive": item.sensitive,
        "has_text": with_text,
        "created_at": item.created_at.isoformat() if item.created_at else None,
        "url": url,
    }
    if happened.event == "submission.status_changed":
        # The event's detail is "before -> after", statuses only.
        data["previous_status"] = happened.detail.partition(" -> ")[0] or None
    elif happened.event == "submission.routed":
        data["reason"] = happened.detail if with_text else without_words(happened.detail)
    elif happened.event == "submission.reassigned":
        data["detail"] = happened.detail
    if with_text:
        data["subject"], data["body"], data["article"] = item.subject, item.body, item.article
        if item.consent_contact:
            data["name"], data["email"] = item.name, item.email
        if happened.event == "submission.reader_replied":
            data["message"] = happened.detail
    return data


def chat_text(submission: Submission, desk: Desk, newsroom: Newsroom | None) -> str:
    """Say in one line that an item arrived, for a desk's chat: never a word of its text."""
    parts = [f"New {KIND_TAGS[submission.kind].lower()} {submission.reference} for {desk.name}"]
    if submission.language and submission.language != "und":
        language = language_name(submission.language)
        parts.append(f"{language}, needs translation" if submission.needs_translation else language)
    if submission.sensitive:
        parts.append("sensitive")
    where = f"{newsroom.public_url}/staff/s/{submission.reference}" if newsroom else ""
    parts.append(f"open in intake: {where}" if where else "open in intake")
    return " — ".join(parts)


def queue(session: so.Session, happened: list[Happened]) -> None:
    """Add an outbox row for every endpoint that wants each event, and the desks' chat alerts."""
    live = WebhookEndpoint.removed_at.is_(None)
    endpoints = list(session.scalars(sa.select(WebhookEndpoint).where(live)))
    newsroom = session.get(Newsroom, 1)
    for one in happened:
        item = one.submission
        desk = _related(session, item, "desk", Desk)
        allowed = desk is not None and carries_text(item, desk.email_content)
        bodies: dict[bool, dict[str, Any]] = {}  # one payload with text, one without
        for endpoint in endpoints:
            if one.event not in endpoint.events:
                continue
            with_text = endpoint.with_text and allowed
            if with_text not in bodies:
                bodies[with_text] = {
                    "type": one.event,
                    "timestamp": one.at.isoformat(),
                    "data": _data(session, one, newsroom, with_text),
                }
            body = bodies[with_text]
            session.add(
                OutboxHook(
                    kind="webhook",
                    endpoint_id=endpoint.id,
                    submission=item,
                    url=endpoint.url,
                    event=one.event,
                    message_id=message_id(),
                    payload=json.dumps(body, ensure_ascii=False, sort_keys=True),
                    carries_text=with_text,
                    next_attempt_at=one.at,
                    created_at=one.at,
                )
            )
        if one.kind == "routed" and desk is not None and desk.chat_webhook:
            # A desk's chat hears of arrivals only: one line, never a word of the text.
            session.add(
                OutboxHook(
                    kind="chat",
                    desk_id=desk.id,
                    submission=item,
                    url=desk.chat_webhook,
                    event=one.event,
                    message_id=message_id(),
                    payload=webhooks.chat_body(chat_text(item, desk, newsroom)).decode("utf-8"),
                    next_attempt_at=one.at,
                    created_at=one.at,
                )
            )


def _collect(session: so.Session, _context: Any, _instances: Any) -> None:
    """Before a flush: note the new events worth announcing (ids come with the flush)."""
    found: list[Happened] = []
    for obj in session.new:
        if not isinstance(obj, Event) or obj.kind not in EVENT_NAMES:
            continue
        item = obj.submission
        if item is None and obj.submission_id is not None:
            item = session.get(Submission, obj.submission_id)
        if item is None:
            continue
        if obj.kind == "escalated" and not sa.inspect(item).attrs.assignee_id.history.has_changes():
            continue  # only a hand-on to a colleague is a routing; "nobody left" moves nothing
        at = obj.created_at or utcnow()
        found.append(Happened(EVENT_NAMES[obj.kind], obj.kind, item, obj.detail or "", at))
    if found:
        queue(session, found)


def install(target: Any) -> None:
    """Announce events written through sessions of this target (a session or its factory)."""
    if not sa.event.contains(target, "before_flush", _collect):
        sa.event.listen(target, "before_flush", _collect)
