"""The admins' pages: staff accounts, the newsroom directory, the audit log; and the page
where a new staff member sets their password from the emailed link."""

from __future__ import annotations

import base64
import binascii
import functools
import hmac
from collections.abc import Callable
from typing import Any, TypeVar, cast
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from intake import accounts, directory, rota, workflow
from intake.extensions import db, keyed_digest, limiter
from intake.models import ROLES, AuditEvent, Newsroom, Reporter, StaffUser, utcnow
from intake.staff import bp
from intake.staff.auth import staff_only

UPLOAD_MAX = 256 * 1024  # bytes; the example newsroom is 6 KB
AUDIT_SHOWN = 100
_View = TypeVar("_View", bound=Callable[..., ResponseReturnValue])


def _admin() -> StaffUser:
    """Return the signed-in admin; anyone else gets 404, as for any page not theirs."""
    user: StaffUser = current_user._get_current_object()
    if user.role != "admin":
        abort(404)
    return user


def admin_only(view: _View) -> _View:
    """Require a signed-in admin: others signed in get 404, strangers the sign-in page."""

    @functools.wraps(view)
    def checked(*args: Any, **kwargs: Any) -> ResponseReturnValue:
        _admin()
        return view(*args, **kwargs)

    return staff_only(cast(_View, checked))


def _link_hours() -> int:
    return int(current_app.config.get("INTAKE_INVITE_HOURS", accounts.LINK_HOURS))


def _secret() -> str:
    return str(current_app.secret_key or "")


# --- Accounts ------------------------------------------------------------------------------


@bp.route("/admin/")
@admin_only
def admin_home() -> ResponseReturnValue:
    """Open the admin pages at the accounts."""
    return redirect(url_for("staff.admin_accounts"))


@bp.route("/admin/accounts")
@admin_only
def admin_accounts() -> ResponseReturnValue:
    """List the staff accounts with their actions, a form for a new one, and the audit log."""
    users = list(db.session.scalars(sa.select(StaffUser).order_by(StaffUser.email)))
    linked = {u.id: accounts.reporter_of(db.session, u) for u in users if u.role == "reporter"}
    audit = db.session.scalars(
        sa.select(AuditEvent).order_by(AuditEvent.id.desc()).limit(AUDIT_SHOWN)
    ).all()
    return render_template(
        "staff/admin/accounts.html",
        users=users,
        linked=linked,
        has_password=accounts.has_password,
        roles=ROLES,
        audit=audit,
        audit_shown=AUDIT_SHOWN,
        hours=_link_hours(),
        me=current_user.id,
    )


def _back_to_accounts() -> ResponseReturnValue:
    return redirect(url_for("staff.admin_accounts"), 303)


@bp.route("/admin/accounts/new", methods=["POST"])
@admin_only
def admin_account_new() -> ResponseReturnValue:
    """Create an account and email its owner a link to set a password."""
    admin = _admin()
    email = (request.form.get("email") or "").strip()
    role = request.form.get("role") or ""
    if not email:
        flash("Give the new account's email address.")
        return _back_to_accounts()
    try:
        user = workflow.invite_staff(db.session, email, role, admin, _secret(), _link_hours())
    except (accounts.AccountError, workflow.NotAllowed) as exc:
        flash(f"No account was created: {exc}")
    else:
        flash(
            f"Created {user.email} ({user.role}). An email with a link to set the password "
            f"(valid {_link_hours()} hours) is in the outbox."
        )
    return _back_to_accounts()


def _on_account(user_id: int, act: Callable[[StaffUser, StaffUser], str]) -> ResponseReturnValue:
    """Do one thing to an account as the signed-in admin; flash what happened or why not."""
    admin = _admin()
    user = db.session.get(StaffUser, user_id)
    if user is None:
        flash("There is no such account (any more).")
        return _back_to_accounts()
    try:
        done = act(admin, user)
    except (accounts.AccountError, workflow.NotAllowed) as exc:
        db.session.rollback()
        flash(str(exc))
    else:
        flash(done)
    return _back_to_accounts()


@bp.route("/admin/accounts/<int:user_id>/role", methods=["POST"])
@admin_only
def admin_account_role(user_id: int) -> ResponseReturnValue:
    """Give an account another role; it is signed out everywhere."""
    role = request.form.get("role") or ""

    def act(admin: StaffUser, user: StaffUser) -> str:
        accounts.change_role(db.session, user, role, actor=admin.email)
        return f"{user.email} is now {role}; their sessions are signed out."

    return _on_account(user_id, act)


@bp.route("/admin/accounts/<int:user_id>/deactivate", methods=["POST"])
@admin_only
def admin_account_deactivate(user_id: int) -> ResponseReturnValue:
    """Stop an account from signing in."""

    def act(admin: StaffUser, user: StaffUser) -> str:
        accounts.deactivate(db.session, user, actor=admin.email)
        return f"{user.email} is deactivated and signed out; its history stays."

    return _on_account(user_id, act)


@bp.route("/admin/accounts/<int:user_id>/reactivate", methods=["POST"])
@admin_only
def admin_account_reactivate(user_id: int) -> ResponseReturnValue:
    """Let a deactivated account sign in again."""

    def act(admin: StaffUser, user: StaffUser) -> str:
        accounts.reactivate(db.session, user, actor=admin.email)
        return f"{user.email} is active again."

    return _on_account(user_id, act)


@bp.route("/admin/accounts/<int:user_id>/reset-2fa", methods=["POST"])
@admin_only
def admin_account_reset_2fa(user_id: int) -> ResponseReturnValue:
    """Remove an account's two-factor key (a lost phone)."""

    def act(admin: StaffUser, user: StaffUser) -> str:
        accounts.reset_second_factor(db.session, user, actor=admin.email)
        return f"Two-factor sign-in reset for {user.email}: they set it up again at sign-in."

    return _on_account(user_id, act)


@bp.route("/admin/accounts/<int:user_id>/send-link", methods=["POST"])
@admin_only
def admin_account_send_link(user_id: int) -> ResponseReturnValue:
    """Email an account's owner a new link to set the password."""

    def act(admin: StaffUser, user: StaffUser) -> str:
        workflow.send_password_link(db.session, user, admin, _secret(), _link_hours())
        return f"A new link to set the password of {user.email} is in the outbox."

    return _on_account(user_id, act)


# --- The newsroom directory ----------------------------------------------------------------


def _newsroom_file() -> str | None:
    return current_app.config.get("INTAKE_NEWSROOM") or None


@bp.route("/admin/rota")
@admin_only
def admin_rota() -> ResponseReturnValue:
    """Show each desk's next 24 hours: who is on shift, what they read and cover, the gaps."""
    try:
        snap = directory.snapshot(db.session)
    except LookupError:
        return render_template("staff/admin/rota.html", desks=[], names={}, zones={})
    now = utcnow()
    desks = rota.rota(snap.directory, now, 1)
    week = {d.desk.slug: d.gaps for d in rota.rota(snap.directory, now, 7)}
    return render_template(
        "staff/admin/rota.html",
        desks=[(d, week[d.desk.slug]) for d in desks],
        names={r.slug: r.name for r in snap.directory.reporters},
        zones={d.desk.slug: ZoneInfo(d.desk.timezone) for d in desks},
    )


@bp.route("/admin/newsroom")
@admin_only
def admin_newsroom() -> ResponseReturnValue:
    """Show the directory as loaded, who is on shift, and what needs an admin's hand."""
    try:
        loaded: directory.Overview | None = directory.overview(db.session, utcnow())
    except LookupError:
        loaded = None
    return render_template(
        "staff/admin/newsroom.html",
        loaded=loaded,
        unlinked=accounts.unlinked_reporters(db.session),
        bad_keys=db.session.scalars(
            sa.select(Reporter)
            .where(Reporter.active.is_(True), Reporter.pgp_problem != "")
            .order_by(Reporter.position)
        ).all(),
        newsroom_file=_newsroom_file(),
        upload_kb=UPLOAD_MAX // 1024,
    )


def _stamp() -> str:
    """Identify the directory now loaded: an upload's preview is applied only onto it."""
    stamp = db.session.scalar(sa.select(Newsroom.updated_at).where(Newsroom.id == 1))
    return stamp.isoformat() if stamp else "none"


def _seal(text: str, stamp: str) -> dict[str, str]:
    """Carry an upload to the apply step in the page, encoded and signed."""
    packed = base64.urlsafe_b64encode(text.encode("utf-8")).decode("ascii")
    return {"upload": packed, "seen": stamp, "signature": _signature(packed, stamp)}


def _signature(packed: str, stamp: str) -> str:
    return keyed_digest("intake-newsroom-upload", f"{stamp}\n{packed}")


def _unseal(form: dict[str, str]) -> tuple[str, str] | None:
    """Return the upload's text and the stamp it was compared with, if the page kept them."""
    packed, stamp = form.get("upload", ""), form.get("seen", "")
    if not hmac.compare_digest(form.get("signature", ""), _signature(packed, stamp)):
        return None
    try:
        return base64.urlsafe_b64decode(packed.encode("ascii")).decode("utf-8"), stamp
    except (ValueError, binascii.Error, UnicodeError):
        return None


def _upload_page(problems: list[str], status: int = 400) -> ResponseReturnValue:
    return (
        render_template(
            "staff/admin/newsroom_upload.html",
            problems=problems,
            diff=None,
            newsroom_file=_newsroom_file(),
        ),
        status,
    )


@bp.route("/admin/newsroom/upload", methods=["POST"])
@admin_only
def admin_newsroom_upload() -> ResponseReturnValue:
    """Check an uploaded directory file; show its problems, or what applying it would change."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash("Choose a directory file (TOML) to upload.")
        return redirect(url_for("staff.admin_newsroom"), 303)
    data = upload.stream.read(UPLOAD_MAX + 1)
    if len(data) > UPLOAD_MAX:
        return _upload_page([f"The file is larger than {UPLOAD_MAX // 1024} KB."], 413)
    try:
        text = data.decode("utf-8-sig")  # an editor's byte-order mark is not TOML
    except UnicodeDecodeError:
        return _upload_page(["The file is not UTF-8 text: save it as UTF-8 and upload it again."])
    try:
        newsroom = directory.parse_newsroom(text)
    except directory.DirectoryError as exc:
        return _upload_page(exc.problems)
    return render_template(
        "staff/admin/newsroom_upload.html",
        problems=[],
        diff=directory.compare(db.session, newsroom),
        newsroom=newsroom,
        filename=upload.filename,
        sealed=_seal(text, _stamp()),
        newsroom_file=_newsroom_file(),
    )


@bp.route("/admin/newsroom/apply", methods=["POST"])
@admin_only
def admin_newsroom_apply() -> ResponseReturnValue:
    """Apply a checked upload to the tables and write it over the directory file."""
    admin = _admin()
    back = redirect(url_for("staff.admin_newsroom"), 303)
    kept = _unseal(request.form.to_dict())
    if kept is None:
        flash("The uploaded file did not come back intact: nothing was applied. Upload it again.")
        return back
    text, seen = kept
    if seen != _stamp():
        flash(
            "The directory was loaded again since you saw the differences: nothing was applied. "
            "Upload the file again to see what it would change now."
        )
        return back
    path = _newsroom_file()
    if path is None:
        flash(
            "INTAKE_NEWSROOM is not set, so there is no directory file to keep this in: nothing "
            "was applied. The file is the source of truth; set INTAKE_NEWSROOM to its path."
        )
        return back
    try:
        report = directory.replace_file(db.session, text, path, actor=admin.email)
    except directory.DirectoryError as exc:
        flash("The file is not valid: nothing was applied. " + " ".join(exc.problems))
    except directory.NotSaved as exc:
        flash(str(exc))
    else:
        flash(f"Applied and saved to {path}. {report.summary('; ')}.")
        for warning in report.warnings:
            flash(f"Warning: {warning}.")
        gaps = sum(
            len(d.gaps) for d in rota.rota(directory.snapshot(db.session).directory, utcnow(), 7)
        )
        if gaps:
            flash(f"The rota has {gaps} gap(s) in the next seven days: see Rota and gaps.")
    return back


@bp.route("/admin/newsroom/reporters/<slug>/move-items", methods=["POST"])
@admin_only
def admin_move_items(slug: str) -> ResponseReturnValue:
    """Give a deactivated reporter's open items back to their desks' inboxes."""
    admin = _admin()
    try:
        moved = workflow.move_to_desk_inboxes(db.session, slug, admin)
    except workflow.NotAllowed as exc:
        flash(str(exc))
    else:
        where = ", ".join(moved.inboxes)
        flash(f"Moved {moved.count} item(s) to the inbox of {where}; each desk is emailed.")
    return redirect(url_for("staff.admin_newsroom"), 303)


# --- Setting a password from the emailed link ----------------------------------------------


def _password_limit() -> str:
    return str(current_app.config["INTAKE_LOGIN_LIMIT_CLIENT"])


@bp.route("/password/<token>", methods=["GET", "POST"])
@limiter.limit(_password_limit, methods=["POST"])
def set_password(token: str) -> ResponseReturnValue:
    """Let the owner of a one-time link set their password, then send them to sign in."""
    hours = _link_hours()
    try:
        user = accounts.account_for_link(db.session, token, _secret(), hours)
    except accounts.LinkError as exc:
        page = render_template("staff/admin/password_link.html", problem=str(exc))
        return page, exc.status
    problem = ""
    if request.method == "POST":
        password = request.form.get("password", "")
        if password != request.form.get("password_again", ""):
            problem = "The two passwords differ: type the same one in both fields."
        else:
            try:
                accounts.use_password_link(db.session, token, _secret(), hours, password)
            except accounts.LinkError as exc:
                page = render_template("staff/admin/password_link.html", problem=str(exc))
                return page, exc.status
            except accounts.AccountError as exc:
                problem = str(exc)
            else:
                flash("Your password is set. Sign in with it now.")
                return redirect(url_for("staff.login"), 303)
    page = render_template(
        "staff/admin/password.html",
        user=user,
        token=token,
        problem=problem,
        minimum=accounts.PASSWORD_MIN,
    )
    return page, 400 if problem else 200
