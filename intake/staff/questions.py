"""Groups of the same question: the Questions view, a group's page, answering, publishing."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from intake import reference as references
from intake.extensions import db
from intake.language import NAMES
from intake.models import (
    PUBLIC_STATES,
    Question,
    QuestionGroup,
    QuestionMatch,
    StaffUser,
    Submission,
)
from intake.staff import bp, inbox
from intake.staff.auth import staff_only
from intake.staff.context import find, signed_in_editor, user, viewer
from intake.text import asking_sentence, whole_number
from intake.workflow import questions as use
from intake.workflow.triage import Conflict, NotAllowed, reply_channels

PUBLIC_LABELS = {
    "hidden": "Not on /answers",
    "looking": "On /answers as \u201cWe\u2019re looking into it\u201d",
    "published": "On /answers with its answer",
}


def _group(group_id: int) -> QuestionGroup:
    group = db.session.get(QuestionGroup, group_id)
    if group is None:
        abort(404)
    return group


def languages(members: list[Question]) -> list[tuple[str, int]]:
    """Count a group's askers by language, most first."""
    counts = Counter(m.language or "und" for m in members)
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


@bp.app_template_filter("asking")
def asking(text: str) -> str:
    """Return the sentence of a reader's text that asks: what /answers would quote."""
    return asking_sentence(text)


@bp.app_template_global()
def similarity_notice() -> str:
    """Say why similar questions are found with tfidf, when the worker fell back to it."""
    return use.fallback_notice(db.session)


@bp.route("/questions")
@staff_only
def questions_page() -> ResponseReturnValue:
    """List the groups of the same question, largest first, with their askers' languages."""
    signed_in_editor()
    size = sa.func.count(Question.submission_id)
    # An emptied group stays listed: it may still be on /answers, to be hidden from here.
    rows = db.session.execute(
        sa.select(QuestionGroup, size)
        .outerjoin(Question, Question.group_id == QuestionGroup.id)
        .group_by(QuestionGroup.id)
        .order_by(size.desc(), QuestionGroup.id.desc())
        .limit(200)
    ).all()
    groups = [group for group, _size in rows]
    members: dict[int, list[Question]] = {g.id: [] for g in groups}
    if groups:
        for row in db.session.scalars(
            sa.select(Question)
            .where(Question.group_id.in_(members))
            .order_by(Question.submission_id)  # a group is named by its first asker
            .options(so.joinedload(Question.submission))
        ):
            members[row.group_id or 0].append(row)
    return render_template(
        "staff/questions.html",
        groups=[
            (
                g,
                members[g.id],
                languages(members[g.id]),
                use.waiting(g),
                staff_title(g, members[g.id]),
            )
            for g in groups
        ],
        names=NAMES,
        public_labels=PUBLIC_LABELS,
    )


def _render_group(
    group: QuestionGroup, problem: str = "", status: int = 200
) -> ResponseReturnValue:
    members = group.members
    return (
        render_template(
            "staff/question_group.html",
            group=group,
            members=[(m, reply_channels(m.submission), use.quotable(m)) for m in members],
            title=staff_title(group, members),
            counts=languages(members),
            waiting=use.waiting(group),
            names=NAMES,
            answer_languages=use.ANSWER_LANGUAGES,
            public_states=PUBLIC_STATES,
            public_labels=PUBLIC_LABELS,
            form=request.form if status != 200 else {},
            problem=problem,
        ),
        status,
    )


@bp.route("/questions/<int(max=2147483647):group_id>")
@staff_only
def question_group(group_id: int) -> ResponseReturnValue:
    """Show a group: its askers, the answer, where it is published."""
    signed_in_editor()
    return _render_group(_group(group_id))


def _texts(prefix: str) -> dict[str, str]:
    return {lang: request.form.get(f"{prefix}_{lang}", "") for lang in use.ANSWER_LANGUAGES}


def _act(group_id: int, act: Callable[[QuestionGroup, StaffUser], str]) -> ResponseReturnValue:
    """Run an editor's action on a group; show the page again with the problem if refused."""
    editor = signed_in_editor()
    group = _group(group_id)
    try:
        done = act(group, editor)
    except (NotAllowed, Conflict) as exc:
        db.session.rollback()
        return _render_group(_group(group_id), str(exc), 409 if isinstance(exc, Conflict) else 400)
    flash(done)
    return redirect(url_for("staff.question_group", group_id=group_id), 303)


def _version() -> int | None:
    return whole_number(request.form.get("version"), 9)


def _said(sent: use.Sent) -> str:
    if not sent.total:
        return "Answer saved. Every asker had already been sent it; /answers shows this version."
    parts = [
        f"{len(sent.emailed)} by email",
        f"{len(sent.on_page)} on their follow-up page",
    ]
    if sent.unreachable:
        parts.append(f"{len(sent.unreachable)} with no way to reach them (recorded)")
    return f"Answer sent to {sent.total} asker(s): " + ", ".join(parts) + "."


@bp.route("/questions/<int(max=2147483647):group_id>/answer", methods=["POST"])
@staff_only
def question_group_answer(group_id: int) -> ResponseReturnValue:
    """Write the group's answer and send it to every asker."""

    def act(group: QuestionGroup, editor: StaffUser) -> str:
        sent = use.answer_group(
            db.session,
            group,
            editor,
            _texts("answer"),
            request.form.get("story_url", ""),
            _version(),
        )
        return _said(sent)

    return _act(group_id, act)


@bp.route("/questions/<int(max=2147483647):group_id>/send", methods=["POST"])
@staff_only
def question_group_send(group_id: int) -> ResponseReturnValue:
    """Send the answer, as written, to the askers who joined since."""
    return _act(
        group_id,
        lambda group, editor: _said(use.send_to_new_askers(db.session, group, editor, _version())),
    )


@bp.route("/questions/<int(max=2147483647):group_id>/publish", methods=["POST"])
@staff_only
def question_group_publish(group_id: int) -> ResponseReturnValue:
    """Choose whether and how /answers shows the group."""

    def act(group: QuestionGroup, editor: StaffUser) -> str:
        public = request.form.get("public", "")
        use.publish(db.session, group, editor, public, _texts("headline"), _version())
        return PUBLIC_LABELS.get(public, public) + "."

    return _act(group_id, act)


@bp.route("/questions/<int(max=2147483647):group_id>/quote", methods=["POST"])
@staff_only
def question_group_quote(group_id: int) -> ResponseReturnValue:
    """Quote an asker's question on /answers, under a first name the editor writes, or stop."""

    def act(group: QuestionGroup, editor: StaffUser) -> str:
        reference = references.normalise(request.form.get("reference", "")) or ""
        row = next((m for m in group.members if m.submission.reference == reference), None)
        if row is None:
            raise NotAllowed("That question is not in this group.")
        quoted = request.form.get("quoted") == "1"
        use.set_quoted(db.session, row, editor, quoted, request.form.get("name", "")[:200])
        return f"{reference} is {'quoted' if quoted else 'no longer quoted'} on /answers."

    return _act(group_id, act)


@bp.route("/questions/<int(max=2147483647):group_id>/add", methods=["POST"])
@staff_only
def question_group_add(group_id: int) -> ResponseReturnValue:
    """Put a question, by its reference, in this group."""

    def act(group: QuestionGroup, editor: StaffUser) -> str:
        submission = _question(request.form.get("reference", ""))
        use.add_to_group(db.session, submission, editor, group=group)
        return f"{submission.reference} is now in this group."

    return _act(group_id, act)


def _question(reference: str) -> Submission:
    """Return a question the viewer may see, by reference; NotAllowed if there is none."""
    canonical = references.normalise(reference)
    found = (
        db.session.scalar(
            sa.select(Submission).where(Submission.reference == canonical, inbox.visible(viewer()))
        )
        if canonical
        else None
    )
    if found is None:
        raise NotAllowed(f"No question {reference.strip()[:32]!r} that you can see.")
    if found.kind != "question":
        raise NotAllowed(f"{found.reference} is a tip: only questions are grouped.")
    return found


def _back(submission: Submission) -> ResponseReturnValue:
    return redirect(
        url_for("staff.submission_page", reference=submission.reference) + "#similar-h", 303
    )


@bp.route("/s/<reference>/group", methods=["POST"])
@staff_only
def group_question(reference: str) -> ResponseReturnValue:
    """Group a question with another one the viewer names (joining its group)."""
    submission = find(viewer(), reference)
    try:
        like = _question(request.form.get("like", ""))
        group = use.add_to_group(db.session, submission, user(), like=like)
    except (NotAllowed, Conflict) as exc:
        db.session.rollback()
        flash(str(exc), "problem")
        return _back(submission)
    flash(f"{submission.reference} is in group Q{group.id} with {like.reference}.")
    return _back(submission)


@bp.route("/s/<reference>/ungroup", methods=["POST"])
@staff_only
def ungroup_question(reference: str) -> ResponseReturnValue:
    """Take a question out of its group; it is never grouped with those questions again."""
    submission = find(viewer(), reference)
    try:
        use.remove_from_group(db.session, submission, user())
    except (NotAllowed, Conflict) as exc:
        flash(str(exc), "problem")
        return _back(submission)
    flash(f"{submission.reference} was taken out of its group; it will not be put back with them.")
    return _back(submission)


@dataclass(frozen=True)
class Similar:
    """A question like this one, as the submission page lists it."""

    submission: Submission
    language: str
    score: float | None
    same: bool
    in_group: bool


def similar(submission: Submission, view: inbox.Viewer) -> tuple[Question | None, list[Similar]]:
    """Return the question's row and its similar questions the viewer may see, best first."""
    row = db.session.get(Question, submission.id)
    if row is None:
        return None, []
    scores: dict[int, tuple[float, bool]] = {}
    for match in db.session.scalars(
        sa.select(QuestionMatch).where(
            sa.or_(
                QuestionMatch.submission_id == submission.id,
                QuestionMatch.other_id == submission.id,
            )
        )
    ):
        other = match.other_id if match.submission_id == submission.id else match.submission_id
        scores[other] = (match.score, match.same)
    grouped = {m.submission_id for m in row.group.members} if row.group else set()
    ids = (set(scores) | grouped) - {submission.id}
    if not ids:
        return row, []
    found = db.session.execute(
        sa.select(Submission, Question.language)
        .join(Question, Question.submission_id == Submission.id)
        .where(Submission.id.in_(ids), inbox.visible(view))
    )
    items = [
        Similar(
            sub,
            language or sub.language or "und",
            scores[sub.id][0] if sub.id in scores else None,
            scores[sub.id][1] if sub.id in scores else False,
            sub.id in grouped,
        )
        for sub, language in found
    ]
    items.sort(key=lambda s: (not s.in_group, -(s.score or 0.0), s.submission.id))
    return row, items


def staff_title(group: QuestionGroup, members: list[Question]) -> str:
    """Name a group for staff: its published question in English, else its first asker's
    (worked out each time, so a purged question's words go with it)."""
    if group.headline.get("en"):
        return group.headline["en"]
    for member in members:
        if member.submission.purged_at is None and member.submission.body.strip():
            return asking_sentence(member.submission.body)
    return f"Group Q{group.id}"
