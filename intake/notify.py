"""Compose emails into the outbox (delivering them is intake.delivery's job)."""

from __future__ import annotations

import logging
import secrets
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

import sqlalchemy as sa
from flask import current_app

from intake import acks, encrypted, thread_ids
from intake.delivery import seal
from intake.extensions import keyed_digest
from intake.language import name as language_name
from intake.links import defang, linkable
from intake.models import ACCOUNT_PURPOSES, DbSession, Desk, OutboxEmail, Submission
from intake.routing import DeskInfo, without_words
from intake.text import clean_line

if TYPE_CHECKING:
    from intake.workflow.digest import Figures

log = logging.getLogger(__name__)
KIND_TAGS = {"tip": "Tip", "question": "Question"}
SUBJECT_EXCERPT = 100
# A reader's address gets at most this many acknowledgements an hour: intake must not
# become a way to flood someone's inbox by typing their address into the form.
ACKS_PER_HOUR = 3


def _message_id(sender: str, submission: Submission) -> str:
    """Return a Message-ID carrying a signed token for this submission's thread."""
    if submission.id is None:
        raise ValueError("flush the submission before composing its emails (it needs its id)")
    return thread_ids.make(sender, submission.id, str(current_app.secret_key or ""))


class Newsroomish(Protocol):
    """What an email needs of the newsroom: the ORM row or the directory snapshot's copy."""

    @property
    def name(self) -> str: ...

    @property
    def public_url(self) -> str: ...

    @property
    def sender(self) -> str: ...


def render(template: str, **context: Any) -> str:
    """Render an email template: plain Jinja, without the pages' context processors."""
    return current_app.jinja_env.get_template(template).render(**context)


def staff_link(newsroom: Newsroomish, submission: Submission) -> str:
    """Return the address of the submission's staff page."""
    return f"{newsroom.public_url}/staff/s/{submission.reference}"


def story_link(article: str, public_url: str) -> dict[str, Any]:
    """Say how an email shows the story's address: linked only on the newsroom's sites."""
    linked = linkable(article, current_app.config.get("INTAKE_ARTICLE_HOSTS") or "", public_url)
    return {"article_linked": linked, "article_shown": article if linked else defang(article)}


def carries_text(submission: Submission, email_content: str) -> bool:
    """Say whether an email about this submission may include the reader's text."""
    return not submission.sensitive and email_content == "full"


def notice_subject(submission: Submission, topic_label: str | None, with_text: bool) -> str:
    """Build the reporter's subject line; reader text in it is cut to one clean line."""
    tag = KIND_TAGS[submission.kind]
    topic = topic_label or "No topic"
    excerpt = clean_line(submission.subject)[:SUBJECT_EXCERPT] if with_text else ""
    middle = f" — {excerpt}" if excerpt else ""
    return clean_line(f"[{tag}] {topic}{middle} ({submission.reference})")


def reporter_notice(
    submission: Submission,
    to: str,
    newsroom: Newsroomish,
    *,
    topic_label: str | None,
    email_content: str,
    why: str | None = None,
    ack_for: int | None = None,
) -> OutboxEmail:
    """Compose the email that tells a reporter (or a desk inbox) about a submission.

    `ack_for`: the id of the reporter it is assigned to, whose notice carries the
    Acknowledge link for this assignment.
    """
    key = encrypted.key_state(submission, to)
    if key.mode != "plain":
        # The clear copy is link-only: the key's notice carries the text encrypted, and a
        # key that cannot be used means never the text in clear.
        email_content = "link"
    with_text = carries_text(submission, email_content)
    reason = why or submission.reason
    ack_link = None
    if ack_for is not None and submission.assigned_at is not None:
        value = acks.token(
            str(current_app.secret_key or ""), submission.id, ack_for, submission.assigned_at
        )
        ack_link = f"{newsroom.public_url}/staff/ack/{value}"

    def body(text: bool) -> str:
        return render(
            "email/reporter_notice.txt",
            ack_link=ack_link,
            key_unusable=key.mode == "link",
            submission=submission,
            topic_label=topic_label,
            # An email that may not carry the text carries no word of it, the reason included.
            why=reason if text else without_words(reason),
            with_text=text,
            link=staff_link(newsroom, submission),
            language=language_name(submission.language or "und"),
            **story_link(submission.article, newsroom.public_url),
        )

    row = OutboxEmail(
        submission=submission,
        purpose="reporter_notice",
        message_id=_message_id(newsroom.sender, submission),
        sender=newsroom.sender,
        recipient=to,
        # Never the reader: a reply from the reporter's mail client comes back to intake
        # and becomes an internal note, not an email to the reader.
        reply_to=newsroom.sender,
        subject=notice_subject(submission, topic_label, with_text),
        body=body(with_text),
    )
    if key.mode == "encrypt":
        # Only the key's holder can read it: the whole text, sensitive or not.
        return _encrypted(
            row, submission, key, notice_subject(submission, topic_label, True), body(True)
        )
    return _sealed(row)


def _encrypted(
    row: OutboxEmail,
    submission: Submission,
    key: encrypted.KeyState,
    subject: str,
    body: str,
    with_files: bool = True,
) -> OutboxEmail:
    """Encrypt a notice to the reporter's key; if that fails, the link-only notice goes."""
    try:
        encrypted.seal_encrypted(row, submission, key, subject, body, with_files)
    except (ValueError, OSError) as exc:
        log.warning("a notice could not be encrypted (%s); sent link-only", type(exc).__name__)
        return _sealed(row)
    return row


def _sealed(row: OutboxEmail) -> OutboxEmail:
    """Store the message's bytes with it, built now: the worker only sends them."""
    try:
        row.raw = seal(row)
    except ValueError:
        # Never lose the submission over its email: the worker tries again and, if the
        # message still cannot be built, records that email alone as failed.
        log.warning("an email could not be built when queued (%s)", row.purpose)
    return row


def address_key(address: str) -> str:
    """Return a keyed hash of a reader's address, the same for its case and +tag variants.

    Receipts are capped by it, and purge finds a reader's emails by it, without the
    address itself being kept once the receipt is sent.
    """
    local, _, domain = address.strip().lower().rpartition("@")
    local = local.split("+", 1)[0]
    return keyed_digest("intake-address", f"{local}@{domain}")


def reader_replied(
    submission: Submission,
    to: str,
    newsroom: Newsroomish,
    email_content: str,
    text: str,
    files: int,
) -> OutboxEmail:
    """Tell whoever holds a submission that its reader wrote again (text only if allowed)."""
    key = encrypted.key_state(submission, to)
    with_text = key.mode == "plain" and carries_text(submission, email_content)
    tag = KIND_TAGS[submission.kind]

    def body(text_shown: bool) -> str:
        return render(
            "email/reader_replied.txt",
            key_unusable=key.mode == "link",
            submission=submission,
            with_text=text_shown,
            text=text,
            files=files,
            link=staff_link(newsroom, submission),
        )

    row = OutboxEmail(
        submission=submission,
        purpose="reader_replied",
        message_id=_message_id(newsroom.sender, submission),
        sender=newsroom.sender,
        recipient=to,
        reply_to=newsroom.sender,
        subject=clean_line(f"[{tag}] The reader wrote again ({submission.reference})"),
        body=body(with_text),
    )
    if key.mode == "encrypt":
        return _encrypted(row, submission, key, row.subject, body(True), with_files=False)
    return _sealed(row)


def ack_allowed(session: DbSession, address: str, now: datetime) -> bool:
    """Say whether this address (any case or +tag) may get another receipt this hour."""
    recent = session.scalar(
        sa.select(sa.func.count())
        .select_from(OutboxEmail)
        .where(
            OutboxEmail.purpose == "reader_ack",
            OutboxEmail.recipient_key == address_key(address),
            OutboxEmail.created_at > now - timedelta(hours=1),
        )
    )
    return (recent or 0) < ACKS_PER_HOUR


ACK_SUBJECTS = {
    ("en", "tip"): "We received your tip ({reference})",
    ("en", "question"): "We received your question ({reference})",
    ("ru", "tip"): "Мы получили ваше сообщение ({reference})",
    ("ru", "question"): "Мы получили ваш вопрос ({reference})",
    ("uk", "tip"): "Ми отримали ваше повідомлення ({reference})",
    ("uk", "question"): "Ми отримали ваше запитання ({reference})",
}


def reader_ack(submission: Submission, newsroom: Newsroomish, to: str) -> OutboxEmail:
    """Compose the receipt to a reader, in the form's language: never their text.

    Without the reader's consent to be contacted, the address serves this email alone:
    the submission does not keep it, and the outbox forgets it once the email is sent.
    """
    locale = submission.locale if (submission.locale, "tip") in ACK_SUBJECTS else "en"
    subject = ACK_SUBJECTS[(locale, submission.kind)].format(reference=submission.reference)
    return _sealed(
        OutboxEmail(
            submission=submission,
            purpose="reader_ack",
            message_id=_message_id(newsroom.sender, submission),
            sender=newsroom.sender,
            recipient=to,
            recipient_key=address_key(to),
            forget_recipient=not submission.consent_contact,
            subject=clean_line(subject),
            body=render(
                f"email/reader_ack.{locale}.txt",
                submission=submission,
                newsroom=newsroom,
            ),
        )
    )


REPLY_SUBJECTS = {
    ("en", "tip"): "About your tip ({reference})",
    ("en", "question"): "About your question ({reference})",
    ("ru", "tip"): "О вашем сообщении ({reference})",
    ("ru", "question"): "О вашем вопросе ({reference})",
    ("uk", "tip"): "Про ваше повідомлення ({reference})",
    ("uk", "question"): "Про ваше запитання ({reference})",
}


def staff_reply(
    submission: Submission, desk: Desk | None, newsroom: Newsroomish, text: str
) -> OutboxEmail:
    """Compose a reporter's reply to the reader, in the reader's language, from the desk.

    It is written by a person, so it is not marked Auto-Submitted; a line at its top asks
    the reader to write above it, which is where intake cuts their reply from the quote.
    """
    sender = desk.email if desk else newsroom.sender
    locale = submission.locale if (submission.locale, "tip") in REPLY_SUBJECTS else "en"
    subject = REPLY_SUBJECTS[(locale, submission.kind)].format(reference=submission.reference)
    return _sealed(
        OutboxEmail(
            submission=submission,
            purpose="reply",
            message_id=_message_id(sender, submission),
            sender=sender,
            recipient=submission.email,
            # Replies come back to intake's own mailbox, which reads them into the thread.
            reply_to=newsroom.sender,
            subject=clean_line(subject),
            body=render(
                f"email/reply.{locale}.txt",
                submission=submission,
                text=text,
                newsroom=newsroom,
                desk=desk,
            ),
        )
    )


def account_link(
    to: str,
    newsroom: Newsroomish,
    token: str,
    *,
    first: bool,
    role: str,
    hours: int,
    sent_by: str,
) -> OutboxEmail:
    """Compose the email with a one-time link to set a staff account's password.

    `first`: the account is new (an invitation); otherwise a new link for one that lost
    its link or password.
    """
    link = f"{newsroom.public_url}/staff/password/{token}"
    if first:
        subject = f"Your staff account at {newsroom.name}: set your password"
        opening = f"{sent_by} created a staff account ({role}) for {to} at {newsroom.name}."
    else:
        subject = f"A new link to set your password at {newsroom.name}"
        opening = f"{sent_by} sent a new link to set the password of {to} at {newsroom.name}."
    body = "\n".join(
        [
            opening,
            "",
            f"Set your password here (the link works once, for {hours} hours):",
            "",
            link,
            "",
            f"Then sign in at {newsroom.public_url}/staff/login. You may be asked to set up",
            "two-factor sign-in with an authenticator app on your phone.",
            "",
            "If you did not expect this email, do not use the link: tell the newsroom's admins.",
            "Do not reply to this email: a reply goes to the tip line, like a reader's.",
        ]
    )
    domain = newsroom.sender.rpartition("@")[2] or "intake.invalid"
    return _sealed(
        OutboxEmail(
            purpose=ACCOUNT_PURPOSES[0] if first else ACCOUNT_PURPOSES[1],
            # Not about a submission, so not a thread of one: a plain random id.
            message_id=f"<a.{secrets.token_hex(12)}@{domain}>",
            sender=newsroom.sender,
            recipient=to,
            subject=clean_line(subject),
            body=body,
        )
    )


def digest(
    to: str,
    newsroom: Newsroomish,
    desk: DeskInfo,
    day: date,
    found: Figures,
    now: datetime,
) -> OutboxEmail:
    """Compose a desk's morning digest: figures, references and links, no reader's words."""
    subject = (
        f"{desk.name} digest, {day.isoformat()}: {found.new} new, {found.unassigned} unassigned, "
        f"{found.escalated} escalated, {found.overdue} overdue"
    )
    body = render(
        "email/digest.txt",
        desk=desk,
        day=day,
        f=found,
        now=now,
        inbox=f"{newsroom.public_url}/staff/?desk={desk.slug}",
        oldest_link=(f"{newsroom.public_url}/staff/s/{found.oldest[0]}" if found.oldest else None),
        oldest_hours=int((now - found.oldest[1]).total_seconds() // 3600) if found.oldest else 0,
        outbox=f"{newsroom.public_url}/staff/outbox?state=failed",
        rota_page=f"{newsroom.public_url}/staff/admin/rota",
    )
    domain = newsroom.sender.rpartition("@")[2] or "intake.invalid"
    return _sealed(
        OutboxEmail(
            purpose="digest",
            message_id=f"<d.{secrets.token_hex(12)}@{domain}>",
            sender=newsroom.sender,
            recipient=to,
            reply_to=newsroom.sender,
            subject=clean_line(subject),
            body=body,
        )
    )
