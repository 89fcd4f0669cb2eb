"""The Acknowledge link in a reporter's notice: signed, bound to one reporter, one item and
one assignment, so it works once and only for whom it was sent."""

from __future__ import annotations

from datetime import datetime

from itsdangerous import BadSignature, URLSafeSerializer

SALT = "intake-acknowledge"


def _serializer(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt=SALT)


def token(secret: str, submission_id: int, reporter_id: int, assigned_at: datetime) -> str:
    """Sign the link's token for this assignment (its time makes a later one's differ)."""
    stamp = int(assigned_at.timestamp() * 1_000_000)
    return _serializer(secret).dumps([submission_id, reporter_id, stamp])


def read(secret: str, value: str) -> tuple[int, int, int] | None:
    """Return (submission id, reporter id, assignment stamp) from a token, or None if forged."""
    try:
        loaded = _serializer(secret).loads(value)
    except BadSignature:
        return None
    if (
        not isinstance(loaded, list)
        or len(loaded) != 3
        or not all(isinstance(n, int) and not isinstance(n, bool) for n in loaded)
    ):
        return None
    return loaded[0], loaded[1], loaded[2]


def stamp(assigned_at: datetime | None) -> int:
    """Return an assignment's time as the token carries it."""
    return int(assigned_at.timestamp() * 1_000_000) if assigned_at else -1
