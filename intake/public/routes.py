"""Views for readers: parse the form, call the workflow, render or redirect."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import sqlalchemy as sa
from flask import (
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from limits import parse as parse_limit
from sqlalchemy.exc import SQLAlchemyError

from intake import followup, logs, workflow
from intake import reference as references
from intake.attachments import AttachmentError, Incoming, Limits
from intake.extensions import client_key, db, limiter
from intake.models import Topic
from intake.public import bp
from intake.public.forms import BODY_PROMPTS, SubmissionForm, prefill

log = logging.getLogger(__name__)
# The passphrase rides the (signed, not encrypted) session cookie from the POST to the
# thanks page, which removes it; if that page never loads, it is void after this long.
PASSPHRASE_SECONDS = 600


def _topic_choices() -> list[tuple[str, str]]:
    """Return the active topics, labelled in the page's language where the directory has it."""
    locale = str(get_locale() or "en")
    rows = db.session.execute(
        sa.select(Topic.slug, Topic.label, Topic.labels)
        .where(Topic.active.is_(True))
        .order_by(Topic.position, Topic.label)
    )
    return [(slug, (labels or {}).get(locale) or label) for slug, label, labels in rows]


def render_form(form: SubmissionForm, status: int = 200, problem: str = "") -> ResponseReturnValue:
    """Render the form page, with a message above it when the whole form failed."""
    return (
        render_template("public/form.html", form=form, prompts=BODY_PROMPTS, problem=problem),
        status,
    )


def form_from_request() -> SubmissionForm:
    """Build the form from what the reader sent, with the directory's topics."""
    form = SubmissionForm()
    form.set_topics(_topic_choices())
    return form


def _submit_limit() -> str:
    limit: str = current_app.config["INTAKE_SUBMIT_LIMIT"]
    return limit


def _post_limit() -> str:
    limit: str = current_app.config["INTAKE_POST_LIMIT"]
    return limit


def _stored(response: Response) -> bool:
    # Only a stored submission (or what looks like one to a bot) redirects to thanks: a
    # mistake or a language switch re-renders the form and must not use up the limit.
    return response.status_code == 303


def receipt_allowed() -> bool:
    """Count a receipt against this client's hourly share; say whether it may be sent."""
    if not limiter.enabled:
        return True
    return limiter.limiter.hit(
        parse_limit(current_app.config["INTAKE_RECEIPT_LIMIT"]), "receipts", client_key()
    )


@bp.route("/", methods=["GET", "POST"])
@limiter.limit(_submit_limit, methods=["POST"], deduct_when=_stored)
@limiter.limit(_post_limit, methods=["POST"], scope="public-posts")
def submit() -> ResponseReturnValue:
    """Show the tip and question form, and take what readers send."""
    if request.method == "GET":
        topics = _topic_choices()
        form = SubmissionForm(formdata=None, data=prefill(request.args, (s for s, _ in topics)))
        form.set_topics(topics)
        return render_form(form)

    form = form_from_request()
    if request.form.get("switch_lang"):
        # The reader changed the page's language: show the form again, their text kept.
        return render_form(form)
    if form.is_bot():
        # Answer like a success so the bot learns nothing; keep nothing it sent.
        log.info("honeypot filled; submission discarded")
        fake = references.new_reference(form.kind.data if form.kind.data == "question" else "tip")
        return redirect(url_for("public.thanks", reference=fake), 303)
    if not form.validate():
        return render_form(form, 400)
    passphrase = followup.new_passphrase()
    try:
        reference = workflow.submit(
            db.session,
            form.to_submission(str(get_locale() or "en")),
            files=[Incoming(f.filename or "", f.stream) for f in request.files.getlist("files")],
            uploads=Path(current_app.config["INTAKE_UPLOADS"]),
            limits=Limits.from_config(current_app.config),
            receipt_allowed=receipt_allowed,
            followup_passphrase=passphrase,
        )
    except AttachmentError as exc:
        form.files.errors = [f"{exc} " + _("Your text is kept; choose your files again.")]
        return render_form(form, 400)
    except SQLAlchemyError as exc:
        log.error("could not store a submission: %s", logs.describe(exc))
        return render_form(
            form,
            503,
            _(
                "We could not save your message just now. Your text is still here: "
                "please try again in a minute."
            ),
        )
    # Shown once, on the thanks page, then gone: only its hash is stored.
    session["followup_once"] = {
        "reference": reference,
        "passphrase": passphrase,
        "at": time.time(),
    }
    return redirect(url_for("public.thanks", reference=reference), 303)


@bp.route("/thanks/<reference>")
def thanks(reference: str) -> ResponseReturnValue:
    """Show the reference and what happens next, never the submission's content."""
    # Shown for any well-formed code without a database look-up: the page reveals
    # nothing about whether a submission exists (and a honeypot's fake code works too).
    kind = references.kind_of(reference)
    if kind is None:
        abort(404)
    once = session.pop("followup_once", None)
    passphrase = ""
    if (
        isinstance(once, dict)
        and once.get("reference") == reference
        and time.time() - float(once.get("at", 0)) < PASSPHRASE_SECONDS
    ):
        passphrase = str(once.get("passphrase", ""))
    return render_template(
        "public/thanks.html", reference=reference, kind=kind, passphrase=passphrase
    )


@bp.errorhandler(429)
def too_many(error: Exception) -> ResponseReturnValue:
    """Keep the reader's text when their network sent too many messages in a short time."""
    form = form_from_request()
    return render_form(
        form,
        429,
        _(
            "Many messages came from your network in a short time, so this one was not "
            "sent. Your text is still here: wait a few minutes, then press Send again."
        ),
    )


@bp.errorhandler(CSRFError)
def csrf_failed(error: CSRFError) -> ResponseReturnValue:
    """Give the reader their text back with a fresh token instead of an error page."""
    form = form_from_request()
    form.validate()  # marks fields that need fixing too; the token is renewed on render
    return render_form(
        form,
        400,
        _(
            "This page was open too long or your browser did not keep our cookie, so the "
            "message was not sent. Your text is still here: check it and press Send again."
        ),
    )
