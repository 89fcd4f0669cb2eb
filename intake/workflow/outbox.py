"""Staff actions on the outbox: send a failed email again, or cancel one still waiting.

Each is one conditional UPDATE and an event on the email's submission, in one
transaction; the condition makes it safe against a worker acting on the same email.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from intake.delivery import FORGET_RECIPIENT, due_again
from intake.models import (
    ACCOUNT_PURPOSES,
    ERASED,
    DbSession,
    Event,
    OutboxEmail,
    StaffUser,
    to_whom,
    utcnow,
)
from intake.workflow.triage import NotAllowed


def _code(error: str) -> str:
    code = error.split(" ", 1)[0]
    return f"; the server's last answer was {code}" if code.isdigit() else ""


def _load(session: DbSession, email_id: int) -> OutboxEmail:
    email = session.get(OutboxEmail, email_id)
    if email is None:
        raise NotAllowed("There is no such email.")
    return email


def _finish(
    session: DbSession,
    email: OutboxEmail,
    changed: sa.Update,
    actor: StaffUser,
    kind: str,
    detail: str,
    now: datetime,
    refusal: str,
) -> None:
    try:
        result = session.execute(changed.execution_options(synchronize_session=False))
        if getattr(result, "rowcount", 0) != 1:
            raise NotAllowed(refusal)
        if email.submission_id is not None:
            session.add(
                Event(
                    submission_id=email.submission_id,
                    kind=kind,
                    actor=actor.email,
                    detail=detail,
                    created_at=now,
                )
            )
        session.commit()
    except BaseException:
        session.rollback()
        raise


def send_again(
    session: DbSession, email_id: int, actor: StaffUser, now: datetime | None = None
) -> OutboxEmail:
    """Make a failed email due now, with a fresh round of tries; its history keeps the old."""
    now = now or utcnow()
    email = _load(session, email_id)
    if email.recipient == ERASED:
        raise NotAllowed("This email was erased with its submission; it cannot be sent again.")
    if email.purpose in ACCOUNT_PURPOSES:
        # Its link was erased when it failed: a new link is a new email.
        raise NotAllowed("Send a new link from the accounts page instead.")
    detail = (
        f"{email.purpose}{to_whom(email.purpose)} sent again after {email.attempts} "
        f"failed attempt(s){_code(email.last_error)}"
    )
    changed = (
        sa.update(OutboxEmail)
        .where(OutboxEmail.id == email.id, OutboxEmail.state == "failed")
        .values(**due_again(now))
    )
    refusal = "Only a failed email can be sent again; this one is not failed (any more)."
    _finish(session, email, changed, actor, "email_resent", detail, now, refusal)
    return email


def cancel(
    session: DbSession, email_id: int, actor: StaffUser, now: datetime | None = None
) -> OutboxEmail:
    """Stop an email that waits for its first or next try; it will never be sent."""
    now = now or utcnow()
    email = _load(session, email_id)
    detail = f"{email.purpose}{to_whom(email.purpose)} cancelled before it was sent"
    changed = (
        sa.update(OutboxEmail)
        .where(
            OutboxEmail.id == email.id,
            OutboxEmail.state == "pending",
            # Not while a worker holds it: it may be on the wire at this moment.
            sa.or_(OutboxEmail.lease_until.is_(None), OutboxEmail.lease_until < now),
        )
        .values(
            state="cancelled",
            cancelled_at=now,
            lease_until=None,
            # An address kept only to send this email is not kept once it will not be.
            **FORGET_RECIPIENT,
        )
    )
    refusal = (
        "This email is no longer waiting (sent, failed or cancelled), or a worker is "
        "sending it right now: reload the page to see which."
    )
    _finish(session, email, changed, actor, "email_cancelled", detail, now, refusal)
    return email
