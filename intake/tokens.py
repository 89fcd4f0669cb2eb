"""Personal API tokens: made and revoked by their owner, stored only as a hash."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from intake.models import ApiToken, AuditEvent, DbSession, StaffUser, utcnow
from intake.text import clean_line

PREFIX = "itk_"
NAME_MAX = 64
PER_PERSON = 10
# last_used_at is written at most this often: a busy script must not write on every call.
USED_EVERY = timedelta(minutes=5)


class TokenError(Exception):
    """A token cannot be made or revoked as asked; the message says why."""


def digest(token: str) -> str:
    """Return the stored form of a token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def check_name(name: str) -> str:
    """Return a token's name cleaned, or raise TokenError saying what is wrong with it."""
    cleaned = clean_line(name).strip()
    if not cleaned:
        raise TokenError("Give the token a name.")
    if len(cleaned) > NAME_MAX:
        raise TokenError(f"A token's name can be at most {NAME_MAX} characters.")
    return cleaned


def default_name(now: datetime) -> str:
    """Name a token made without one by when it was made."""
    return f"token-{now:%Y%m%d-%H%M%S}"


def create(session: DbSession, user: StaffUser, name: str, now: datetime | None = None) -> str:
    """Make a token for an active account and commit; return it (the only time it is seen)."""
    now = now or utcnow()
    name = check_name(name)
    if not user.active:
        raise TokenError(f"{user.email} is deactivated: no token can be made for it.")
    held = session.scalar(
        sa.select(sa.func.count()).select_from(ApiToken).where(ApiToken.user_id == user.id)
    )
    if (held or 0) >= PER_PERSON:
        # Each token has its own rate limit: without a cap, tokens would multiply it.
        raise TokenError(f"{user.email} has {PER_PERSON} tokens already: revoke one first.")
    token = PREFIX + secrets.token_urlsafe(32)
    session.add(
        ApiToken(user=user, name=name, token_hash=digest(token), hint=token[:8], created_at=now)
    )
    session.add(
        AuditEvent(actor=user.email, action="token.created", target=user.email, detail=name)
    )
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise TokenError(f"{user.email} already has a token named {name!r}.") from None
    return token


def revoke(session: DbSession, user: StaffUser, name: str, actor: str) -> None:
    """Delete a user's token by name and commit; TokenError if there is none by that name."""
    found = session.scalar(
        sa.select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.name == name)
    )
    if found is None:
        raise TokenError(f"{user.email} has no token named {name!r}.")
    session.delete(found)
    session.add(AuditEvent(actor=actor, action="token.revoked", target=user.email, detail=name))
    session.commit()


def owned(session: DbSession, user: StaffUser) -> list[ApiToken]:
    """Return a user's tokens, newest first."""
    return list(
        session.scalars(
            sa.select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())
        )
    )


def holder(session: DbSession, token: str, now: datetime | None = None) -> StaffUser | None:
    """Return the active account a token acts as, or None for any other string."""
    if not token.startswith(PREFIX) or len(token) > 100:
        return None
    wanted = digest(token)
    found = session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == wanted))
    # The lookup is by hash; compare again in constant time all the same.
    if found is None or not hmac.compare_digest(found.token_hash, wanted):
        return None
    if not found.user.active:
        return None
    now = now or utcnow()
    if found.last_used_at is None or now - found.last_used_at > USED_EVERY:
        found.last_used_at = now
        session.commit()
    return found.user
