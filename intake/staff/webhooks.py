"""Admins' page of webhook endpoints: register one (its secret shown once), see, remove."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import current_app, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from intake import webhooks
from intake.extensions import db
from intake.models import HOOK_EVENTS, OutboxHook, utcnow
from intake.staff import bp
from intake.staff.admin import admin_only
from intake.staff.context import user
from intake.staff.forms import RemoveWebhookForm, WebhookForm
from intake.workflow import hooks


def _recent() -> dict[tuple[int, str], int]:
    """Count each endpoint's deliveries of the last 24 hours by state."""
    since = utcnow() - timedelta(hours=24)
    rows = db.session.execute(
        sa.select(OutboxHook.endpoint_id, OutboxHook.state, sa.func.count())
        .where(OutboxHook.kind == "webhook", OutboxHook.created_at > since)
        .group_by(OutboxHook.endpoint_id, OutboxHook.state)
    )
    return {(endpoint_id, state): n for endpoint_id, state, n in rows if endpoint_id is not None}


def _page(form: WebhookForm, secret: str | None = None, status: int = 200) -> ResponseReturnValue:
    return (
        render_template(
            "staff/admin/webhooks.html",
            endpoints=hooks.endpoints(db.session),
            recent=_recent(),
            form=form,
            remove=RemoveWebhookForm(),
            events=HOOK_EVENTS,
            secret=secret,
            shown_url=webhooks.shown_url,
        ),
        status,
    )


@bp.route("/admin/webhooks")
@admin_only
def admin_webhooks() -> ResponseReturnValue:
    """List the webhook endpoints and what was delivered to each."""
    return _page(WebhookForm(formdata=None))


@bp.route("/admin/webhooks", methods=["POST"])
@admin_only
def admin_webhook_add() -> ResponseReturnValue:
    """Register an endpoint; show its signing secret this once."""
    form = WebhookForm()
    if not form.validate():
        return _page(form, status=400)
    try:
        endpoint, secret = hooks.add_endpoint(
            db.session,
            (form.url.data or "").strip(),
            form.events.data or [],
            with_text=bool(form.with_text.data),
            actor=user().email,
            allow_private=bool(current_app.config["INTAKE_WEBHOOK_ALLOW_PRIVATE"]),
        )
    except hooks.EndpointError as exc:
        form.url.errors = [str(exc)]
        return _page(form, status=400)
    flash(f"Webhook {endpoint.id} registered.")
    # Not flashed: a flash travels in the session cookie. Shown in this answer alone.
    return _page(WebhookForm(formdata=None), secret=secret)


@bp.route("/admin/webhooks/<int:endpoint_id>/remove", methods=["POST"])
@admin_only
def admin_webhook_remove(endpoint_id: int) -> ResponseReturnValue:
    """Remove an endpoint; what still waits for it is cancelled."""
    if RemoveWebhookForm().validate():
        try:
            cancelled = hooks.remove_endpoint(db.session, endpoint_id, user().email)
        except hooks.EndpointError as exc:
            flash(str(exc))
        else:
            flash(f"Webhook {endpoint_id} removed; {cancelled} waiting delivery(ies) cancelled.")
    else:
        flash("The form expired: try again.")
    return redirect(url_for("staff.admin_webhooks"), 303)
