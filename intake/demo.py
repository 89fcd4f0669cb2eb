"""Synthetic submissions for trying intake out and for benchmarks: many, varied, fast."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from intake.models import DbSession, Desk, Reporter, Submission, Topic, utcnow
from intake.reference import new_reference

TEXTS = {
    "en": [
        "When will the peace talks start, and who is mediating between the two sides?",
        "Power is out again in our district after the strikes last night.",
        "A senate aide says the vote on the aid package will slip to next month.",
        "Two traders say OPEC will cut oil output again at the next meeting.",
        "How is Malaysia reacting to the new patrols in the South China Sea?",
    ],
    "ru": [
        "Почему Кремль отказывается от переговоров, если большинство их поддерживает?",
        "Сколько территорий сейчас контролирует армия и что будет с ними после войны?",
        "В нашем городе снова отключили свет, люди стоят в очередях за водой.",
    ],
    "uk": [
        "У Харкові знову вимкнули світло після обстрілу, люди стоять у чергах по воду.",
        "Де зараз фронт? Під Покровськом вночі чули вибухи.",
        "Коли відновлять нормальне постачання електроенергії в Одесі?",
    ],
    "es": ["¿Cuándo se sabrán los resultados de las elecciones en Arizona?"],
}
WEIGHTS = {"en": 5, "ru": 3, "uk": 3, "es": 1}
STATUS_WEIGHTS = {"new": 3, "in_progress": 2, "answered": 2, "used": 1, "closed": 4, "spam": 1}
BATCH = 5_000


def rows(
    count: int, topics: list[Topic], reporters: list[Reporter], now: datetime, seed: int
) -> Iterator[dict[str, Any]]:
    """Yield `count` submission rows as plain dicts, reproducibly for a seed."""
    rng = random.Random(seed)  # noqa: S311 - made-up data, not secrets
    languages = list(WEIGHTS)
    statuses = list(STATUS_WEIGHTS)
    seen: set[str] = set()
    by_topic = {t.id: [r for r in reporters if t in r.topics] for t in topics}
    for number in range(count):
        kind = "question" if rng.random() < 0.4 else "tip"
        reference = new_reference(kind)
        while reference in seen:
            reference = new_reference(kind)
        seen.add(reference)
        language = rng.choices(languages, [WEIGHTS[lang] for lang in languages])[0]
        topic = rng.choice(topics) if rng.random() < 0.85 else None
        candidates = by_topic.get(topic.id, []) if topic else []
        assignee = rng.choice(candidates) if candidates and rng.random() < 0.7 else None
        status = rng.choices(statuses, [STATUS_WEIGHTS[s] for s in statuses])[0]
        created = now - timedelta(seconds=rng.randrange(365 * 24 * 3600))
        acted = created + timedelta(minutes=rng.randrange(5, 3000)) if status != "new" else None
        # About one answered or in-progress item in fifty has a reader's reply waiting.
        replied = (
            acted + timedelta(hours=rng.randrange(1, 72))
            if acted is not None and status in ("in_progress", "answered") and rng.random() < 0.02
            else None
        )
        yield {
            "reference": reference,
            "kind": kind,
            "status": status,
            "topic_id": topic.id if topic else None,
            "desk_id": topic.desk_id if topic else None,
            "assignee_id": assignee.id if assignee else None,
            "subject": "",
            "body": f"{rng.choice(TEXTS[language])} (#{number})",
            "name": "",
            "email": "",
            "consent_contact": False,
            "consent_publish": False,
            "sensitive": rng.random() < 0.05,
            "article": "",
            "author_slug": "",
            "language": language,
            "needs_translation": language == "es",
            "reason": "demo data",
            "locale": "en",
            "version": 1,
            "first_action_at": acted,
            "reader_replied_at": replied,
            "created_at": created,
            "updated_at": acted or created,
        }


def fill(session: DbSession, count: int, seed: int = 1) -> int:
    """Insert `count` synthetic submissions in batches; return how many were written."""
    topics = list(session.scalars(sa.select(Topic).where(Topic.active.is_(True))))
    reporters = list(session.scalars(sa.select(Reporter).where(Reporter.active.is_(True))))
    default_desk = session.scalar(sa.select(Desk.id).where(Desk.active.is_(True)))
    if not topics or default_desk is None:
        raise LookupError("load a newsroom first: flask --app wsgi intake load-newsroom FILE")
    written = 0
    batch: list[dict[str, Any]] = []
    for row in rows(count, topics, reporters, utcnow(), seed):
        row["desk_id"] = row["desk_id"] or default_desk
        batch.append(row)
        if len(batch) == BATCH:
            written += _insert(session, batch)
            batch = []
    if batch:
        written += _insert(session, batch)
    # A bulk load changes the tables' shape; refresh the planner's statistics, as a
    # deployment's autovacuum (PostgreSQL) or `PRAGMA optimize` (SQLite) would.
    session.execute(sa.text("ANALYZE"))
    session.commit()
    return written


def _insert(session: DbSession, batch: list[dict[str, Any]]) -> int:
    session.execute(sa.insert(Submission), batch)
    session.commit()
    return len(batch)
