"""Staff views: the inbox, one submission, and the actions on them. Views stay thin."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    stream_with_context,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user

from intake import export as exporting
from intake import links, workflow
from intake import reference as references
from intake.attachments import download_name
from intake.extensions import db, limiter
from intake.language import LANGUAGES, NAMES
from intake.models import (
    STATUSES,
    Attachment,
    Desk,
    Newsroom,
    Reporter,
    StaffUser,
    Submission,
    Topic,
    utcnow,
)
from intake.staff import bp, inbox
from intake.staff.auth import staff_only
from intake.staff.forms import AssignForm, BulkForm, NoteForm, ReplyForm, StatusForm


@bp.app_template_filter("duration")
def duration(value: timedelta) -> str:
    """Say how long, roughly: 45 min, 5 h, 3 d."""
    minutes = int(value.total_seconds() // 60)
    if minutes < 60:
        return f"{max(minutes, 0)} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} h"
    return f"{minutes // (24 * 60)} d"


@bp.app_template_filter("capped")
def capped(value: int) -> str:
    """Show a capped count: 10,000+ once the cap is passed."""
    return f"{inbox.COUNT_CAP:,}+" if value > inbox.COUNT_CAP else f"{value:,}"


@bp.app_template_filter("first_line")
def first_line(submission: Submission) -> str:
    """Return the subject, or the body's first line, cut to fit a table cell."""
    text = submission.subject or submission.body.strip().split("\n", 1)[0]
    return text if len(text) <= 80 else text[:79] + "…"


def _user() -> StaffUser:
    user: StaffUser = current_user._get_current_object()
    return user


def _viewer() -> inbox.Viewer:
    return inbox.viewer(db.session, _user())


def _find(view: inbox.Viewer, reference: str) -> Submission:
    """Return a submission the viewer may see; anything else is 404, never 403."""
    canonical = references.normalise(reference)
    found = None
    if canonical:
        found = db.session.scalar(
            sa.select(Submission).where(Submission.reference == canonical, inbox.visible(view))
        )
    if found is None:
        abort(404)
    return found


def _choices() -> dict[str, list[tuple[str, str]]]:
    """Return the options of the filter and assignment lists."""
    desks = db.session.execute(
        sa.select(Desk.slug, Desk.name).where(Desk.active.is_(True)).order_by(Desk.position)
    ).all()
    topics = db.session.execute(
        sa.select(Topic.slug, Topic.label).where(Topic.active.is_(True)).order_by(Topic.position)
    ).all()
    reporters = db.session.execute(
        sa.select(Reporter.slug, Reporter.name)
        .where(Reporter.active.is_(True))
        .order_by(Reporter.name)
    ).all()
    return {
        "desks": [(s, n) for s, n in desks],
        "topics": [(s, n) for s, n in topics],
        "reporters": [(s, n) for s, n in reporters],
        "languages": [(code, NAMES[code]) for code in (*LANGUAGES, "und")],
    }


def _targets(choices: dict[str, list[tuple[str, str]]]) -> list[tuple[str, str]]:
    return [(f"reporter:{s}", n) for s, n in choices["reporters"]] + [
        (f"desk:{s}", f"{n} (desk inbox)") for s, n in choices["desks"]
    ]


def _target(value: str) -> workflow.Target:
    kind, _, slug = value.partition(":")
    return workflow.Target(kind, slug)


@bp.route("/", endpoint="inbox")
@staff_only
def inbox_page() -> ResponseReturnValue:
    """Show the filtered inbox with its counts and the dashboard."""
    view = _viewer()
    filters = inbox.parse_filters(request.args)
    reference = references.normalise(filters.q) if filters.q else None
    if reference is not None and db.session.scalar(
        sa.select(Submission.id).where(Submission.reference == reference, inbox.visible(view))
    ):
        # Exactly one submission has that reference: open it rather than list it.
        return redirect(url_for("staff.submission_page", reference=reference), 303)
    choices = _choices()
    bulk = BulkForm()
    bulk.action.choices = (
        [("", "Choose an action")]
        + [(f"status:{s}", f"Set status: {s}") for s in STATUSES if s not in ("new", "duplicate")]
        + [(f"assign:{value}", f"Assign to {label}") for value, label in _targets(choices)]
    )
    return render_template(
        "staff/inbox.html",
        filters=filters,
        page=inbox.page(db.session, view, filters),
        counts=inbox.status_counts(db.session, view, filters),
        dash=inbox.dashboard(db.session, view),
        choices=choices,
        statuses=STATUSES,
        bulk=bulk,
        now=utcnow(),
    )


@bp.route("/export.csv")
@staff_only
def export_csv() -> ResponseReturnValue:
    """Download the current filter as CSV (formulas defused for spreadsheets)."""
    view = _viewer()
    filters = inbox.parse_filters(request.args)
    records = exporting.rows(db.session, inbox.filtered(db.session, view, filters))
    name = f"intake-{utcnow():%Y%m%d-%H%M}.csv"
    return Response(
        stream_with_context(exporting.csv_lines(records, spreadsheet_safe=True)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


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
    choices = _choices()
    status_form = forms.get("status_form") or StatusForm(formdata=None)
    status_form.status.choices = list(workflow.TRANSITIONS.get(submission.status, ()))
    assign_form = forms.get("assign_form") or AssignForm(formdata=None)
    assign_form.target.choices = _targets(choices)
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
    return _render_submission(_find(_viewer(), reference))


@bp.route("/s/<reference>/files/<int:attachment_id>")
@staff_only
def attachment(reference: str, attachment_id: int) -> ResponseReturnValue:
    """Download an attachment of a submission the viewer may see; never shown inline."""
    submission = _find(_viewer(), reference)
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
    submission = _find(_viewer(), reference)
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
                    Submission.reference == (other or ""), inbox.visible(_viewer())
                )
            )
        workflow.change_status(
            db.session,
            submission,
            _user(),
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
            db.session, submission, _user(), _target(form.target.data or ""), form.seen_version()
        )

    return _act(reference, "assign_form", AssignForm(), action, "Reassigned; they are emailed.")


@bp.route("/s/<reference>/note", methods=["POST"])
@staff_only
def note(reference: str) -> ResponseReturnValue:
    """Add an internal note."""

    def action(submission: Submission, form: NoteForm) -> None:
        workflow.add_note(
            db.session, submission, _user(), form.text.data or "", form.seen_version()
        )

    return _act(reference, "note_form", NoteForm(), action, "Note added.")


def _reply_limit() -> str:
    return str(current_app.config["INTAKE_REPLY_LIMIT"])


def _staff_key() -> str:
    return f"staff:{_user().id}"


@bp.route("/s/<reference>/reply", methods=["POST"])
@staff_only
@limiter.limit(_reply_limit, key_func=_staff_key)
def reply(reference: str) -> ResponseReturnValue:
    """Reply to the reader by email."""

    def action(submission: Submission, form: ReplyForm) -> None:
        workflow.reply(
            db.session,
            submission,
            _user(),
            form.text.data or "",
            form.seen_version(),
            form.channel.data or "email",
        )

    return _act(reference, "reply_form", ReplyForm(), action, "Reply queued for sending.")


@bp.route("/bulk", methods=["POST"])
@staff_only
def bulk() -> ResponseReturnValue:
    """Change the status of, or assign, every ticked submission."""
    form = BulkForm()
    back = redirect(url_for("staff.inbox") + _back_query(), 303)
    if not form.validate():
        flash("The form expired: try again.")
        return back
    view = _viewer()
    items: list[tuple[Submission, int | None]] = []
    for value in request.form.getlist("pick")[:500]:
        reference, _, version = value.partition(":")
        submission = db.session.scalar(
            sa.select(Submission).where(Submission.reference == reference, inbox.visible(view))
        )
        if submission is not None:
            items.append((submission, int(version) if version.isdigit() else None))
    kind, _, value = (form.action.data or "").partition(":")
    if not items or kind not in ("status", "assign"):
        flash("Tick at least one submission and choose an action.")
        return back
    if kind == "status":
        result = workflow.bulk_status(db.session, items, _user(), value)
    else:
        result = workflow.bulk_assign(db.session, items, _user(), _target(value))
    flash(f"Done for {len(result.done)}.")
    for line in result.skipped:
        flash(f"Not changed: {line}")
    return back


def _back_query() -> str:
    query = request.form.get("back", "")
    return f"?{query}" if query and "\n" not in query and "\r" not in query else ""
