"""Staff views of one submission: the page, its files, and the actions on it. Views stay thin."""

from __future__ import annotations

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

from intake import links, workflow
from intake import reference as references
from intake.attachments import download_name
from intake.extensions import db, limiter
from intake.models import (
    Attachment,
    Newsroom,
    Submission,
    utcnow,
)
from intake.staff import bp, inbox
from intake.staff.auth import staff_only
from intake.staff.context import choices, find, target, targets, user, viewer
from intake.staff.forms import AssignForm, NoteForm, ReplyForm, StatusForm

# What the submission page's thread shows, in time order; everything is in the history.
CONVERSATION = ("reader_message", "reply", "reply_page", "note")
CHANNEL_LABELS = {
    "email": "by email (from the desk's address)",
    "followup": "on the reader's follow-up page (they read it with their passphrase)",
}


def _article_linked(article: str) -> bool:
    newsroom = db.session.get(Newsroom, 1)
    setting = str(current_app.config.get("INTAKE_ARTICLE_HOSTS") or "")
    return newsroom is not None and links.linkable(article, setting, newsroom.public_url)


def _render_submission(
    submission: Submission, status: int = 200, problem: str = "", **forms: Any
) -> ResponseReturnValue:
    lists = choices()
    status_form = forms.get("status_form") or StatusForm(formdata=None)
    status_form.status.choices = list(workflow.TRANSITIONS.get(submission.status, ()))
    assign_form = forms.get("assign_form") or AssignForm(formdata=None)
    assign_form.target.choices = targets(lists)
    reply_form = forms.get("reply_form") or ReplyForm(formdata=None)
    reply_form.channel.choices = [
        (c, CHANNEL_LABELS[c]) for c in workflow.reply_channels(submission)
    ]
    for form in (
        status_form,
        assign_form,
        forms.get("note_form") or NoteForm(formdata=None),
        reply_form,
    ):
        forms[type(form).__name__] = form
        form.version.data = str(submission.version)
    return (
        render_template(
            "staff/submission.html",
            s=submission,
            events=(events := inbox.timeline(db.session, submission)),
            conversation=[e for e in events if e.kind in CONVERSATION],
            status_form=forms["StatusForm"],
            assign_form=forms["AssignForm"],
            note_form=forms["NoteForm"],
            reply_form=forms["ReplyForm"],
            article_linked=_article_linked(submission.article),
            problem=problem,
            now=utcnow(),
        ),
        status,
    )


@bp.route("/s/<reference>")
@staff_only
def submission_page(reference: str) -> ResponseReturnValue:
    """Show one submission in full with its history and the actions."""
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


def _act(reference: str, form_key: str, form: Any, action: Any, done: str) -> ResponseReturnValue:
    """Run an action; on success go back to the page, otherwise show why, text kept."""
    submission = find(viewer(), reference)
    if not form.validate():
        return _render_submission(
            submission, 400, "The form expired: try again.", **{form_key: form}
        )
    try:
        action(submission, form)
    except workflow.Conflict as exc:
        db.session.refresh(submission)
        return _render_submission(submission, 409, str(exc), **{form_key: form})
    except workflow.NotAllowed as exc:
        return _render_submission(submission, 400, str(exc), **{form_key: form})
    flash(done)
    return redirect(url_for("staff.submission_page", reference=submission.reference), 303)


@bp.route("/s/<reference>/status", methods=["POST"])
@staff_only
def change_status(reference: str) -> ResponseReturnValue:
    """Change a submission's status."""

    def action(submission: Submission, form: StatusForm) -> None:
        duplicate_of = None
        if form.status.data == "duplicate":
            other = references.normalise(form.duplicate_of.data or "")
            duplicate_of = db.session.scalar(
                sa.select(Submission).where(
                    Submission.reference == (other or ""), inbox.visible(viewer())
                )
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
    """Reassign a submission to a reporter or a desk."""

    def action(submission: Submission, form: AssignForm) -> None:
        workflow.assign(
            db.session, submission, user(), target(form.target.data or ""), form.seen_version()
        )

    return _act(reference, "assign_form", AssignForm(), action, "Reassigned; they are emailed.")


@bp.route("/s/<reference>/note", methods=["POST"])
@staff_only
def note(reference: str) -> ResponseReturnValue:
    """Add an internal note."""

    def action(submission: Submission, form: NoteForm) -> None:
        workflow.add_note(db.session, submission, user(), form.text.data or "", form.seen_version())

    return _act(reference, "note_form", NoteForm(), action, "Note added.")


def _reply_limit() -> str:
    return str(current_app.config["INTAKE_REPLY_LIMIT"])


def _staff_key() -> str:
    return f"staff:{user().id}"


@bp.route("/s/<reference>/reply", methods=["POST"])
@staff_only
@limiter.limit(_reply_limit, key_func=_staff_key)
def reply(reference: str) -> ResponseReturnValue:
    """Reply to the reader by email."""

    def action(submission: Submission, form: ReplyForm) -> None:
        workflow.reply(
            db.session,
            submission,
            user(),
            form.text.data or "",
            form.seen_version(),
            form.channel.data or "email",
        )

    return _act(reference, "reply_form", ReplyForm(), action, "Reply queued for sending.")
