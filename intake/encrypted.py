"""Notices to a reporter with an OpenPGP key: the whole text and files, as PGP/MIME (RFC 3156)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate
from pathlib import Path

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import current_app

from intake import pgp
from intake.models import OutboxEmail, Reporter, Submission, utcnow

log = logging.getLogger(__name__)
# Files ride along up to this many bytes in all; the rest are named and wait on the staff
# page. Base64 and the armor grow a file 1.85 times, and Postfix refuses a message over
# 10,240,000 bytes by default: 5 MB of files make a message of about 9.3 MB.
FILES_MAX = 5_000_000


@dataclass(frozen=True)
class KeyState:
    """How a notice to an address goes: plain, encrypted to a key, or link-only for want of one."""

    mode: str  # "plain": no key given; "encrypt"; "link": a key was given but cannot be used
    cert: str = ""
    fingerprint: str = ""


PLAIN = KeyState("plain")


def key_state(submission: Submission, to: str) -> KeyState:
    """Find the key of the reporter a notice goes to, and check it is usable now."""
    session = so.object_session(submission)
    if session is None:
        return PLAIN
    reporter = session.scalar(
        sa.select(Reporter)
        .where(
            sa.func.lower(Reporter.email) == to.strip().lower(),
            Reporter.active.is_(True),
            Reporter.pgp_key != "",
        )
        .order_by(Reporter.id)
        .limit(1)
    )
    if reporter is None:
        return PLAIN
    if not reporter.pgp_cert:
        return KeyState("link")
    check = pgp.recheck(reporter.pgp_cert, utcnow())
    if not check.usable:
        # It was usable when loaded (it expired or was revoked since): say so where the
        # admin looks, and keep the text out of this and later notices.
        log.warning(
            "OpenPGP key of reporter %s: %s; notice sent link-only", reporter.slug, check.problem
        )
        reporter.pgp_problem, reporter.pgp_cert = check.problem[:500], ""
        return KeyState("link")
    return KeyState("encrypt", reporter.pgp_cert, check.fingerprint)


def _files(submission: Submission, inner: EmailMessage) -> list[str]:
    """Attach the submission's files up to FILES_MAX; return the names of those left out."""
    folder = Path(str(current_app.config["INTAKE_UPLOADS"]))
    room, left_out = FILES_MAX, []
    for item in submission.attachments:
        path = folder / item.stored_name
        if item.size > room or not path.is_file():
            left_out.append(item.original_name)
            continue
        maintype, _, subtype = item.media_type.partition("/")
        inner.add_attachment(
            path.read_bytes(),
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=item.original_name,
        )
        room -= item.size
    return left_out


def seal_encrypted(
    row: OutboxEmail,
    submission: Submission,
    state: KeyState,
    inner_subject: str,
    body: str,
    with_files: bool = True,
) -> None:
    """Encrypt the notice's text and files to the key; the row keeps only a placeholder.

    Falls back to nothing here: on any failure the caller's plain link-only row stands.
    """
    inner = EmailMessage()
    inner["Subject"] = inner_subject  # shown by mail clients that read protected headers
    # 8bit: quoted-printable (what the email library picks for a text that starts in
    # ASCII) triples Cyrillic; inside the encryption no mail server sees the bytes.
    inner.set_content(body, cte="8bit")
    left_out = _files(submission, inner) if with_files and submission.attachments else []
    if left_out:
        # set_content made a text part; a note names the files that stayed behind.
        inner.add_attachment(
            "Files not attached (too large for email), on the staff page: "
            + ", ".join(left_out)
            + "\n",
            filename="files-not-attached.txt",
        )
    outer = pgp.encrypt_mime(inner, state.cert)
    outer["Subject"] = row.subject
    outer["From"] = row.sender
    outer["To"] = row.recipient
    if row.reply_to:
        outer["Reply-To"] = row.reply_to
    outer["Date"] = formatdate(localtime=False)
    outer["Message-ID"] = row.message_id
    outer["Auto-Submitted"] = "auto-generated"
    row.raw = outer.as_bytes(policy=SMTP)
    row.body = f"(encrypted to the OpenPGP key {state.fingerprint})"
