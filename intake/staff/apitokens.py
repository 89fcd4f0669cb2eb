"""A staff member's own API tokens: make one (shown once), see them, revoke one."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from intake import tokens
from intake.extensions import db
from intake.models import utcnow
from intake.staff import bp
from intake.staff.auth import staff_only
from intake.staff.context import user
from intake.staff.forms import RevokeTokenForm, TokenForm


def _page(form: TokenForm, new_token: str | None = None, status: int = 200) -> ResponseReturnValue:
    return (
        render_template(
            "staff/tokens.html",
            owned=tokens.owned(db.session, user()),
            form=form,
            revoke=RevokeTokenForm(),
            new_token=new_token,
        ),
        status,
    )


@bp.route("/tokens")
@staff_only
def tokens_page() -> ResponseReturnValue:
    """List the signed-in person's API tokens."""
    return _page(TokenForm())


@bp.route("/tokens", methods=["POST"])
@staff_only
def create_token() -> ResponseReturnValue:
    """Make a token and show it this once; only its hash is kept."""
    form = TokenForm()
    if not form.validate():
        return _page(form, status=400)
    try:
        token = tokens.create(db.session, user(), form.name.data or tokens.default_name(utcnow()))
    except tokens.TokenError as exc:
        form.name.errors = [str(exc)]
        return _page(form, status=400)
    # Not flashed: a flash travels in the session cookie. Shown in this answer alone.
    return _page(TokenForm(formdata=None), new_token=token)


@bp.route("/tokens/revoke", methods=["POST"])
@staff_only
def revoke_token() -> ResponseReturnValue:
    """Revoke one of one's own tokens by name."""
    form = RevokeTokenForm()
    if form.validate():
        try:
            tokens.revoke(db.session, user(), form.name.data or "", actor=user().email)
        except tokens.TokenError as exc:
            flash(str(exc))
        else:
            flash(f"Token {form.name.data!r} revoked: it no longer works.")
    return redirect(url_for("staff.tokens_page"), 303)
