"""The Acknowledge link of a reporter's notice: a page with one button, no sign-in.

A GET only shows the page (mail scanners follow links and must acknowledge nothing); the
button's POST acknowledges, once, for the reporter and the assignment the link was made for.
"""

from __future__ import annotations

from flask import current_app, render_template
from flask.typing import ResponseReturnValue
from sqlalchemy.orm.exc import StaleDataError

from intake import acks
from intake.extensions import db
from intake.models import Reporter, Submission, utcnow
from intake.staff import bp
from intake.workflow.triage import acknowledge


def _find(token: str) -> tuple[Submission | None, Reporter | None, str]:
    """Return the item and reporter a link stands for, or why it stands for nothing now."""
    found = acks.read(str(current_app.secret_key or ""), token)
    if found is None:
        return None, None, "This link is not one of ours, or it was cut short."
    submission_id, reporter_id, stamp = found
    submission = db.session.get(Submission, submission_id)
    reporter = db.session.get(Reporter, reporter_id)
    if submission is None or reporter is None:
        return None, None, "This link is not one of ours, or it was cut short."
    if not reporter.active:
        return None, None, "This link's reporter is no longer on the rota: it acknowledges nothing."
    if submission.assignee_id != reporter_id or acks.stamp(submission.assigned_at) != stamp:
        return (
            None,
            None,
            (
                f"{submission.reference} is no longer with you: it moved on, so this link "
                "acknowledges nothing."
            ),
        )
    return submission, reporter, ""


def _page(token: str, status: int = 200, done: bool = False) -> ResponseReturnValue:
    submission, reporter, problem = _find(token)
    return (
        render_template(
            "staff/acknowledge.html",
            token=token,
            s=submission,
            reporter=reporter,
            problem=problem,
            done=done,
        ),
        status if not problem else 410 if "no longer" in problem else 404,
    )


@bp.route("/ack/<token>")
def acknowledge_page(token: str) -> ResponseReturnValue:
    """Show the item's reference and one button; change nothing."""
    return _page(token)


@bp.route("/ack/<token>", methods=["POST"])
def acknowledge_item(token: str) -> ResponseReturnValue:
    """Acknowledge the item for the reporter the link was sent to."""
    submission, reporter, _problem = _find(token)
    if submission is None or reporter is None or submission.acknowledged_at is not None:
        return _page(token)
    try:
        now = utcnow()
        acknowledge(db.session, submission, reporter.email, "with the link in the notice", now)
        # The inbox's overdue mark stops on the same moment as the escalation clock.
        submission.first_action_at = submission.first_action_at or now
        submission.updated_at = now
        db.session.commit()
    except StaleDataError:
        db.session.rollback()  # escalated or acted on meanwhile: the page says what stands
    return _page(token, done=True)
