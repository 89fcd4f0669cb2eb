"""The outbox page for editors and admins: emails by state, send again, cancel; the banner."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from intake import outbox, webhooks, workflow
from intake.extensions import db
from intake.models import OutboxEmail, OutboxHook, utcnow
from intake.staff import bp
from intake.staff.auth import staff_only
from intake.staff.context import signed_in_editor
from intake.staff.forms import OutboxActionForm
from intake.workflow import hooks


@bp.context_processor
def outbox_banner() -> dict[str, Any]:
    """Tell editors and admins, on every staff page, when email is failing or stuck."""
    if not (current_user.is_authenticated and current_user.sees_everything):
        return {}
    try:
        figures = outbox.figures(db.session, utcnow())
    except SQLAlchemyError:
        db.session.rollback()
        return {}
    alert = int(current_app.config["INTAKE_OUTBOX_ALERT_SECONDS"])
    return {"outbox_trouble": figures if figures.troubled(alert) else None}


@bp.route("/outbox")
@staff_only
def outbox_page() -> ResponseReturnValue:
    """List the outbox's emails in one state, with the actions that apply."""
    signed_in_editor()
    asked = request.args.get("state", "")
    state = asked if asked in outbox.PAGE_STATES else "failed"
    problem = "" if asked in ("", state) else "Unknown state: showing the failed emails."
    now = utcnow()
    return render_template(
        "staff/outbox.html",
        state=state,
        states=outbox.PAGE_STATES,
        counts=outbox.state_counts(db.session, now),
        emails=outbox.listing(db.session, state, now, OutboxEmail),
        hook_counts=outbox.state_counts(db.session, now, OutboxHook),
        hooks=outbox.listing(db.session, state, now, OutboxHook),
        shown_url=webhooks.shown_url,
        page_size=outbox.PAGE_SIZE,
        shown_recipient=outbox.shown_recipient,
        form=OutboxActionForm(),
        problem=problem,
        now=now,
    )


def _act(email_id: int, action: Any, done: str) -> ResponseReturnValue:
    user = signed_in_editor()
    back = request.form.get("state", "")
    target = url_for("staff.outbox_page", state=back if back in outbox.PAGE_STATES else None)
    if not OutboxActionForm().validate():
        flash("The form expired: try again.")
        return redirect(target, 303)
    try:
        action(db.session, email_id, user)
    except workflow.NotAllowed as exc:
        flash(str(exc))
    else:
        flash(done)
    return redirect(target, 303)


@bp.route("/outbox/<int:email_id>/send-again", methods=["POST"])
@staff_only
def outbox_send_again(email_id: int) -> ResponseReturnValue:
    """Send a failed email again."""
    return _act(email_id, workflow.send_email_again, "The email is due again; a worker sends it.")


@bp.route("/outbox/hooks/<int:hook_id>/send-again", methods=["POST"])
@staff_only
def outbox_hook_send_again(hook_id: int) -> ResponseReturnValue:
    """Send a failed webhook or chat alert again."""
    return _act(hook_id, hooks.send_again, "It is due again; a worker posts it.")


@bp.route("/outbox/<int:email_id>/cancel", methods=["POST"])
@staff_only
def outbox_cancel(email_id: int) -> ResponseReturnValue:
    """Cancel a waiting email."""
    return _act(email_id, workflow.cancel_email, "The email was cancelled; it will not be sent.")
