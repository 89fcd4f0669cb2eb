"""Sign-in and sign-out for staff: Argon2 passwords, then a TOTP code where required."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar, cast

import segno
from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required, login_user, logout_user

from intake import accounts
from intake.extensions import client_key, db, keyed_digest, limiter, login_manager
from intake.models import Newsroom, StaffUser
from intake.staff import bp
from intake.staff.forms import CodeForm, LoginForm, LogoutForm

log = logging.getLogger(__name__)
WRONG = "Email or password is wrong."
WRONG_CODE = "That code is not right, or it was used already. Wait for the next one."
PENDING_SECONDS = 600  # between the password and the code
SESSION_HOURS = 12  # a staff session ends this long after sign-in, however active

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


def _account_key() -> str:
    """Rate-limit password tries per account AND client: a stranger slows only themselves.

    A limit per account alone would let anyone lock a reporter out by failing on purpose.
    """
    email = accounts.normalise_email(request.form.get("email") or "")
    return f"account:{_digest(email)}:{client_key()}"


def _pending_key() -> str:
    """Rate-limit code tries per half-done sign-in and client; never from the form's fields."""
    pending = session.get("pending")
    token = str(pending.get("token", "")) if isinstance(pending, dict) else ""
    return f"pending:{_digest(token)}:{client_key()}"


def _digest(value: str) -> str:
    # Keyed, so the limiter's storage holds nothing a guessed address could be matched to.
    return keyed_digest("intake-sign-in", value)[:32]


def _login_limit_account() -> str:
    return str(current_app.config["INTAKE_LOGIN_LIMIT_ACCOUNT"])


def _login_limit_client() -> str:
    return str(current_app.config["INTAKE_LOGIN_LIMIT_CLIENT"])


def _finish(user: StaffUser, next_url: str) -> ResponseReturnValue:
    accounts.end_sign_in(db.session, user)
    session.clear()  # nothing from before sign-in carries over (session fixation)
    login_user(user)
    session["signed_in_at"] = session["seen_at"] = time.time()
    return redirect(safe_next(next_url), 303)


def _pending_user(stage: str) -> StaffUser | None:
    """Return the account half-way through signing in (password done), if still fresh.

    The browser's session must hold the account's current half-done sign-in, which the
    database keeps: a replayed cookie of an ended one (by sign-in, or five wrong codes)
    opens nothing.
    """
    pending = session.get("pending")
    if not isinstance(pending, dict) or pending.get("stage") != stage:
        return None
    if time.time() - float(pending.get("since", 0)) > PENDING_SECONDS:
        session.pop("pending", None)
        return None
    user = accounts.load(db.session, str(pending.get("token", "")))
    if user is None or not accounts.sign_in_pending(user, str(pending.get("nonce", ""))):
        session.pop("pending", None)
        return None
    return user


# Requests a page makes by itself, which do not count as the person being there.
UNATTENDED = frozenset({"staff.inbox_news"})


@bp.before_app_request
def end_old_sessions() -> ResponseReturnValue | None:
    """Sign out a staff session idle too long, or older than the absolute limit."""
    if not request.path.startswith("/staff/") or not current_user.is_authenticated:
        return None
    now = time.time()
    idle = int(current_app.config["INTAKE_STAFF_IDLE_MINUTES"]) * 60
    signed_in = float(session.get("signed_in_at", 0))
    seen = float(session.get("seen_at", 0))
    if now - signed_in > SESSION_HOURS * 3600 or now - seen > idle:
        logout_user()
        session.clear()
        flash("You were signed out after a while without activity. Sign in again, please.")
        return redirect(url_for("staff.login"))
    # The inbox's poll is the page asking, not a person: it must not keep a session alive
    # on a screen left open (a shared or seized computer).
    if request.endpoint not in UNATTENDED:
        session["seen_at"] = now
    return None


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit_client, methods=["POST"])
@limiter.limit(_login_limit_account, key_func=_account_key, methods=["POST"])
def login() -> ResponseReturnValue:
    """Show the sign-in form; with the right password, ask for the code or finish."""
    if current_user.is_authenticated:
        return redirect(url_for("staff.inbox"))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
        return render_template("staff/login.html", form=form, problem="")
    user = None
    if form.validate():
        user = accounts.authenticate(db.session, form.email.data, form.password.data)
    if user is None:
        # The address helps spot an attack on one account; the password is never logged.
        log.warning("staff sign-in failed for %r", accounts.normalise_email(form.email.data or ""))
        form.password.data = ""
        return render_template("staff/login.html", form=form, problem=WRONG), 400
    policy = current_app.config["INTAKE_REQUIRE_2FA"]
    if not user.totp_secret and not accounts.needs_second_factor(user, policy):
        return _finish(user, form.next.data)
    stage = "code" if user.totp_secret else "enrol"
    nonce = accounts.start_sign_in(db.session, user)
    session.clear()
    session["pending"] = {
        "stage": stage,
        "token": user.session_token,
        "nonce": nonce,
        "since": time.time(),
        "next": form.next.data or "",
    }
    return redirect(url_for("staff.login_code" if stage == "code" else "staff.two_factor"), 303)


@bp.route("/login/code", methods=["GET", "POST"])
@limiter.limit(_login_limit_client, methods=["POST"])
@limiter.limit(_login_limit_account, key_func=_pending_key, methods=["POST"])
def login_code() -> ResponseReturnValue:
    """Ask for the authenticator app's code after the password."""
    user = _pending_user("code")
    if user is None:
        flash("Sign in again, please: that took too long.")
        return redirect(url_for("staff.login"))
    form = CodeForm()
    if request.method == "POST":
        if form.validate() and accounts.verify_second_factor(db.session, user, form.code.data):
            return _finish(user, str(session["pending"].get("next", "")))
        log.warning("staff second factor failed for %r", user.email)  # never the code
        if accounts.wrong_code(db.session, user):
            session.pop("pending", None)
            flash(f"{accounts.CODE_TRIES} wrong codes: sign in again with your password.")
            return redirect(url_for("staff.login"), 303)
        return render_template("staff/code.html", form=form, problem=WRONG_CODE), 400
    return render_template("staff/code.html", form=form, problem="")


@bp.route("/2fa", methods=["GET", "POST"])
@limiter.limit(_login_limit_client, methods=["POST"])
@limiter.limit(_login_limit_account, key_func=_pending_key, methods=["POST"])
def two_factor() -> ResponseReturnValue:
    """Set up two-factor sign-in: scan the QR code or type the key, then give a code."""
    signing_in = _pending_user("enrol")
    user: StaffUser | None = signing_in
    if user is None and current_user.is_authenticated:
        user = current_user._get_current_object()
    if user is None:
        return redirect(url_for("staff.login"))
    if user.totp_secret:
        return render_template("staff/two_factor.html", enrolled=True, user=user)
    secret = accounts.pending_second_factor(db.session, user)
    form = CodeForm()
    problem = ""
    if request.method == "POST":
        if form.validate() and accounts.confirm_second_factor(db.session, user, form.code.data):
            log.info("two-factor sign-in turned on for %r", user.email)
            if signing_in is not None:
                return _finish(user, str(session["pending"].get("next", "")))
            flash("Two-factor sign-in is on.")
            return redirect(url_for("staff.inbox"), 303)
        log.warning("two-factor enrolment code refused for %r", user.email)
        problem = WRONG_CODE
    newsroom = db.session.get(Newsroom, 1)
    issuer = newsroom.name if newsroom else "intake"
    uri = accounts.second_factor_uri(user, secret, issuer)
    return (
        render_template(
            "staff/two_factor.html",
            enrolled=False,
            user=user,
            form=form,
            problem=problem,
            qr=segno.make(uri, error="m").svg_data_uri(scale=5),
            key=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
            required=signing_in is not None,
        ),
        400 if problem else 200,
    )


@bp.route("/logout", methods=["GET", "POST"])
@staff_only
def logout() -> ResponseReturnValue:
    """Ask to confirm (GET) or sign out (POST)."""
    form = LogoutForm()
    if request.method == "POST" and form.validate():
        # A new token: this cookie, and any copy of it, opens nothing any more.
        accounts.rotate_session(db.session, current_user._get_current_object())
        logout_user()
        session.clear()
        return redirect(url_for("staff.login"), 303)
    return render_template("staff/logout.html", form=form)
