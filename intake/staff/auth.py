"""Sign-in and sign-out for staff (Flask-Login sessions, Argon2 passwords)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar, cast

from flask import redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required, login_user, logout_user

from intake import accounts
from intake.extensions import db, login_manager
from intake.models import StaffUser
from intake.staff import bp
from intake.staff.forms import LoginForm, LogoutForm

log = logging.getLogger(__name__)
WRONG = "Email or password is wrong."


_View = TypeVar("_View", bound=Callable[..., ResponseReturnValue])


def staff_only(view: _View) -> _View:
    """Require a signed-in staff account (Flask-Login's login_required, typed)."""
    return cast(_View, login_required(view))


def load_user(session_token: str) -> StaffUser | None:
    """Load the signed-in account from its session token."""
    return accounts.load(db.session, session_token)


login_manager.user_loader(load_user)


def safe_next(target: str | None) -> str:
    """Return where to go after signing in: a staff page of ours, never another site."""
    if target and target.startswith("/staff/") and not target.startswith("//"):
        if "\\" not in target and "\n" not in target and "\r" not in target:
            return target
    return url_for("staff.inbox")


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    """Show the sign-in form; sign in with a right email and password."""
    if current_user.is_authenticated:
        return redirect(url_for("staff.inbox"))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
        return render_template("staff/login.html", form=form, problem="")
    if not form.validate():
        return render_template("staff/login.html", form=form, problem=WRONG), 400
    user = accounts.authenticate(db.session, form.email.data, form.password.data)
    if user is None:
        # The address helps spot an attack on one account; the password is never logged.
        log.warning("staff sign-in failed for %r", accounts.normalise_email(form.email.data))
        form.password.data = ""
        return render_template("staff/login.html", form=form, problem=WRONG), 400
    session.clear()  # nothing from before sign-in carries over (session fixation)
    login_user(user)
    return redirect(safe_next(form.next.data), 303)


@bp.route("/logout", methods=["GET", "POST"])
@staff_only
def logout() -> ResponseReturnValue:
    """Ask to confirm (GET) or sign out (POST)."""
    form = LogoutForm()
    if request.method == "POST" and form.validate():
        logout_user()
        session.clear()
        return redirect(url_for("staff.login"), 303)
    return render_template("staff/logout.html", form=form)
