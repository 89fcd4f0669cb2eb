"""The desks' canned replies, kept by editors and admins: list, add, edit, (de)activate."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from wtforms.fields import SelectChoice

from intake import workflow
from intake.extensions import db
from intake.language import NAMES
from intake.models import CannedReply, Desk
from intake.staff import bp
from intake.staff.auth import staff_only
from intake.staff.context import signed_in_editor
from intake.staff.forms import CannedActiveForm, CannedForm


def _desks() -> list[Desk]:
    return list(
        db.session.scalars(sa.select(Desk).where(Desk.active.is_(True)).order_by(Desk.position))
    )


def _canned(canned_id: int) -> CannedReply:
    canned = db.session.get(CannedReply, canned_id)
    if canned is None:
        abort(404)
    return canned


def _texts(form: CannedForm) -> dict[str, str]:
    return {lang: getattr(form, f"text_{lang}").data or "" for lang in workflow.CANNED_LANGUAGES}


def _back(desk: Desk) -> ResponseReturnValue:
    return redirect(url_for("staff.canned_page") + f"#desk-{desk.slug}", 303)


@bp.route("/canned")
@staff_only
def canned_page() -> ResponseReturnValue:
    """List each desk's canned replies, active first, with the actions that apply."""
    signed_in_editor()
    desks = _desks()
    replies = db.session.scalars(
        sa.select(CannedReply).order_by(
            CannedReply.active.desc(), CannedReply.title, CannedReply.id
        )
    ).all()
    return render_template(
        "staff/canned.html",
        desks=[(d, [c for c in replies if c.desk_id == d.id]) for d in desks],
        names=NAMES,
        languages=workflow.CANNED_LANGUAGES,
        form=CannedActiveForm(),
    )


def _render_form(
    form: CannedForm, canned: CannedReply | None, problem: str = "", status: int = 200
) -> ResponseReturnValue:
    form.desk.choices = [SelectChoice(d.slug, d.name) for d in _desks()]
    return (
        render_template("staff/canned_form.html", form=form, canned=canned, problem=problem),
        status,
    )


@bp.route("/canned/new", methods=["GET", "POST"])
@staff_only
def canned_new() -> ResponseReturnValue:
    """Add a canned reply to a desk."""
    editor = signed_in_editor()
    if request.method == "GET":
        return _render_form(CannedForm(formdata=None, desk=request.args.get("desk", "")), None)
    form = CannedForm()
    if not form.validate():
        return _render_form(form, None, "The form expired: try again.", 400)
    desk = db.session.scalar(
        sa.select(Desk).where(Desk.slug == (form.desk.data or ""), Desk.active.is_(True))
    )
    if desk is None:
        return _render_form(form, None, "Choose a desk.", 400)
    try:
        canned = workflow.create_canned(
            db.session, editor, desk, form.title.data or "", _texts(form)
        )
    except workflow.NotAllowed as exc:
        return _render_form(form, None, str(exc), 400)
    flash(f"Canned reply “{canned.title}” added to {desk.name}.")
    return _back(desk)


@bp.route("/canned/<int:canned_id>", methods=["GET", "POST"])
@staff_only
def canned_edit(canned_id: int) -> ResponseReturnValue:
    """Change a canned reply's title and texts (its desk stays)."""
    editor = signed_in_editor()
    canned = _canned(canned_id)
    if request.method == "GET":
        values = {f"text_{lang}": text for lang, text in canned.texts.items()}
        form = CannedForm(formdata=None, desk=canned.desk.slug, title=canned.title, **values)
        return _render_form(form, canned)
    form = CannedForm()
    if not form.validate():
        return _render_form(form, canned, "The form expired: try again.", 400)
    try:
        changed = workflow.update_canned(
            db.session, editor, canned, form.title.data or "", _texts(form)
        )
    except workflow.NotAllowed as exc:
        return _render_form(form, canned, str(exc), 400)
    flash(f"Canned reply “{canned.title}” saved." if changed else "Nothing changed.")
    return _back(canned.desk)


def _switch(
    canned_id: int, active: bool, done: Callable[[CannedReply], str]
) -> ResponseReturnValue:
    editor = signed_in_editor()
    canned = _canned(canned_id)
    if not CannedActiveForm().validate():
        flash("The form expired: try again.")
        return _back(canned.desk)
    try:
        workflow.set_canned_active(db.session, editor, canned, active)
    except workflow.NotAllowed as exc:
        flash(str(exc))
    else:
        flash(done(canned))
    return _back(canned.desk)


@bp.route("/canned/<int:canned_id>/deactivate", methods=["POST"])
@staff_only
def canned_deactivate(canned_id: int) -> ResponseReturnValue:
    """Take a canned reply out of the reply form (it is kept, and can come back)."""
    return _switch(canned_id, False, lambda c: f"“{c.title}” is no longer offered.")


@bp.route("/canned/<int:canned_id>/reactivate", methods=["POST"])
@staff_only
def canned_reactivate(canned_id: int) -> ResponseReturnValue:
    """Offer a deactivated canned reply again."""
    return _switch(canned_id, True, lambda c: f"“{c.title}” is offered again.")
