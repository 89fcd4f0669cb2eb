"""Deliver the outbox's webhooks and chat alerts: claim, POST, record, retry over a day."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

import sqlalchemy as sa

from intake import webhooks
from intake.delivery import claim_rows
from intake.models import ERASED, DbSession, Desk, OutboxHook, utcnow
from intake.text import clean_line

log = logging.getLogger(__name__)

# Waits after each failed try: the first retry within a minute, the last about a day after
# the first try (23 h 42 min in all), as Standard Webhooks senders do.
SCHEDULE = (
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(minutes=30),
    timedelta(hours=1),
    timedelta(hours=2),
    timedelta(hours=4),
    timedelta(hours=8),
    timedelta(hours=8),
)
MAX_ATTEMPTS = len(SCHEDULE) + 1
LEASE = timedelta(minutes=2)
# A pass starts no new POST after this long, so that email is never held up for long by a
# slow endpoint; what is left stays due for the next pass.
PASS_SECONDS = 15.0


@dataclass
class HookReport:
    """What one pass did."""

    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0


def claim(
    session: DbSession, worker: str, batch: int, now: datetime, lease: timedelta = LEASE
) -> list[OutboxHook]:
    """Lease up to `batch` due webhooks and chat alerts to this worker; commit the lease."""
    return claim_rows(session, OutboxHook, worker, batch, now, lease)


class Lease(NamedTuple):
    """A row this pass claimed, by id and the claim's token."""

    id: int
    token: str


def _held(row_id: int, token: str) -> sa.ColumnElement[bool]:
    """Match a row only while it still waits under this claim (removal and purge take it)."""
    return sa.and_(
        OutboxHook.id == row_id, OutboxHook.claimed_by == token, OutboxHook.state == "pending"
    )


@dataclass(frozen=True)
class Claimed:
    """What a try needs of a claimed row, read just before it: no transaction stays open
    while POSTing."""

    id: int
    kind: str
    event: str
    url: str
    payload: bytes
    message_id: str
    secret: str | None  # the endpoint's; None for a chat alert or a removed endpoint
    attempts: int
    token: str
    # Why it must not go at all: its endpoint was removed, or its desk's chat webhook is
    # no longer the address it was written for ("" when it may go).
    stale: str = ""

    @classmethod
    def of(cls, session: DbSession, row: OutboxHook) -> Claimed:
        """Copy what is needed out of a row."""
        endpoint = row.endpoint
        live = endpoint is not None and endpoint.removed_at is None
        stale = ""
        if row.payload == ERASED:
            stale = "the submission was erased"
        elif row.kind == "webhook" and not live:
            stale = "the endpoint was removed"
        elif row.kind == "chat":
            desk = session.get(Desk, row.desk_id) if row.desk_id is not None else None
            if desk is None or not desk.active or desk.chat_webhook != row.url:
                stale = "the desk's chat webhook changed"
        return cls(
            id=row.id,
            kind=row.kind,
            event=row.event,
            url=row.url,
            payload=row.payload.encode("utf-8"),
            message_id=row.message_id,
            secret=endpoint.secret if live and endpoint is not None else None,
            attempts=row.attempts,
            token=row.claimed_by,
            stale=stale,
        )


def _send(item: Claimed, now: datetime, allow_private: bool, timeout: float) -> webhooks.Outcome:
    """POST one item: a webhook signed with its endpoint's secret, a chat alert as it is."""
    if item.kind == "chat":
        headers = {"content-type": "application/json"}
    elif item.secret is None:
        raise ValueError("a webhook without its endpoint's secret")  # stale: never sent
    else:
        headers = webhooks.sign(item.secret, item.message_id, now, item.payload)
    return webhooks.post(
        item.url, item.payload, headers, allow_private=allow_private, timeout=timeout
    )


def _record(session: DbSession, item: Claimed, outcome: webhooks.Outcome, now: datetime) -> str:
    """Write one try's outcome, only if this worker still holds the row; say its fate."""
    values: dict[str, object] = {
        "attempts": OutboxHook.attempts + 1,
        "last_status": outcome.status,
        "claimed_by": "",
        "lease_until": None,
    }
    if outcome.ok:
        fate = "sent"
        values.update(state="sent", sent_at=now, last_error="")
    else:
        values["last_error"] = clean_line(outcome.error)[:500]
        if outcome.retry and item.attempts + 1 < MAX_ATTEMPTS:
            fate = "retry"
            values["next_attempt_at"] = now + SCHEDULE[item.attempts]
        else:
            fate = "failed"
            values.update(state="failed", failed_at=now)
    session.execute(
        sa.update(OutboxHook)
        .where(_held(item.id, item.token))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return fate


def deliver_hooks(
    session: DbSession,
    worker: str,
    *,
    allow_private: bool,
    timeout: float,
    batch: int = 20,
    now: datetime | None = None,
    lease: timedelta = LEASE,
) -> HookReport:
    """Claim due webhooks and chat alerts, POST each, and record every outcome."""
    started = time.monotonic()
    held = [
        Lease(row.id, row.claimed_by)
        for row in claim(session, worker, batch, now or utcnow(), lease)
    ]
    session.rollback()  # the claim is committed; hold no transaction while POSTing
    report = HookReport(claimed=len(held))
    for index, one in enumerate(held):
        if index and time.monotonic() - started > PASS_SECONDS:
            _release(session, held[index:])
            break
        # Read just before posting: since the claim, the endpoint may have been removed,
        # the submission purged or the desk's chat moved (each takes the row back).
        item = _still_ours(session, one)
        if item is None:
            continue
        if item.stale:
            _cancel(session, item, now or utcnow())
            continue
        outcome = _send(item, now or utcnow(), allow_private, timeout)
        fate = _record(session, item, outcome, now or utcnow())
        if fate == "sent":
            report.sent += 1
            continue
        log.warning("%s %s (#%d): %s (%s)", item.kind, item.event, item.id, outcome.error, fate)
        if fate == "failed":
            report.failed += 1
        else:
            report.retried += 1
    return report


def _still_ours(session: DbSession, lease: Lease) -> Claimed | None:
    """Return the row as it is now if it still waits under this claim, else None."""
    row = session.scalar(sa.select(OutboxHook).where(_held(lease.id, lease.token)))
    fresh = Claimed.of(session, row) if row is not None else None
    session.rollback()  # hold no transaction while posting
    return fresh


def _cancel(session: DbSession, item: Claimed, now: datetime) -> None:
    """Drop a row that must not go (its address is no longer wanted), saying why."""
    session.execute(
        sa.update(OutboxHook)
        .where(_held(item.id, item.token))
        .values(
            state="cancelled",
            cancelled_at=now,
            last_error=item.stale,
            claimed_by="",
            lease_until=None,
        )
        .execution_options(synchronize_session=False)
    )
    session.commit()


def _release(session: DbSession, leases: list[Lease]) -> None:
    """Give back rows this pass did not get to: due again at once, for any worker."""
    session.execute(
        sa.update(OutboxHook)
        .where(
            OutboxHook.id.in_([lease.id for lease in leases]),
            OutboxHook.claimed_by.in_({lease.token for lease in leases}),
        )
        .values(claimed_by="", lease_until=None)
        .execution_options(synchronize_session=False)
    )
    session.commit()
