"""Staff views of the queue: the inbox, its CSV export and bulk actions. Views stay thin."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import (
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask.typing import ResponseReturnValue

from intake import export as exporting
from intake import reference as references
from intake import workflow
from intake.extensions import db
from intake.models import STATUSES, Submission, utcnow
from intake.staff import bp, inbox
from intake.staff.auth import staff_only
from intake.staff.context import choices, target, targets, user, viewer
from intake.staff.forms import BulkForm
from intake.text import whole_number


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
    """Show a capped count: 1,000+ once the cap is passed."""
    return f"{inbox.COUNT_CAP:,}+" if value > inbox.COUNT_CAP else f"{value:,}"


@bp.app_template_filter("first_line")
def first_line(submission: Submission) -> str:
    """Return the subject, or the body's first line, cut to fit a table cell."""
    text = submission.subject or submission.body.strip().split("\n", 1)[0]
    return text if len(text) <= 80 else text[:79] + "…"


@bp.route("/", endpoint="inbox")
@staff_only
def inbox_page() -> ResponseReturnValue:
    """Show the filtered inbox with its counts and the dashboard."""
    view = viewer()
    filters = _filters(view)
    reference = references.normalise(filters.q) if filters.q else None
    if reference is not None and db.session.scalar(
        sa.select(Submission.id).where(Submission.reference == reference, inbox.visible(view))
    ):
        # Exactly one submission has that reference: open it rather than list it.
        return redirect(url_for("staff.submission_page", reference=reference), 303)
    lists = choices()
    bulk = BulkForm()
    bulk.action.choices = (
        [("", "Choose an action")]
        + [(f"status:{s}", f"Set status: {s}") for s in STATUSES if s not in ("new", "duplicate")]
        + [(f"assign:{value}", f"Assign to {label}") for value, label in targets(lists)]
    )
    shown = inbox.page(db.session, view, filters)
    now = utcnow()
    hours = filters.first_action_hours
    return render_template(
        "staff/inbox.html",
        filters=filters,
        viewer=view,
        page=shown,
        marks={s.id: inbox.marks(s, shown.with_files, hours, now) for s in shown.shown},
        flags=inbox.FLAGS,
        counts=inbox.status_counts(db.session, view, filters),
        dash=inbox.dashboard(db.session, view, now, hours),
        # The newest id the page knows of: the poll counts what arrives after it.
        # Of what this viewer sees (the newsroom's total is not a reporter's business).
        last_id=db.session.scalar(
            sa.select(Submission.id)
            .where(inbox.visible(view))
            .order_by(Submission.id.desc())
            .limit(1)
        )
        or 0,
        choices=lists,
        statuses=STATUSES,
        bulk=bulk,
        now=now,
    )


def _filters(view: inbox.Viewer, landing: str | None = None) -> inbox.Filters:
    """Read the URL's filters; a bare /staff/ is a reporter's queue or an editor's open items."""
    return inbox.parse_filters(
        request.args,
        landing=landing or ("open" if view.sees_everything else "mine"),
        first_action_hours=float(current_app.config["INTAKE_FIRST_ACTION_HOURS"]),
    )


@bp.route("/inbox/new")
@staff_only
def inbox_news() -> ResponseReturnValue:
    """Count what arrived since the page was opened, for the inbox's notice (JSON)."""
    view = viewer()
    last = whole_number(request.args.get("last", ""))
    if last is None:
        return {"error": "last must be the id the page was opened at"}, 400
    count = inbox.newer_than(db.session, view, _filters(view), last)
    return {"new": count, "capped": count > inbox.PAGE_SIZE}


@bp.route("/export.csv")
@staff_only
def export_csv() -> ResponseReturnValue:
    """Download the current filter as CSV (formulas defused for spreadsheets)."""
    view = viewer()
    # A bare export is every submission, as scripts have always had it; the inbox's own
    # export link names its view.
    filters = _filters(view, landing="all")
    records = exporting.rows(db.session, inbox.filtered(db.session, view, filters))
    name = f"intake-{utcnow():%Y%m%d-%H%M}.csv"
    return Response(
        stream_with_context(exporting.csv_lines(records, spreadsheet_safe=True)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.route("/bulk", methods=["POST"])
@staff_only
def bulk() -> ResponseReturnValue:
    """Change the status of, or assign, every ticked submission."""
    form = BulkForm()
    back = redirect(url_for("staff.inbox") + _back_query(), 303)
    if not form.validate():
        flash("The form expired: try again.")
        return back
    view = viewer()
    items: list[tuple[Submission, int | None]] = []
    for value in request.form.getlist("pick")[:500]:
        reference, _, version = value.partition(":")
        submission = db.session.scalar(
            sa.select(Submission).where(Submission.reference == reference, inbox.visible(view))
        )
        if submission is not None:
            items.append((submission, whole_number(version, 9)))
    kind, _, value = (form.action.data or "").partition(":")
    if not items or kind not in ("status", "assign"):
        flash("Tick at least one submission and choose an action.")
        return back
    leaving: list[str] = []
    if kind == "assign" and not view.sees_everything:
        # The submission page asks a reporter before an item leaves their desks; a bulk
        # action cannot ask, so it leaves those items where they are and says so.
        kept: list[tuple[Submission, int | None]] = []
        for item in items:
            try:
                desk, label = workflow.destination(db.session, item[0], target(value))
            except workflow.NotAllowed:
                kept.append(item)  # the workflow explains the refusal
                continue
            if desk.id in view.desk_ids:
                kept.append(item)
            else:
                leaving.append(
                    f"{item[0].reference}: {label} is outside your desks; "
                    "move it from its own page, which asks first."
                )
        items = kept
    if kind == "status":
        result = workflow.bulk_status(db.session, items, user(), value)
    else:
        result = workflow.bulk_assign(db.session, items, user(), target(value))
    flash(f"Done for {len(result.done)}.")
    for line in result.skipped + leaving:
        flash(f"Not changed: {line}")
    return back


def _back_query() -> str:
    query = request.form.get("back", "")
    return f"?{query}" if query and "\n" not in query and "\r" not in query else ""
