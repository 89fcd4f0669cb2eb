"""Desks' canned replies: editors keep them, and a reply can start from one.

A canned reply is written in English and, when the desk has them, Russian and Ukrainian;
it fills the reply box in the reader's language. Each change is an audit event.
"""

from __future__ import annotations

from collections.abc import Mapping

import sqlalchemy as sa

from intake.models import AuditEvent, CannedReply, DbSession, Desk, StaffUser, Submission, utcnow
from intake.text import clean_line, clean_multiline, whole_number
from intake.workflow.triage import REPLY_MAX, NotAllowed

# The languages a canned reply is written in; the first is required and the fallback.
CANNED_LANGUAGES = ("en", "ru", "uk")
TITLE_MAX = 200


def _editor(actor: StaffUser) -> None:
    if not actor.sees_everything:
        raise NotAllowed("Only editors and admins keep the canned replies.")


def _checked(title: str, texts: Mapping[str, str]) -> tuple[str, dict[str, str]]:
    """Return the title and texts cleaned, or say what is missing or too long."""
    title = clean_line(title)
    if not title:
        raise NotAllowed("Give the canned reply a title.")
    if len(title) > TITLE_MAX:
        raise NotAllowed(f"A title can be at most {TITLE_MAX} characters.")
    cleaned = {}
    for language in CANNED_LANGUAGES:
        text = clean_multiline(texts.get(language, ""))
        if len(text) > REPLY_MAX:
            raise NotAllowed(f"A text can be at most {REPLY_MAX:,} characters ({language}).")
        if text:
            cleaned[language] = text
    if CANNED_LANGUAGES[0] not in cleaned:
        raise NotAllowed("Write the English text: it is the one used when the reader's is missing.")
    return title, cleaned


def _audit(
    session: DbSession, actor: StaffUser, action: str, canned: CannedReply, detail: str
) -> None:
    session.add(
        AuditEvent(
            actor=actor.email,
            action=action,
            target=canned.desk.slug,
            detail=f"#{canned.id} “{canned.title}”{detail}",
        )
    )


def _commit(session: DbSession) -> None:
    try:
        session.commit()
    except BaseException:
        session.rollback()
        raise


def create_canned(
    session: DbSession, actor: StaffUser, desk: Desk, title: str, texts: Mapping[str, str]
) -> CannedReply:
    """Add a canned reply to a desk."""
    _editor(actor)
    title, cleaned = _checked(title, texts)
    canned = CannedReply(
        desk=desk, title=title, texts=cleaned, updated_by=actor.email, updated_at=utcnow()
    )
    try:
        session.add(canned)
        session.flush()  # its id names it in the audit event
        _audit(session, actor, "canned.created", canned, f" in {', '.join(cleaned)}")
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return canned


def update_canned(
    session: DbSession, actor: StaffUser, canned: CannedReply, title: str, texts: Mapping[str, str]
) -> bool:
    """Change a canned reply's title and texts; return whether anything changed."""
    _editor(actor)
    title, cleaned = _checked(title, texts)
    changed = [] if title == canned.title else ["title"]
    changed += [
        f"text ({lang})" for lang in CANNED_LANGUAGES if cleaned.get(lang) != canned.texts.get(lang)
    ]
    if not changed:
        return False
    before = canned.title
    canned.title, canned.texts = title, cleaned
    canned.updated_by, canned.updated_at = actor.email, utcnow()
    renamed = f" (was “{before}”)" if "title" in changed else ""
    _audit(session, actor, "canned.updated", canned, f"{renamed}: {', '.join(changed)}")
    _commit(session)
    return True


def set_canned_active(
    session: DbSession, actor: StaffUser, canned: CannedReply, active: bool
) -> None:
    """Take a canned reply out of the reply form, or put it back; it is never deleted."""
    _editor(actor)
    if canned.active == active:
        raise NotAllowed(f"It is {'active' if active else 'inactive'} already.")
    canned.active = active
    canned.updated_by, canned.updated_at = actor.email, utcnow()
    _audit(session, actor, "canned.reactivated" if active else "canned.deactivated", canned, "")
    _commit(session)


def canned_replies(session: DbSession, desk_id: int | None) -> list[CannedReply]:
    """Return a desk's active canned replies, by title: what the reply form offers."""
    return list(
        session.scalars(
            sa.select(CannedReply)
            .where(CannedReply.desk_id == desk_id, CannedReply.active.is_(True))
            .order_by(CannedReply.title, CannedReply.id)
        )
    )


def usable_canned(session: DbSession, submission: Submission, value: str) -> CannedReply | None:
    """Return the active canned reply of the submission's desk with this id, if there is one."""
    canned_id = whole_number(value)
    if canned_id is None:
        return None
    return session.scalar(
        sa.select(CannedReply).where(
            CannedReply.id == canned_id,
            CannedReply.desk_id == submission.desk_id,
            CannedReply.active.is_(True),
        )
    )


def canned_text(canned: CannedReply, language: str) -> tuple[str, str]:
    """Return the language used and the text: the reader's language, else English."""
    if language in canned.texts:
        return language, canned.texts[language]
    fallback = CANNED_LANGUAGES[0]
    return fallback, canned.texts.get(fallback, "")
