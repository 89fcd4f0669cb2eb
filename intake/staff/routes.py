"""Staff views of one submission: the page, its files, and the actions on it. Views stay thin."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import (
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    send_file,
    url_for,
)
from flask.typing import ResponseReturnValue
from wtforms.fields import SelectChoice

from intake import links, workflow
from intake.attachments import download_name
from intake.extensions import db, limiter
from intake.language import LANGUAGES, NAMES
from intake.models import (
    Attachment,
    Event,
    Newsroom,
    Submission,
    utcnow,
)
from intake.staff import bp, inbox, questions
from intake.staff.auth import staff_only
from intake.staff.context import (
    assign_choices,
    current_target,
    duplicates,
    find,
    target,
    user,
    viewer,
)
from intake.staff.forms import AssignForm, NoteForm, ReplyForm, StatusForm
from intake.text import whole_number

# What the submission page's thread shows, in time order; everything is in the history.
CONVERSATION = ("reader_message", "reply", "reply_page", "note")
CHANNEL_LABELS = {
    "email": "by email (from the desk's address)",
    "followup": "on the reader's follow-up page (they read it with their passphrase)",
}


class AskFirst(Exception):
    """A reporter's reassignment would take the submission out of their desks: ask first."""

    def __init__(self, desk: str, whom: str) -> None:
        self.desk, self.whom = desk, whom
        super().__init__(desk)


def _article_linked(article: str) -> bool:
    newsroom = db.session.get(Newsroom, 1)
    setting = str(current_app.config.get("INTAKE_ARTICLE_HOSTS") or "")
    return newsroom is not None and links.linkable(article, setting, newsroom.public_url)


def _readers(submission: Submission, dups: list[Submission]) -> list[tuple[str, Submission]]:
    """Return whom the reply form can write to: this reader, then each duplicate's.

    A duplicate's value is "<reference>:<version>", so that a reply to it is refused if it
    changed after the page was shown.
    """
    own = [("", submission)] if workflow.reply_channels(submission) else []
    return own + [(f"{d.reference}:{d.version}", d) for d in dups if workflow.reply_channels(d)]


def _locale(submission: Submission) -> tuple[str, str]:
    """Return the reader's language code and its English name."""
    code = submission.locale if submission.locale in LANGUAGES else "en"
    return code, NAMES[code]


def _reply_choices(form: ReplyForm, submission: Submission, dups: list[Submission]) -> None:
    readers = _readers(submission, dups)
    form.to.choices = [
        SelectChoice(
            value,
            "this reader" if s is submission else f"the reader of {s.reference} (a duplicate)",
            render_kw={"data-locale": _locale(s)[0], "data-locale-name": _locale(s)[1]},
        )
        for value, s in readers
    ]
    usable = {c for _, s in readers for c in workflow.reply_channels(s)}
    form.channel.choices = [
        SelectChoice(c, label) for c, label in CHANNEL_LABELS.items() if c in usable
    ]
    form.canned.choices = [SelectChoice("", "None: write it yourself")] + [
        SelectChoice(
            str(c.id),
            c.title,
            render_kw={
                f"data-text-{lang}": c.texts[lang]
                for lang in workflow.CANNED_LANGUAGES
                if lang in c.texts
            },
        )
        for c in workflow.canned_replies(db.session, submission.desk_id)
    ]


def _threads(dups: list[Submission]) -> dict[int, list[Event]]:
    """Return each duplicate's conversation events, in one query."""
    threads: dict[int, list[Event]] = {d.id: [] for d in dups}
    if dups:
        for event in db.session.scalars(
            sa.select(Event)
            .where(Event.submission_id.in_(threads), Event.kind.in_(CONVERSATION))
            .order_by(Event.id)
        ):
            threads[event.submission_id].append(event)
    return threads


def _render_submission(
    submission: Submission,
    status: int = 200,
    problem: str = "",
    *,
    confirm: AskFirst | None = None,
    notice: str = "",
    **forms: Any,
) -> ResponseReturnValue:
    view, now = viewer(), utcnow()
    dups = duplicates(view, submission)
    status_form = forms.get("status_form") or StatusForm(formdata=None)
    status_form.status.choices = list(workflow.TRANSITIONS.get(submission.status, ()))
    assign_form = forms.get("assign_form") or AssignForm(
        formdata=None, target=current_target(submission)
    )
    assign_form.target.choices = assign_choices(view, submission, now)
    reply_form = forms.get("reply_form") or ReplyForm(formdata=None)
    _reply_choices(reply_form, submission, dups)
    for form in (
        status_form,
        assign_form,
        forms.get("note_form") or NoteForm(formdata=None),
        reply_form,
    ):
        forms[type(form).__name__] = form
        form.version.data = str(submission.version)
    threads = _threads(dups)
    question_row, similar_items = questions.similar(submission, view)
    return (
        render_template(
            "staff/submission.html",
            s=submission,
            events=(events := inbox.timeline(db.session, submission)),
            conversation=[e for e in events if e.kind in CONVERSATION],
            duplicates=[(d, threads[d.id], bool(workflow.reply_channels(d))) for d in dups],
            reader_locale=_locale(submission),
            status_form=forms["StatusForm"],
            assign_form=forms["AssignForm"],
            note_form=forms["NoteForm"],
            reply_form=forms["ReplyForm"],
            article_linked=_article_linked(submission.article),
            question_row=question_row,
            similar=similar_items,
            problem=problem,
            confirm=confirm,
            notice=notice,
            now=now,
        ),
        status,
    )


@bp.route("/s/<reference>")
@staff_only
def submission_page(reference: str) -> ResponseReturnValue:
    """Show one submission in full with its history, its duplicates and the actions."""
    return _render_submission(find(viewer(), reference))


@bp.route("/s/<reference>/files/<int:attachment_id>")
@staff_only
def attachment(reference: str, attachment_id: int) -> ResponseReturnValue:
    """Download an attachment of a submission the viewer may see; never shown inline."""
    submission = find(viewer(), reference)
    item = db.session.scalar(
        sa.select(Attachment).where(
            Attachment.id == attachment_id, Attachment.submission_id == submission.id
        )
    )
    path = Path(current_app.config["INTAKE_UPLOADS"]) / item.stored_name if item else None
    if item is None or path is None or not path.is_file():
        abort(404)
    response = send_file(
        path,
        mimetype=item.media_type,
        as_attachment=True,
        download_name=download_name(item.original_name, item.media_type),
        max_age=0,
    )
    # If a browser ever renders it anyway, it runs nothing and loads nothing.
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def _act(
    reference: str,
    form_key: str,
    form: Any,
    action: Callable[[Submission, Any], str | None],
    done: str,
) -> ResponseReturnValue:
    """Run an action; on success go back to the page, otherwise show why, text kept.

    An action may return what to say instead of `done`. When the viewer can no longer see
    the submission (a reporter moved it off their desks), they go to the inbox instead.
    """
    view = viewer()
    submission = find(view, reference)
    if not form.validate():
        return _render_submission(
            submission, 400, "The form expired: try again.", **{form_key: form}
        )
    try:
        said = action(submission, form)
    except AskFirst as ask:
        return _render_submission(submission, confirm=ask, **{form_key: form})
    except workflow.Conflict as exc:
        db.session.refresh(submission)
        return _render_submission(submission, 409, str(exc), **{form_key: form})
    except workflow.NotAllowed as exc:
        return _render_submission(submission, 400, str(exc), **{form_key: form})
    flash(said or done)
    still_seen = sa.select(Submission.id).where(Submission.id == submission.id, inbox.visible(view))
    if db.session.scalar(still_seen) is None:
        # Its page would now be a 404 for this viewer: say where it went instead.
        desk = submission.desk.name if submission.desk else "another desk"
        flash(f"{submission.reference} moved to {desk}; it is no longer in your desks.")
        return redirect(url_for("staff.inbox"), 303)
    return redirect(url_for("staff.submission_page", reference=submission.reference), 303)


@bp.route("/s/<reference>/status", methods=["POST"])
@staff_only
def change_status(reference: str) -> ResponseReturnValue:
    """Change a submission's status."""

    def action(submission: Submission, form: StatusForm) -> None:
        duplicate_of = None
        if form.status.data == "duplicate":
            duplicate_of = inbox.seen_by_reference(
                db.session, viewer(), form.duplicate_of.data or ""
            )
        workflow.change_status(
            db.session,
            submission,
            user(),
            form.status.data or "",
            form.seen_version(),
            duplicate_of,
        )

    return _act(reference, "status_form", StatusForm(), action, "Status changed.")


@bp.route("/s/<reference>/assign", methods=["POST"])
@staff_only
def assign(reference: str) -> ResponseReturnValue:
    """Reassign a submission to a reporter or a desk; a reporter confirms moving it away."""

    def action(submission: Submission, form: AssignForm) -> None:
        chosen = target(form.target.data or "")
        view = viewer()
        if not view.sees_everything and form.confirm.data != "1":
            # Checked first, so that the confirmation carries a version the reporter saw.
            workflow.check_version(db.session, submission, form.seen_version())
            desk, whom = workflow.destination(db.session, submission, chosen)
            if desk.id not in view.desk_ids:
                raise AskFirst(desk.name, whom)
        workflow.assign(db.session, submission, user(), chosen, form.seen_version())

    return _act(reference, "assign_form", AssignForm(), action, "Reassigned; they are emailed.")


@bp.route("/s/<reference>/note", methods=["POST"])
@staff_only
def note(reference: str) -> ResponseReturnValue:
    """Add an internal note."""

    def action(submission: Submission, form: NoteForm) -> None:
        workflow.add_note(db.session, submission, user(), form.text.data or "", form.seen_version())

    return _act(reference, "note_form", NoteForm(), action, "Note added.")


# Replies by the page and by the API count against one allowance a person.
REPLY_SCOPE = "staff-reply"


def reply_limit() -> str:
    """Return how many replies a person may send (INTAKE_REPLY_LIMIT)."""
    return str(current_app.config["INTAKE_REPLY_LIMIT"])


def _staff_key() -> str:
    return f"staff:{user().id}"


def _addressed(submission: Submission, to: str, seen: int | None) -> tuple[Submission, int | None]:
    """Return the submission whose reader the form writes to, and the version it showed."""
    if not to:
        return submission, seen
    reference, _, version = to.partition(":")
    for dup in duplicates(viewer(), submission):
        seen_version = whole_number(version, 9)
        if dup.reference == reference and seen_version is not None:
            return dup, seen_version
    raise workflow.NotAllowed(f"{reference} is no longer a duplicate of this one: choose again.")


@bp.route("/s/<reference>/reply", methods=["POST"])
@staff_only
@limiter.shared_limit(reply_limit, scope=REPLY_SCOPE, key_func=_staff_key)
def reply(reference: str) -> ResponseReturnValue:
    """Reply to the reader, or to the reader of one of its duplicates."""

    def action(submission: Submission, form: ReplyForm) -> str | None:
        reader, version = _addressed(submission, form.to.data or "", form.seen_version())
        workflow.reply(
            db.session,
            reader,
            user(),
            form.text.data or "",
            version,
            form.channel.data or "email",
            canned=workflow.usable_canned(db.session, submission, form.used_canned.data or ""),
            via=None if reader is submission else submission,
        )
        if reader is submission:
            return None
        return f"Reply to the reader of {reader.reference} queued for sending."

    return _act(reference, "reply_form", ReplyForm(), action, "Reply queued for sending.")


@bp.route("/s/<reference>/reply/canned", methods=["POST"])
@staff_only
def use_canned(reference: str) -> ResponseReturnValue:
    """Fill the reply box with a canned reply in the reader's language (no script needed)."""
    submission = find(viewer(), reference)
    form = ReplyForm()
    if not form.validate():
        return _render_submission(submission, 400, "The form expired: try again.", reply_form=form)
    canned = workflow.usable_canned(db.session, submission, form.canned.data or "")
    if canned is None:
        return _render_submission(
            submission, 400, "Choose one of the desk's canned replies first.", reply_form=form
        )
    try:
        reader, _seen = _addressed(submission, form.to.data or "", None)
    except workflow.NotAllowed as exc:
        return _render_submission(submission, 400, str(exc), reply_form=form)
    wanted, wanted_name = _locale(reader)
    used, form.text.data = workflow.canned_text(canned, wanted)
    form.used_canned.data = str(canned.id)
    if used == wanted:
        notice = f"“{canned.title}” is in the box in {wanted_name}, the reader's language."
    else:
        notice = (
            f"“{canned.title}” has no {wanted_name} text (the reader's language): "
            f"the {NAMES[used]} one is in the box."
        )
    return _render_submission(submission, notice=notice, reply_form=form)
