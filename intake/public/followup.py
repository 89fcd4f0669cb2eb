"""The anonymous follow-up page: a reader with their reference and passphrase reads the
replies meant for them and writes again. Nothing here says whether a reference exists."""

from __future__ import annotations

import hmac
import time
from pathlib import Path

import sqlalchemy as sa
from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy.exc import SQLAlchemyError

from intake import followup, workflow
from intake import reference as references
from intake.attachments import AttachmentError, Incoming, Limits
from intake.extensions import db, keyed_digest, limiter
from intake.models import Event, Submission
from intake.public import bp
from intake.public.forms import FollowupLeave, FollowupMessage, FollowupSignIn

IDLE_SECONDS = 30 * 60
SESSION_KEY = "followup"


def _limit() -> str:
    return str(current_app.config["INTAKE_FOLLOWUP_LIMIT"])


def _reference_key() -> str:
    """Rate-limit tries per reference (keyed: the limiter's storage holds no reference)."""
    typed = references.normalise(request.form.get("reference", "")) or ""
    return "followup:" + keyed_digest("intake-followup", typed)[:32]


def _open_submission() -> Submission | None:
    """Return the submission this browser opened, if it has not been idle too long."""
    opened = session.get(SESSION_KEY)
    if not isinstance(opened, dict):
        return None
    if time.time() - float(opened.get("seen", 0)) > IDLE_SECONDS:
        session.pop(SESSION_KEY, None)
        return None
    submission = db.session.scalar(
        sa.select(Submission).where(Submission.reference == str(opened.get("reference", "")))
    )
    current = submission.followup_session if submission is not None else None
    if (
        submission is None
        or submission.followup_hash is None
        or not current
        or not hmac.compare_digest(current, str(opened.get("id", "")))
    ):
        session.pop(SESSION_KEY, None)
        return None
    opened["seen"] = time.time()
    session[SESSION_KEY] = opened
    return submission


@bp.route("/followup", methods=["GET", "POST"])
@limiter.limit(_limit, methods=["POST"])
@limiter.limit(_limit, key_func=_reference_key, methods=["POST"], scope="followup-reference")
def followup_page() -> ResponseReturnValue:
    """Sign in with reference and passphrase, or show the opened conversation."""
    submission = _open_submission() if request.method == "GET" else None
    if submission is not None:
        return _conversation(submission, FollowupMessage(formdata=None))
    form = FollowupSignIn()
    if request.method == "GET" or not form.validate():
        return render_template("public/followup_sign_in.html", form=form, problem=""), (
            200 if request.method == "GET" else 400
        )
    canonical = references.normalise(form.reference.data or "") or ""
    found = db.session.scalar(sa.select(Submission).where(Submission.reference == canonical))
    # One Argon2 verification either way: an unknown reference answers like a wrong phrase.
    stored = found.followup_hash if found is not None else None
    if not followup.matches(stored, form.passphrase.data or "") or found is None:
        problem = _("The reference or the passphrase is not right. Check both and try again.")
        form.passphrase.data = ""  # never written back into a page
        return render_template("public/followup_sign_in.html", form=form, problem=problem), 400
    session.pop(SESSION_KEY, None)
    session[SESSION_KEY] = {
        "reference": found.reference,
        "id": workflow.open_followup(db.session, found),
        "seen": time.time(),
    }
    return redirect(url_for("public.followup_page"), 303)


def _conversation(
    submission: Submission, form: FollowupMessage, status: int = 200
) -> ResponseReturnValue:
    """Render the reader's conversation: what they sent and the replies meant for them."""
    events = db.session.scalars(
        sa.select(Event)
        .where(Event.submission_id == submission.id, Event.kind.in_(workflow.READER_SEES))
        .order_by(Event.id)
    )
    return (
        render_template(
            "public/followup.html",
            s=submission,
            messages=list(events),
            form=form,
            leave=FollowupLeave(),
        ),
        status,
    )


@bp.route("/followup/message", methods=["POST"])
@limiter.limit(_limit, methods=["POST"])
def followup_write() -> ResponseReturnValue:
    """Take what the reader wrote on their follow-up page."""
    submission = _open_submission()
    if submission is None:
        flash(_("Open your conversation again with your reference and passphrase."))
        return redirect(url_for("public.followup_page"), 303)
    form = FollowupMessage()
    if not form.validate():
        return _conversation(submission, form, 400)
    try:
        workflow.followup_message(
            db.session,
            submission,
            form.text.data or "",
            [Incoming(f.filename or "", f.stream) for f in request.files.getlist("files")],
            Path(current_app.config["INTAKE_UPLOADS"]),
            Limits.from_config(current_app.config),
        )
    except AttachmentError as exc:
        form.files.errors = [f"{exc} " + _("Your text is kept; choose your files again.")]
        return _conversation(submission, form, 400)
    except workflow.NotAllowed as exc:
        form.text.errors = [str(exc)]
        return _conversation(submission, form, 400)
    except SQLAlchemyError:
        db.session.rollback()
        form.text.errors = [
            _(
                "We could not save your message just now. Your text is still here: "
                "please try again in a minute."
            )
        ]
        return _conversation(submission, form, 503)
    flash(_("Sent. The newsroom will see it."))
    return redirect(url_for("public.followup_page"), 303)


@bp.route("/followup/leave", methods=["POST"])
def followup_leave() -> ResponseReturnValue:
    """Close the conversation in this browser."""
    if FollowupLeave().validate():
        submission = _open_submission()
        if submission is not None:
            workflow.close_followup(db.session, submission)
        session.pop(SESSION_KEY, None)
    return redirect(url_for("public.followup_page"), 303)
