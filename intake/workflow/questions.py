"""Staff use cases on groups of the same question: group by hand, answer once, publish.

Each commits once. Answering writes every asker's reply (email through the outbox, or
their follow-up page) and their status in the same transaction as the answer itself:
either every asker has it or none does.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.orm.exc import StaleDataError

from intake import notify
from intake.models import (
    OPEN_STATUSES,
    PUBLIC_STATES,
    AuditEvent,
    DbSession,
    Event,
    Question,
    QuestionGroup,
    QuestionSplit,
    StaffUser,
    Submission,
    utcnow,
)
from intake.workflow.triage import (
    REPLY_MAX,
    Conflict,
    NotAllowed,
    acknowledge,
    loaded_newsroom,
    reply_channels,
)

ANSWER_LANGUAGES = ("en", "ru", "uk")
HEADLINE_MAX = 300
STORY_URL_MAX = 2048
# The worker's word on its engine, in the audit log (the admin pages read the last one).
FALLBACK, RESTORED = "similarity.fallback", "similarity.restored"
# Statuses a group's answer leaves alone: not a question anyone waits on an answer to.
NOT_ANSWERED = ("spam", "duplicate")


def fallback_notice(session: DbSession) -> str:
    """Say why questions are compared with tfidf, if the worker's last word was a fallback."""
    last = session.scalar(
        sa.select(AuditEvent)
        .where(AuditEvent.action.in_((FALLBACK, RESTORED)))
        .order_by(AuditEvent.id.desc())
        .limit(1)
    )
    return last.detail if last is not None and last.action == FALLBACK else ""


@contextmanager
def _unit(session: DbSession) -> Iterator[None]:
    """Run one use case and commit it; a write that lost a race is a Conflict, never a 500.

    Nothing is flushed before the commit, so loading the askers cannot write half a change.
    """
    try:
        with session.no_autoflush:
            yield
        session.commit()
    except StaleDataError:
        session.rollback()
        raise Conflict("another editor") from None
    except BaseException:
        session.rollback()
        raise


def _row(session: DbSession, submission: Submission) -> Question:
    """Return the question's row, adding one for a question stored before grouping was."""
    if submission.kind != "question":
        raise NotAllowed(f"{submission.reference} is a tip: only questions are grouped.")
    row = session.get(Question, submission.id)
    if row is None:
        row = Question(submission=submission, state="done", language=submission.language or "")
        session.add(row)
    return row


def _split(session: DbSession, a: int, b: int, actor: str, now: datetime) -> None:
    low, high = min(a, b), max(a, b)
    if session.get(QuestionSplit, (low, high)) is None:
        session.add(QuestionSplit(low_id=low, high_id=high, actor=actor, created_at=now))


def _event(submission_id: int, actor: str, kind: str, detail: str, now: datetime) -> Event:
    return Event(submission_id=submission_id, kind=kind, actor=actor, detail=detail, created_at=now)


def _leave(session: DbSession, row: Question, actor: str, now: datetime) -> None:
    """Take a question out of its group; staff said so, so it is never put back with them."""
    group = row.group
    if group is None:
        return
    for member in group.members:
        if member.submission_id != row.submission_id:
            _split(session, row.submission_id, member.submission_id, actor, now)
    row.group, row.grouped_by = None, ""
    row.quoted, row.quoted_name = False, ""
    group.updated_at = now
    detail = f"taken out of group Q{group.id}"
    session.add(_event(row.submission_id, actor, "ungrouped", detail, now))


def add_to_group(
    session: DbSession,
    submission: Submission,
    actor: StaffUser,
    *,
    group: QuestionGroup | None = None,
    like: Submission | None = None,
) -> QuestionGroup:
    """Put a question in a group, or with another question (starting a group if it has none).

    A split between them is forgotten: a person said they are the same after all.
    """
    now = utcnow()
    with _unit(session):
        row = _row(session, submission)
        if like is not None:
            if like.id == submission.id:
                raise NotAllowed("A question cannot be grouped with itself.")
            other = _row(session, like)
            group = other.group
            if group is None:
                group = QuestionGroup(created_at=now, updated_at=now)
                session.add(group)
                other.group, other.grouped_by = group, "staff"
                detail = f"grouped with {submission.reference} by hand"
                session.add(_event(like.id, actor.email, "grouped", detail, now))
        if group is None:
            raise NotAllowed("Choose a group, or give the reference of a question like it.")
        if row.group is group:
            raise NotAllowed(f"{submission.reference} is already in group Q{group.id}.")
        _leave(session, row, actor.email, now)
        session.flush()  # the group's id, for the event
        members = [m.submission_id for m in group.members if m.submission_id != submission.id]
        session.execute(
            sa.delete(QuestionSplit).where(
                sa.or_(
                    sa.and_(
                        QuestionSplit.low_id == submission.id, QuestionSplit.high_id.in_(members)
                    ),
                    sa.and_(
                        QuestionSplit.high_id == submission.id, QuestionSplit.low_id.in_(members)
                    ),
                )
            )
        )
        row.group, row.grouped_by = group, "staff"
        group.updated_at = now
        detail = f"put in group Q{group.id} by hand"
        session.add(_event(submission.id, actor.email, "grouped", detail, now))
    return group


def remove_from_group(session: DbSession, submission: Submission, actor: StaffUser) -> None:
    """Take a question out of its group for good: the split is kept and learnt."""
    with _unit(session):
        row = session.get(Question, submission.id)
        if row is None or row.group is None:
            raise NotAllowed(f"{submission.reference} is in no group.")
        _leave(session, row, actor.email, utcnow())


# One first name: letters, perhaps one hyphen or apostrophe inside ("Anna-Maria").
QUOTED_NAME = re.compile(r"[^\W\d_]+(?:[-'’][^\W\d_]+)?")
QUOTED_NAME_MAX = 40


def quotable(row: Question) -> bool:
    """Say whether an asker may be quoted on /answers: they agreed, and nothing withdrew it."""
    submission = row.submission
    return (
        submission.consent_publish
        and not submission.sensitive
        and submission.purged_at is None
        and submission.status not in NOT_ANSWERED
        and bool(submission.body.strip())
    )


def set_quoted(
    session: DbSession, row: Question, actor: StaffUser, quoted: bool, name: str = ""
) -> None:
    """Quote an asker's question on /answers (with a first name an editor writes), or stop."""
    name = name.strip()
    if quoted and not quotable(row):
        raise NotAllowed(
            f"{row.submission.reference} cannot be quoted: the reader did not agree to "
            "publication, or marked it sensitive, or it was erased."
        )
    if quoted and name and (len(name) > QUOTED_NAME_MAX or not QUOTED_NAME.fullmatch(name)):
        raise NotAllowed("Give one first name (letters only), or leave the name empty.")
    with _unit(session):
        row.quoted, row.quoted_name = quoted, name if quoted else ""
        how = f"quoted on /answers{' as ' + name if name else ' without a name'}"
        detail = how if quoted else "no longer quoted on /answers"
        session.add(_event(row.submission_id, actor.email, "quote", detail, utcnow()))


@dataclass
class Sent:
    """Whom a group's answer reached, and how (references)."""

    emailed: list[str] = field(default_factory=list)
    on_page: list[str] = field(default_factory=list)
    unreachable: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Count the askers it went to."""
        return len(self.emailed) + len(self.on_page) + len(self.unreachable)


def waiting(group: QuestionGroup) -> list[Question]:
    """Return the group's askers this group's answer has not gone to yet."""
    return [
        m
        for m in group.members
        if m.answered_in_id != group.id
        and m.submission.purged_at is None
        and m.submission.status not in NOT_ANSWERED
    ]


def asker_language(row: Question, answer: dict[str, str]) -> str:
    """Pick the answer's language for an asker: theirs where it is written, else English."""
    for language in (row.language, row.submission.language or "", row.submission.locale):
        if language in answer:
            return language
    return "en"


def _check_group(group: QuestionGroup, version: int | None) -> None:
    if version is not None and group.version != version:
        raise Conflict(group.answered_by or "another editor")


def clean_texts(texts: dict[str, str], limit: int, what: str) -> dict[str, str]:
    """Keep the languages written, English required; NotAllowed says what is missing."""
    kept = {lang: texts.get(lang, "").strip() for lang in ANSWER_LANGUAGES}
    kept = {lang: text for lang, text in kept.items() if text}
    if "en" not in kept:
        raise NotAllowed(f"Write the {what} in English (Russian and Ukrainian are optional).")
    for lang, text in kept.items():
        if len(text) > limit:
            raise NotAllowed(f"The {what} ({lang}) can be at most {limit:,} characters.")
    return kept


def check_story_url(url: str) -> str:
    """Return a story link that is an http(s) address, or NotAllowed."""
    url = url.strip()
    if not url:
        return ""
    try:
        parts = urlsplit(url)
    except ValueError:  # "https://[x": a broken host
        parts = urlsplit("")
    if parts.scheme not in ("http", "https") or not parts.netloc or len(url) > STORY_URL_MAX:
        raise NotAllowed("The story link must be a web address starting with https://.")
    return url


def answer_group(
    session: DbSession,
    group: QuestionGroup,
    actor: StaffUser,
    texts: dict[str, str],
    story_url: str,
    version: int | None,
) -> Sent:
    """Write the group's answer and send it to every asker who has not had it.

    After everyone had it, a changed answer is kept (for /answers and later askers) and
    sent to nobody.
    """
    _check_group(group, version)
    answer = clean_texts(texts, REPLY_MAX, "answer")
    story = check_story_url(story_url)
    now = utcnow()
    sent = Sent()
    with _unit(session):
        group.answer, group.story_url = answer, story
        group.answered_at, group.answered_by, group.updated_at = now, actor.email, now
        detail = ", ".join(answer)
        session.add(
            AuditEvent(
                actor=actor.email,
                action="question_group.answered",
                target=f"Q{group.id}",
                detail=detail,
            )
        )
        _send(session, group, actor, now, sent)
    return sent


def send_to_new_askers(
    session: DbSession, group: QuestionGroup, actor: StaffUser, version: int | None
) -> Sent:
    """Send the group's answer, as written, to the askers who joined after it was sent."""
    _check_group(group, version)
    if not group.answer:
        raise NotAllowed("The group has no answer yet: write it first.")
    now = utcnow()
    sent = Sent()
    with _unit(session):
        group.updated_at = now
        _send(session, group, actor, now, sent)
        if not sent.total:
            raise NotAllowed("Every asker in the group has had the answer.")
    return sent


def _send(
    session: DbSession, group: QuestionGroup, actor: StaffUser, now: datetime, sent: Sent
) -> None:
    askers = waiting(group)
    if askers:
        newsroom = loaded_newsroom(session)
        for row in askers:
            _send_one(session, group, row, actor, now, newsroom, sent)


def _send_one(
    session: DbSession,
    group: QuestionGroup,
    row: Question,
    actor: StaffUser,
    now: datetime,
    newsroom: notify.Newsroomish,
    sent: Sent,
) -> None:
    """Give one asker the answer on every way they can be reached, and mark it answered."""
    submission = row.submission
    text = group.answer[asker_language(row, group.answer)]
    channels = reply_channels(submission)
    if "email" in channels:
        email = notify.staff_reply(submission, submission.desk, newsroom, text)
        email.created_at = email.next_attempt_at = now
        session.add(email)
        session.add(_event(submission.id, actor.email, "reply", text, now))
        sent.emailed.append(submission.reference)
    elif "followup" in channels:
        session.add(_event(submission.id, actor.email, "reply_page", text, now))
        sent.on_page.append(submission.reference)
    else:
        detail = f"answered in group Q{group.id}; the reader left no way to reach them"
        session.add(_event(submission.id, actor.email, "group_answer", detail, now))
        sent.unreachable.append(submission.reference)
    row.answered_in_id, row.answer_sent_at = group.id, now
    acknowledge(session, submission, actor.email, f"answered in group Q{group.id}", now)
    if submission.first_action_at is None:
        submission.first_action_at = now
    submission.reader_replied_at = None
    submission.updated_at = now
    if submission.status in OPEN_STATUSES:
        detail = f"{submission.status} -> answered (group Q{group.id})"
        submission.status, submission.closed_at = "answered", now
        session.add(_event(submission.id, actor.email, "status", detail, now))


def publish(
    session: DbSession,
    group: QuestionGroup,
    actor: StaffUser,
    public: str,
    headline: dict[str, str],
    version: int | None,
) -> None:
    """Show a group on /answers (answered, or "We're looking into it"), or hide it."""
    _check_group(group, version)
    if public not in PUBLIC_STATES:
        raise NotAllowed(f"Choose one of: {', '.join(PUBLIC_STATES)}.")
    if public == "published" and not group.answer:
        raise NotAllowed("Answer the group before publishing its answer.")
    # Hidden, the question as published may be half written; shown, it needs English.
    written = {k: v.strip() for k, v in headline.items() if k in ANSWER_LANGUAGES and v.strip()}
    if public != "hidden":
        written = clean_texts(written, HEADLINE_MAX, "question as published")
    with _unit(session):
        group.public, group.headline, group.updated_at = public, written, utcnow()
        session.add(
            AuditEvent(
                actor=actor.email,
                action="question_group.public",
                target=f"Q{group.id}",
                detail=public,
            )
        )


def want_to_know(session: DbSession, group_id: int) -> bool:
    """Count one more reader waiting on a group shown as looked into; False if it is not."""
    done = session.execute(
        sa.update(QuestionGroup)
        .where(QuestionGroup.id == group_id, QuestionGroup.public == "looking")
        .values(want_count=QuestionGroup.want_count + 1)
    )
    session.commit()
    return getattr(done, "rowcount", 0) == 1
