"""Use cases, each committed in one transaction: a reader's submission first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from intake.models import DbSession, Event, Submission, Topic, utcnow
from intake.reference import new_reference

REFERENCE_TRIES = 8


@dataclass(frozen=True)
class NewSubmission:
    """A reader's tip or question, already cleaned and validated by the form."""

    kind: str
    topic: str | None
    subject: str
    body: str
    name: str
    email: str
    consent_contact: bool
    consent_publish: bool
    sensitive: bool
    article: str
    author_slug: str


def _free_reference(session: DbSession, kind: str) -> str:
    """Draw references until one is unused; with 40 random bits the first almost always is."""
    for _ in range(REFERENCE_TRIES):
        reference = new_reference(kind)
        taken = session.scalar(sa.select(sa.literal(True)).where(Submission.reference == reference))
        if not taken:
            return reference
    raise RuntimeError("no free reference after several draws")


def submit(session: DbSession, new: NewSubmission, now: datetime | None = None) -> str:
    """Store a submission and its 'created' event in one transaction; return its reference."""
    now = now or utcnow()
    topic = None
    if new.topic:
        topic = session.scalar(
            sa.select(Topic).where(Topic.slug == new.topic, Topic.active.is_(True))
        )
        if topic is None:
            raise ValueError(f"unknown or inactive topic {new.topic!r}")
    try:
        submission = Submission(
            reference=_free_reference(session, new.kind),
            kind=new.kind,
            status="new",
            topic=topic,
            subject=new.subject,
            body=new.body,
            name=new.name,
            email=new.email,
            consent_contact=new.consent_contact,
            consent_publish=new.consent_publish,
            sensitive=new.sensitive,
            article=new.article,
            author_slug=new.author_slug,
            created_at=now,
            updated_at=now,
        )
        session.add(submission)
        session.add(Event(submission=submission, kind="created", actor="reader", created_at=now))
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return submission.reference
