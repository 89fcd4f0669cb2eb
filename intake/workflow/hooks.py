"""Webhook endpoints, kept by admins: register (the secret shown once), list, remove."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa

from intake import webhooks
from intake.delivery import due_again
from intake.models import (
    ERASED,
    HOOK_EVENTS,
    AuditEvent,
    DbSession,
    OutboxHook,
    StaffUser,
    WebhookEndpoint,
    utcnow,
)
from intake.workflow.triage import NotAllowed

RESOLVE_SECONDS = 5.0


class EndpointError(Exception):
    """An endpoint cannot be registered or removed as asked; the message says why."""


def check_address(url: str, allow_private: bool) -> None:
    """Refuse a URL of the wrong form or one that leads to a private or loopback address."""
    problem = webhooks.check_url(url)
    if problem:
        raise EndpointError(f"{url!r}: {problem}")
    try:
        webhooks.resolve(url, allow_private=allow_private, timeout=RESOLVE_SECONDS)
    except webhooks.Refused as exc:
        raise EndpointError(f"{url!r}: {exc}") from None
    except OSError as exc:  # the name does not resolve (now): nothing to check it against
        raise EndpointError(f"{url!r}: cannot resolve its host ({type(exc).__name__})") from None


def add_endpoint(
    session: DbSession,
    url: str,
    events: Sequence[str],
    *,
    with_text: bool,
    actor: str,
    allow_private: bool,
) -> tuple[WebhookEndpoint, str]:
    """Register an endpoint for some events and commit; return it with its new secret."""
    unknown = [e for e in events if e not in HOOK_EVENTS]
    if unknown or not events:
        raise EndpointError(
            f"unknown event(s) {', '.join(unknown)}; choose from {', '.join(HOOK_EVENTS)}"
            if unknown
            else f"choose at least one event: {', '.join(HOOK_EVENTS)}"
        )
    check_address(url, allow_private)
    secret = webhooks.new_secret()
    endpoint = WebhookEndpoint(
        url=url,
        secret=secret,
        events=list(dict.fromkeys(events)),
        with_text=with_text,
        created_by=actor,
    )
    session.add(endpoint)
    session.flush()
    session.add(
        AuditEvent(
            actor=actor,
            action="webhook.added",
            target=f"webhook {endpoint.id}",
            # Kept for good: not the path or query, which may hold the receiver's secret.
            detail=f"{webhooks.shown_url(url)} for {', '.join(endpoint.events)}"
            + (" with text" if with_text else ""),
        )
    )
    session.commit()
    return endpoint, secret


def endpoints(session: DbSession) -> list[WebhookEndpoint]:
    """Return the registered endpoints, oldest first."""
    live = WebhookEndpoint.removed_at.is_(None)
    return list(
        session.scalars(sa.select(WebhookEndpoint).where(live).order_by(WebhookEndpoint.id))
    )


def remove_endpoint(
    session: DbSession, endpoint_id: int, actor: str, now: datetime | None = None
) -> int:
    """Remove an endpoint and cancel what still waits for it; commit; return how many."""
    now = now or utcnow()
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or endpoint.removed_at is not None:
        raise EndpointError(f"there is no webhook {endpoint_id}")
    endpoint.removed_at = now
    # What a worker holds right now it cancels itself when it reaches it (or records, if its
    # POST is already under way): the row then says what really happened.
    unclaimed = sa.or_(OutboxHook.lease_until.is_(None), OutboxHook.lease_until < now)
    cancelled = session.execute(
        sa.update(OutboxHook)
        .where(OutboxHook.endpoint_id == endpoint.id, OutboxHook.state == "pending", unclaimed)
        .values(state="cancelled", cancelled_at=now, last_error="the endpoint was removed")
        .execution_options(synchronize_session=False)
    )
    session.add(
        AuditEvent(
            actor=actor,
            action="webhook.removed",
            target=f"webhook {endpoint.id}",
            detail=webhooks.shown_url(endpoint.url),
        )
    )
    session.commit()
    return int(getattr(cancelled, "rowcount", 0) or 0)


def send_again(
    session: DbSession, hook_id: int, actor: StaffUser, now: datetime | None = None
) -> None:
    """Make a failed webhook or chat alert due now, with a fresh round of tries; commit."""
    now = now or utcnow()
    hook = session.get(OutboxHook, hook_id)
    if hook is None:
        raise NotAllowed("There is no such webhook or chat alert.")
    if hook.payload == ERASED:
        raise NotAllowed("It was erased with its submission; it cannot be sent again.")
    if hook.kind == "webhook" and (hook.endpoint is None or hook.endpoint.removed_at):
        raise NotAllowed("Its endpoint was removed; it cannot be sent again.")
    changed = session.execute(
        sa.update(OutboxHook)
        .where(OutboxHook.id == hook.id, OutboxHook.state == "failed")
        .values(**due_again(now))
        .execution_options(synchronize_session=False)
    )
    if not getattr(changed, "rowcount", 0):
        session.rollback()
        raise NotAllowed("Only a failed one can be sent again; this one is not failed (any more).")
    session.add(
        AuditEvent(
            actor=actor.email,
            action="webhook.resent",
            target=f"{hook.kind} {hook.id}",
            detail=f"{hook.event} to {webhooks.shown_url(hook.url)}",
        )
    )
    session.commit()
