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
from intake.models import Question, QuestionGroup, Submission
from intake.public import bp
from intake.text import asking_sentence, whole_number
from intake.workflow import questions as use

log = logging.getLogger(__name__)
SHOWN = 50
QUOTES = 3


@dataclass(frozen=True)
class Quote:
    """A quoted asker's question: their words, and the first name an editor gave, or none."""

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


def _quotes(members: list[Question], locale: str) -> list[Quote]:
    """Return the askers' words an editor chose to quote (and still may), page language first."""
    chosen = sorted(
        (m for m in members if m.quoted and use.quotable(m)),
        key=lambda m: (m.language != locale, m.submission_id),
    )
    return [
        Quote(asking_sentence(m.submission.body), m.language or "", m.quoted_name)
        for m in chosen[:QUOTES]
    ]


def _shown(public: str, locale: str) -> list[Shown]:
    """Return the groups shown as `public`, with their askers counted in the database."""
    order = (
        QuestionGroup.answered_at.desc()
        if public == "published"
        else QuestionGroup.want_count.desc()
    )
    askers = sa.func.count(Question.submission_id)
    rows = db.session.execute(
        sa.select(QuestionGroup, askers)
        .join(Question, Question.group_id == QuestionGroup.id)
        .join(Submission, Submission.id == Question.submission_id)
        .where(QuestionGroup.public == public, Submission.status.not_in(use.NOT_ANSWERED))
        .where(QuestionGroup.answered_at.is_not(None) if public == "published" else sa.true())
        .group_by(QuestionGroup.id)
        .order_by(order, QuestionGroup.id.desc())
        .limit(SHOWN)
    ).all()
    quoted: dict[int, list[Question]] = {group.id: [] for group, _n in rows}
    if quoted:
        for row in db.session.scalars(
            sa.select(Question)
            .where(Question.group_id.in_(quoted), Question.quoted.is_(True))
            .options(so.joinedload(Question.submission))
        ):
            quoted[row.group_id or 0].append(row)
    return [
        Shown(
            group,
            _in(group.headline, locale),
            _in(group.answer, locale) if public == "published" else None,
            n,
            _quotes(quoted[group.id], locale),
        )
        for group, n in rows
    ]


@bp.route("/answers")
def answers() -> ResponseReturnValue:
    """Show the published answers and the questions we are looking into."""
    locale = str(get_locale() or "en")
    counted = whole_number(request.args.get("counted"), 9)
    return render_template(
        "public/answers.html",
        answered=_shown("published", locale),
        looking=_shown("looking", locale),
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


@bp.route("/answers/<int(max=2147483647):group_id>/want", methods=["POST"])
def want_to_know(group_id: int) -> ResponseReturnValue:
    """Count one more reader who wants to know; keep nothing about them."""
    # The button is on our own page (framed or not): a browser says so. A click sent from
    # another site's page, on its visitors' behalf, counts nothing.
    ours = request.headers.get("Sec-Fetch-Site", "same-origin") == "same-origin"
    if ours and _counts_once(group_id):
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
