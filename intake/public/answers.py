"""'You asked, we answered': the groups of questions an editor chose to publish."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from limits import parse as parse_limit
from sqlalchemy.exc import SQLAlchemyError

from intake import logs
from intake.extensions import client_key, csrf, db, limiter
from intake.models import Question, QuestionGroup
from intake.public import bp
from intake.text import asking_sentence, whole_number
from intake.workflow import questions as use

log = logging.getLogger(__name__)
SHOWN = 50
QUOTES = 3


@dataclass(frozen=True)
class Quote:
    """A published asker's question: their words, their first name or none."""

    text: str
    language: str
    first_name: str


@dataclass(frozen=True)
class Shown:
    """One group as /answers shows it, in the page's language where written."""

    group: QuestionGroup
    headline: tuple[str, str]  # (language, text)
    answer: tuple[str, str] | None
    askers: int
    quotes: list[Quote]


def _in(texts: dict[str, str], locale: str) -> tuple[str, str]:
    """Return the text in the page's language if written, else English, with its language."""
    language = locale if locale in texts else "en"
    return language, texts.get(language, "")


def first_name(name: str) -> str:
    """Return a name's first word only: never a surname."""
    words = name.split()
    return words[0][:40] if words else ""


def _quotes(members: list[Question], locale: str) -> list[Quote]:
    """Return askers' own words, only theirs who agreed to publication, page language first."""
    agreed = [
        m
        for m in members
        if m.submission.consent_publish
        and m.submission.purged_at is None
        and m.submission.status not in use.NOT_ANSWERED
        and m.submission.body.strip()
    ]
    agreed.sort(key=lambda m: (m.language != locale, m.submission_id))
    return [
        Quote(
            asking_sentence(m.submission.body),
            m.language or m.submission.language or "",
            first_name(m.submission.name),
        )
        for m in agreed[:QUOTES]
    ]


def _shown(groups: list[QuestionGroup], locale: str) -> list[Shown]:
    return [
        Shown(
            g,
            _in(g.headline, locale),
            _in(g.answer, locale) if g.public == "published" else None,
            sum(1 for m in g.members if m.submission.status not in use.NOT_ANSWERED),
            _quotes(g.members, locale),
        )
        for g in groups
    ]


def _groups(public: str) -> list[QuestionGroup]:
    order = (
        QuestionGroup.answered_at.desc()
        if public == "published"
        else QuestionGroup.want_count.desc()
    )
    return list(
        db.session.scalars(
            sa.select(QuestionGroup)
            .where(QuestionGroup.public == public)
            .where(QuestionGroup.answered_at.is_not(None) if public == "published" else sa.true())
            .options(so.selectinload(QuestionGroup.members).joinedload(Question.submission))
            .order_by(order, QuestionGroup.id.desc())
            .limit(SHOWN)
        )
    )


@bp.route("/answers")
def answers() -> ResponseReturnValue:
    """Show the published answers and the questions we are looking into."""
    locale = str(get_locale() or "en")
    counted = whole_number(request.args.get("counted"), 9)
    return render_template(
        "public/answers.html",
        answered=_shown(_groups("published"), locale),
        looking=_shown(_groups("looking"), locale),
        counted=counted,
        locale=locale,
    )


def _counts_once(group_id: int) -> bool:
    """Say whether this click counts: a client counts once a group a day, and only so often.

    The limiter's keys are keyed hashes of the address that change daily: nothing about
    the reader is kept.
    """
    if not limiter.enabled:
        return True
    strategy = limiter.limiter
    key = client_key()
    overall = parse_limit(current_app.config["INTAKE_WANT_LIMIT"])
    once = parse_limit("1 per day")
    return (
        strategy.test(overall, "want", key)
        and strategy.hit(once, "want-group", key, str(group_id))
        and strategy.hit(overall, "want", key)
    )


@bp.route("/answers/<int:group_id>/want", methods=["POST"])
def want_to_know(group_id: int) -> ResponseReturnValue:
    """Count one more reader who wants to know; keep nothing about them."""
    if _counts_once(group_id):
        try:
            use.want_to_know(db.session, group_id)
        except SQLAlchemyError as exc:
            db.session.rollback()
            log.error("could not count a reader's interest: %s", logs.describe(exc))
    # The language rides the address: framed on another site, our cookie is not sent.
    back = url_for("public.answers", counted=group_id, lang=str(get_locale() or "en"))
    return redirect(back + f"#q{group_id}", 303)


# No CSRF token: the page is embedded on the newsroom's site, where our cookie is not sent,
# and a forged click can do no more than a real one (count once a group a day).
csrf.exempt(f"{__name__}.want_to_know")
