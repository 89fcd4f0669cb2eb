"""Message-IDs that carry a signed thread token, so a reply can be trusted to its thread.

Every email intake sends about a submission gets a Message-ID of the form
`<t.NONCE.SIGNATURE@domain>`, the signature an HMAC of the nonce and the submission's id
under the app's secret (as osTicket signs its). A reply names it in In-Reply-To or
References; the token is accepted only if the signature matches the submission the
outbox says that Message-ID belongs to. A reference typed into a subject proves nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

# 64 random bits and a 96-bit signature: short enough that the header is not folded.
TOKEN = re.compile(r"<t\.([0-9a-f]{16})\.([0-9a-f]{24})@[^<>\s]+>")
ANY_ID = re.compile(r"<[^<>\s]+>")


def _signature(secret: str, nonce: str, submission_id: int) -> str:
    message = f"intake-thread:{nonce}:{submission_id}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()[:24]


def make(sender: str, submission_id: int, secret: str) -> str:
    """Return a new Message-ID for an email about this submission."""
    domain = sender.rpartition("@")[2] or "intake.invalid"
    nonce = secrets.token_hex(8)
    return f"<t.{nonce}.{_signature(secret, nonce, submission_id)}@{domain}>"


def signed_for(message_id: str, submission_id: int, secret: str) -> bool:
    """Say whether a Message-ID carries a valid token for this submission."""
    match = TOKEN.fullmatch(message_id.strip())
    if match is None:
        return False
    nonce, signature = match.groups()
    return hmac.compare_digest(signature, _signature(secret, nonce, submission_id))


def referenced(*headers: str | None) -> list[str]:
    """Return the Message-IDs named in In-Reply-To and References, nearest first."""
    found: list[str] = []
    for header in headers:
        ids = ANY_ID.findall(header or "")
        found.extend(reversed(ids))  # References lists the oldest first
    return list(dict.fromkeys(found))
