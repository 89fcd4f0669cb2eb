"""Read an incoming RFC 5322 message into the facts intake acts on (standard library only)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from email.utils import getaddresses

from intake import thread_ids
from intake.text import clean_line

LIST_HEADERS = ("list-id", "list-unsubscribe", "list-post")
AUTO_HEADERS = ("x-autoreply", "x-autorespond", "x-autoresponse")


@dataclass(frozen=True)
class Bounce:
    """A delivery report: which of our emails it is about, and the status it reports."""

    original_id: str
    status: str
    diagnostic: str


@dataclass(frozen=True)
class Inbound:
    """An incoming message, as intake needs it."""

    key: str
    message_id: str
    sender: str
    sender_name: str
    subject: str
    references: list[str]
    plain: str | None
    html: str | None
    files: list[tuple[str, bytes]] = field(default_factory=list)
    automatic: bool = False
    bounce: Bounce | None = None


class Unreadable(Exception):
    """The bytes are not an email intake can read; the message says why."""


def _text(part: Message) -> str:
    """Return a text part's content, whatever its declared charset says."""
    try:
        content = part.get_content()  # type: ignore[attr-defined]
        if isinstance(content, str):
            return content
    except (LookupError, UnicodeError, KeyError, ValueError):
        pass
    payload = part.get_payload(decode=True)
    raw = payload if isinstance(payload, bytes) else b""
    return raw.decode("utf-8", "replace")


def _automatic(message: Message) -> bool:
    """Say whether a machine sent it: an auto-reply, bulk or list mail."""
    auto = str(message.get("auto-submitted", "")).strip().lower()
    if auto and auto != "no":
        return True
    if str(message.get("precedence", "")).strip().lower() in ("bulk", "junk", "list"):
        return True
    return any(message.get(h) is not None for h in (*AUTO_HEADERS, *LIST_HEADERS))


def _bounce(message: Message) -> Bounce | None:
    """Read a delivery status report (RFC 3464), if this message is one."""
    if message.get_content_type() != "multipart/report":
        return None
    if message.get_param("report-type", "").lower() != "delivery-status":  # type: ignore[union-attr]
        return None
    status = diagnostic = original = ""
    for part in message.walk():
        kind = part.get_content_type()
        if kind == "message/delivery-status":
            for block in part.get_payload() or []:
                if isinstance(block, Message):
                    status = status or str(block.get("status", "")).strip()
                    diagnostic = diagnostic or str(block.get("diagnostic-code", "")).strip()
        elif kind in ("message/rfc822", "text/rfc822-headers") and not original:
            original = _original_id(part)
    if not original:
        return None
    return Bounce(clean_line(original), clean_line(status)[:32], clean_line(diagnostic)[:300])


def _original_id(part: Message) -> str:
    payload = part.get_payload()
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        inner: Message = payload[0]
    else:
        inner = message_from_bytes(_text(part).encode(), policy=policy.default)
    return str(inner.get("message-id", "")).strip()


def _files(message: EmailMessage, bodies: set[int]) -> list[tuple[str, bytes]]:
    """Return the attachments, inline images included, but not the text bodies."""
    files: list[tuple[str, bytes]] = []
    for part in message.walk():
        if part.is_multipart() or id(part) in bodies:
            continue
        if part.get_content_maintype() == "message":
            continue
        name = part.get_filename()
        is_text_body = part.get_content_type() in ("text/plain", "text/html") and not name
        if is_text_body and part.get_content_disposition() != "attachment":
            continue
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes) and payload:
            files.append((name or "attachment", payload))
    return files


def parse(raw: bytes) -> Inbound:
    """Read the bytes of one email; raise Unreadable if they are not one."""
    if not raw.strip():
        raise Unreadable("the message is empty")
    message = message_from_bytes(raw, policy=policy.default)
    if not isinstance(message, EmailMessage) or not message.keys():
        raise Unreadable("the message has no headers")
    try:
        addresses = getaddresses([str(message.get("from", ""))])
    except (TypeError, ValueError, IndexError):
        addresses = []
    name, address = addresses[0] if addresses else ("", "")
    # Control characters (a NUL, say) in an id would stop a database at the door.
    message_id = clean_line(str(message.get("message-id", "")))
    key = message_id[:255] if message_id else "sha256:" + hashlib.sha256(raw).hexdigest()
    plain_part = message.get_body(preferencelist=("plain",))
    html_part = message.get_body(preferencelist=("html",))
    bodies = {id(p) for p in (plain_part, html_part) if p is not None}
    return Inbound(
        key=key,
        message_id=message_id,
        sender=clean_line(address).lower(),
        sender_name=clean_line(name)[:100],
        subject=clean_line(str(message.get("subject", "")))[:200],
        references=thread_ids.referenced(
            clean_line(str(message.get("in-reply-to", ""))),
            clean_line(str(message.get("references", ""))),
        ),
        plain=_text(plain_part) if plain_part is not None else None,
        html=_text(html_part) if html_part is not None else None,
        files=_files(message, bodies),
        automatic=_automatic(message),
        bounce=_bounce(message),
    )
