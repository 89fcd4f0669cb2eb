"""Read the outbox's state: figures for health checks, metrics and the banner; the page's lists.

Views and probes ask here, so the page, /healthz, /metrics and the banner agree on what
"due", "retrying" and "failed" mean:

- due: waiting for its first try; retrying: tried, waiting for its next try;
- failed: given up (stays until sent again or cancelled); sent: delivered (the page shows
  the last 24 hours);
- waiting for a worker now (the health check's `due`): pending with its time come.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

import sqlalchemy as sa
import sqlalchemy.orm as so

from intake.models import (
    OUTBOX_STATES,
    READER_PURPOSES,
    STATUSES,
    DbSession,
    OutboxEmail,
    OutboxHook,
    Submission,
)

PAGE_STATES = ("due", "retrying", "failed", "sent")
RECENT = timedelta(hours=24)
PAGE_SIZE = 200


@dataclass(frozen=True)
class Figures:
    """The outbox at a glance: what waits for a worker now, and what failed lately."""

    due: int
    oldest_due_seconds: int
    failed_24h: int
    retrying: int

    def troubled(self, alert_seconds: int) -> bool:
        """Say whether staff should be told: a recent failure, or mail waiting too long."""
        return self.failed_24h > 0 or self.oldest_due_seconds > alert_seconds


def figures(session: DbSession, now: datetime) -> Figures:
    """Count what waits now, how long the oldest has waited, and the last day's failures."""
    pending = OutboxEmail.state == "pending"
    waiting = session.execute(
        sa.select(sa.func.count(), sa.func.min(OutboxEmail.next_attempt_at)).where(
            pending, OutboxEmail.next_attempt_at <= now
        )
    ).one()
    retrying = session.scalar(
        sa.select(sa.func.count()).where(
            pending, OutboxEmail.attempts > 0, OutboxEmail.next_attempt_at > now
        )
    )
    failed = session.scalar(
        sa.select(sa.func.count()).where(
            OutboxEmail.state == "failed", OutboxEmail.failed_at > now - RECENT
        )
    )
    oldest = waiting[1]  # min() keeps the column's type: an aware time, or None
    oldest_seconds = int((now - oldest).total_seconds()) if oldest is not None else 0
    return Figures(
        due=int(waiting[0] or 0),
        oldest_due_seconds=max(oldest_seconds, 0),
        failed_24h=int(failed or 0),
        retrying=int(retrying or 0),
    )


def _count_by(
    session: DbSession, column: so.InstrumentedAttribute[str], every: tuple[str, ...]
) -> dict[str, int]:
    """Count rows by a column's value, every known value listed (zero when absent)."""
    counts = dict.fromkeys(every, 0)
    rows = session.execute(sa.select(column, sa.func.count()).group_by(column)).all()
    counts.update({value: int(n) for value, n in rows})
    return counts


def emails_by_state(session: DbSession) -> dict[str, int]:
    """Count every email by its stored state (for /metrics)."""
    return _count_by(session, OutboxEmail.state, OUTBOX_STATES)


def submissions_by_status(session: DbSession) -> dict[str, int]:
    """Count every submission by status (for /metrics)."""
    return _count_by(session, Submission.status, STATUSES)


_Row = TypeVar("_Row", OutboxEmail, OutboxHook)


def _where(
    state: str, now: datetime, model: type[OutboxEmail] | type[OutboxHook] = OutboxEmail
) -> sa.ColumnElement[bool]:
    if state == "due":
        return sa.and_(model.state == "pending", model.attempts == 0)
    if state == "retrying":
        return sa.and_(model.state == "pending", model.attempts > 0)
    if state == "failed":
        return model.state == "failed"
    return sa.and_(model.state == "sent", model.sent_at > now - RECENT)


def _order(state: str, model: type[OutboxEmail] | type[OutboxHook]) -> tuple[Any, Any]:
    if state in ("due", "retrying"):
        return model.next_attempt_at, model.id
    if state == "failed":
        return model.failed_at.desc(), model.id.desc()
    return model.sent_at.desc(), model.id.desc()


def state_counts(
    session: DbSession, now: datetime, model: type[OutboxEmail] | type[OutboxHook] = OutboxEmail
) -> dict[str, int]:
    """Count the emails (or webhooks and chat alerts) in each of the page's states."""
    return {
        state: int(session.scalar(sa.select(sa.func.count()).where(_where(state, now, model))) or 0)
        for state in PAGE_STATES
    }


def listing(session: DbSession, state: str, now: datetime, model: type[_Row]) -> list[_Row]:
    """Return the rows in one of the page's states, oldest due or newest finished first."""
    return list(
        session.scalars(
            sa.select(model)
            .where(_where(state, now, model))
            .options(so.joinedload(model.submission))
            .order_by(*_order(state, model))
            .limit(PAGE_SIZE)
        )
    )


def shown_recipient(email: OutboxEmail) -> str:
    """Say to whom an email goes, hiding the address of a reader who did not consent."""
    submission = email.submission
    if email.purpose in READER_PURPOSES and not (submission and submission.consent_contact):
        return "the reader (address not shown: no consent to be contacted)"
    return email.recipient
