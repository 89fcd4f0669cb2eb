"""The worker's grouping pass: compare each new question with the open ones and group it.

Runs in the worker, never in a web request: the model loads there once. Each question is
decided in its own short transaction; on PostgreSQL an advisory lock makes the decisions
one at a time, so two workers never put the same question in two groups or miss each
other's new groups. Imported by the worker only (it needs numpy).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from intake import similarity
from intake.models import (
    OPEN_STATUSES,
    AuditEvent,
    DbSession,
    Event,
    Question,
    QuestionGroup,
    QuestionMatch,
    QuestionSplit,
    Submission,
    utcnow,
)
from intake.workflow.questions import FALLBACK, RESTORED

log = logging.getLogger(__name__)
# How far back a new question looks for the same one.
WINDOW = timedelta(days=90)
# What staff see beside a question: its closest few, down to this far under the bar.
MATCHES_KEPT = 10
NEAR = 0.08
TEXT_MAX = 2_000
# After a fault of the model, grouping waits this long; delivery goes on meanwhile.
PAUSE_SECONDS = 60
# A pass decides questions for about this long, then lets the worker deliver mail.
PASS_SECONDS = 2.0
# Statuses whose questions are never grouped: not a question to answer.
NOT_ASKED = ("spam", "duplicate")
# Any constant: the PostgreSQL advisory lock that makes grouping decisions one at a time.
_GROUPING_LOCK = 0x1A7A6E


def question_text(body: str) -> str:
    """Return what a question is compared by: the reader's text, bounded."""
    return body.strip()[:TEXT_MAX]


@dataclass(frozen=True)
class Candidate:
    """An earlier question a new one may join."""

    row: Question
    reference: str
    question: similarity.Question

    @property
    def id(self) -> int:
        """Return the candidate's submission id."""
        return self.row.submission_id


def _candidates(
    session: DbSession, model: similarity.Engine, new_id: int, now: datetime
) -> list[Candidate]:
    """Return the questions of the last 90 days still open or in a group, compared before."""
    # The rows and the few columns needed, not whole submissions: this runs per question.
    query = (
        sa.select(Question, Submission.reference, Submission.body)
        .join(Submission, Submission.id == Question.submission_id)
        .where(
            Question.state == "done",
            Question.submission_id != new_id,
            Submission.created_at >= now - WINDOW,
            Submission.purged_at.is_(None),
            Submission.status.not_in(NOT_ASKED),
            sa.or_(Submission.status.in_(OPEN_STATUSES), Question.group_id.is_not(None)),
        )
        .order_by(Question.submission_id)
    )
    if model.name == "semantic":
        query = query.where(Question.engine == model.name, Question.vector.is_not(None))
    return [
        Candidate(row, reference, similarity.Question(question_text(body), row.language))
        for row, reference, body in session.execute(query)
    ]


def _split_from(session: DbSession, submission_id: int) -> set[int]:
    """Return the questions staff split from this one."""
    rows = session.execute(
        sa.select(QuestionSplit.low_id, QuestionSplit.high_id).where(
            sa.or_(QuestionSplit.low_id == submission_id, QuestionSplit.high_id == submission_id)
        )
    )
    return {low if high == submission_id else high for low, high in rows}


def _verdicts(
    model: similarity.Engine,
    new: similarity.Question,
    vector: similarity.Vectors | None,
    candidates: Sequence[Candidate],
) -> list[similarity.Verdict]:
    if model.name == "semantic":
        assert vector is not None  # noqa: S101 - computed before the transaction
        if not candidates:
            return []
        # One matrix product for every candidate's score.
        stored = b"".join(c.row.vector or b"" for c in candidates)
        matrix = np.frombuffer(stored, dtype=np.float32).reshape(len(candidates), -1)
        scores = matrix @ np.asarray(vector, dtype=np.float32)
        return [
            similarity.judge_score(model, new, c.question, float(score))
            for c, score in zip(candidates, scores, strict=True)
        ]
    # tfidf's weights depend on the batch: fit them on this question with its candidates.
    fitted = model.vectors([new, *(c.question for c in candidates)])
    return [
        similarity.judge_vectors(model, new, c.question, fitted[0], fitted[i + 1])
        for i, c in enumerate(candidates)
    ]


def _kept(
    model: similarity.Engine,
    new: similarity.Question,
    scored: list[tuple[Candidate, similarity.Verdict]],
) -> list[tuple[Candidate, similarity.Verdict]]:
    """Return the matches worth showing staff: the same, or close to the bar, best first."""

    def near(c: Candidate, v: similarity.Verdict) -> bool:
        kind = similarity.pairing(new.language, c.question.language)
        bar = model.thresholds.get(kind or "", 2.0)
        return v.same or v.score >= bar - NEAR

    close = [(c, v) for c, v in scored if near(c, v)]
    close.sort(key=lambda cv: cv[1].score, reverse=True)
    return close[:MATCHES_KEPT]


def _locked(session: DbSession) -> bool:
    """Take the grouping lock on PostgreSQL, without waiting: False if a worker holds it."""
    if session.get_bind().dialect.name != "postgresql":
        return True  # SQLite: the claim's write lock already makes writers take turns
    query = sa.text("SELECT pg_try_advisory_xact_lock(:key)")
    return bool(session.scalar(query, {"key": _GROUPING_LOCK}))


class Busy(Exception):
    """Another worker is deciding a question: this pass stops and delivers mail instead."""


def _decide(
    session: DbSession,
    model: similarity.Engine,
    submission_id: int,
    vector: similarity.Vectors | None,
    now: datetime,
) -> bool:
    """Compare one pending question and group it, in one transaction; False if taken."""
    claimed = session.execute(
        sa.update(Question)
        .where(Question.submission_id == submission_id, Question.state == "pending")
        .values(state="done")
    )
    if getattr(claimed, "rowcount", 0) != 1:  # another worker decided it
        session.rollback()
        return False
    if not _locked(session):
        session.rollback()  # the claim too: it stays pending for the next pass
        raise Busy
    row = session.get(Question, submission_id)
    submission = session.get(Submission, submission_id)
    assert row is not None and submission is not None  # noqa: S101 - claimed above
    if submission.purged_at is not None or submission.status in NOT_ASKED:
        session.commit()
        return True
    text = question_text(submission.body)
    row.language = similarity.language_of(text, submission.language or "")
    row.engine = model.name
    if model.name == "semantic" and vector is not None:
        row.vector = np.asarray(vector, dtype=np.float32).tobytes()
    new = similarity.Question(text, row.language)
    candidates = _candidates(session, model, submission_id, now)
    scored = list(zip(candidates, _verdicts(model, new, vector, candidates), strict=True))
    # Compared again (staff reopened it, or a crash before the commit): the new scores stand.
    session.execute(sa.delete(QuestionMatch).where(QuestionMatch.submission_id == submission_id))
    for candidate, verdict in _kept(model, new, scored):
        session.add(
            QuestionMatch(
                submission_id=submission_id,
                other_id=candidate.id,
                score=round(verdict.score, 4),
                same=verdict.same,
            )
        )
    _join(session, row, submission, scored, now)
    session.commit()
    return True


def _join(
    session: DbSession,
    row: Question,
    submission: Submission,
    scored: list[tuple[Candidate, similarity.Verdict]],
    now: datetime,
) -> None:
    """Put the question in the group it matches best, else with its closest ungrouped match.

    It joins a group only if it is the same question as at least half the group's askers
    it was compared with: a group does not drift by chaining, one near neighbour at a
    time, from "when will the war end" to "when will the power come back".
    """
    if row.group_id is not None:
        return  # staff grouped it by hand before the worker came to it
    split = _split_from(session, submission.id)
    members: dict[int, list[tuple[Candidate, similarity.Verdict]]] = {}
    for candidate, verdict in scored:
        if candidate.row.group_id is not None:
            members.setdefault(candidate.row.group_id, []).append((candidate, verdict))
    best: tuple[float, Candidate, similarity.Verdict] | None = None
    for compared in members.values():
        same = [(c, v) for c, v in compared if v.same]
        if 2 * len(same) < len(compared):
            continue
        group = compared[0][0].row.group
        if split and group is not None and any(m.submission_id in split for m in group.members):
            continue
        if same:
            closest = max(same, key=lambda cv: cv[1].score)
            if best is None or closest[1].score > best[0]:
                best = (closest[1].score, *closest)
    if best is not None:
        _, candidate, verdict = best
        row.group, row.grouped_by = candidate.row.group, "similar"
        _grouped_event(session, submission.id, candidate.reference, verdict, now)
        return
    alone = [(c, v) for c, v in scored if v.same and c.row.group_id is None and c.id not in split]
    if alone:
        candidate, verdict = max(alone, key=lambda cv: cv[1].score)
        group = QuestionGroup(created_at=now, updated_at=now)
        session.add(group)
        candidate.row.group = row.group = group
        candidate.row.grouped_by = row.grouped_by = "similar"
        _grouped_event(session, candidate.id, submission.reference, verdict, now)
        _grouped_event(session, submission.id, candidate.reference, verdict, now)


def _grouped_event(
    session: DbSession,
    submission_id: int,
    other: str,
    verdict: similarity.Verdict,
    now: datetime,
) -> None:
    session.add(
        Event(
            submission_id=submission_id,
            kind="grouped",
            actor="system",
            detail=f"the same question as {other} (score {verdict.score:.3f})",
            created_at=now,
        )
    )


class Grouper:
    """Compare pending questions in batches; load the engine when there is work."""

    def __init__(self, engine_name: str, worker: str = "") -> None:
        self.engine_name = engine_name
        self.worker = worker
        self._model: similarity.Engine | None = None
        self._resume_at = 0.0
        # Vectors computed but not yet used (a pass stops after PASS_SECONDS).
        self._vectors: dict[int, similarity.Vectors] = {}

    def model(self, session: DbSession) -> similarity.Engine:
        """Return the engine, loading it the first time; record a fallback for admins."""
        if self._model is None:
            self._model = similarity.engine(self.engine_name)
            _record_engine(session, self.engine_name, self._model, self.worker)
        return self._model

    def run_safely(self, session: DbSession) -> int:
        """Run a pass; a fault of the model is logged and pauses grouping, never delivery."""
        if time.monotonic() < self._resume_at:
            return 0
        try:
            return self.run_once(session)
        except Exception:  # the database's errors too: delivery has its own handling
            session.rollback()
            log.exception("similarity: grouping failed; trying again in %d s", PAUSE_SECONDS)
            self._resume_at = time.monotonic() + PAUSE_SECONDS
            return 0

    def run_once(self, session: DbSession, batch: int = 32, now: datetime | None = None) -> int:
        """Decide up to `batch` pending questions, oldest first; return how many."""
        now = now or utcnow()
        ids = list(
            session.scalars(
                sa.select(Question.submission_id)
                .where(Question.state == "pending")
                .order_by(Question.created_at, Question.submission_id)
                .limit(batch)
            )
        )
        session.rollback()  # end the read; each decision is its own transaction
        if not ids:
            return 0
        model = self.model(session)
        vectors = self._vectors
        for gone in set(vectors) - set(ids):  # decided by another worker meanwhile
            del vectors[gone]
        missing = [i for i in ids if i not in vectors]
        if model.name == "semantic" and missing:
            query = sa.select(Submission.id, Submission.body).where(Submission.id.in_(missing))
            texts = {i: body for i, body in session.execute(query)}
            session.rollback()
            # The vectors are computed outside any transaction: no lock waits on the model.
            # Those a pass has no time to use are kept for the next one.
            questions = [similarity.Question(question_text(texts[i]), "") for i in missing]
            vectors.update(zip(missing, model.vectors(questions), strict=True))
        done = 0
        started = time.monotonic()
        for submission_id in ids:
            if time.monotonic() - started > PASS_SECONDS:
                break  # the rest wait for the next pass: delivery gets its turn
            try:
                vector = vectors.pop(submission_id, None)
                done += _decide(session, model, submission_id, vector, now)
            except Busy:
                if vector is not None:
                    vectors[submission_id] = vector
                break
            except SQLAlchemyError:
                session.rollback()
                raise
            except Exception:
                session.rollback()
                log.exception("similarity: question %d could not be compared", submission_id)
                _failed(session, submission_id)
                done += 1
        return done


def _failed(session: DbSession, submission_id: int) -> None:
    """Set a question that made the model fail aside: it must not block those behind it."""
    session.execute(
        sa.update(Question)
        .where(Question.submission_id == submission_id, Question.state == "pending")
        .values(state="failed")
    )
    session.commit()


def _record_engine(session: DbSession, wanted: str, model: similarity.Engine, worker: str) -> None:
    """Write a fallback (or its end) to the audit log, where the admin pages read it."""
    last = session.scalar(
        sa.select(AuditEvent.action)
        .where(AuditEvent.action.in_((FALLBACK, RESTORED)))
        .order_by(AuditEvent.id.desc())
        .limit(1)
    )
    if model.name != wanted:
        detail = similarity.fallback_reason or f"{wanted} did not load"
        session.add(AuditEvent(actor="worker", action=FALLBACK, target=worker, detail=detail))
    elif last == FALLBACK:
        session.add(
            AuditEvent(actor="worker", action=RESTORED, target=worker, detail=f"{wanted} loaded")
        )
    else:
        session.rollback()
        return
    log.warning("similarity: engine %s in use (wanted %s)", model.name, wanted)
    session.commit()
