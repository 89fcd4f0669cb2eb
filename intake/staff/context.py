"""What every staff view needs: the signed-in user, what they see, the lists to pick from."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort
from flask_login import current_user

from intake import reference as references
from intake import workflow
from intake.extensions import db
from intake.language import LANGUAGES, NAMES
from intake.models import Desk, Reporter, StaffUser, Submission, Topic
from intake.staff import inbox


def user() -> StaffUser:
    user: StaffUser = current_user._get_current_object()
    return user


def viewer() -> inbox.Viewer:
    return inbox.viewer(db.session, user())


def find(view: inbox.Viewer, reference: str) -> Submission:
    """Return a submission the viewer may see; anything else is 404, never 403."""
    canonical = references.normalise(reference)
    found = None
    if canonical:
        found = db.session.scalar(
            sa.select(Submission).where(Submission.reference == canonical, inbox.visible(view))
        )
    if found is None:
        abort(404)
    return found


def choices() -> dict[str, list[tuple[str, str]]]:
    """Return the options of the filter and assignment lists."""
    desks = db.session.execute(
        sa.select(Desk.slug, Desk.name).where(Desk.active.is_(True)).order_by(Desk.position)
    ).all()
    topics = db.session.execute(
        sa.select(Topic.slug, Topic.label).where(Topic.active.is_(True)).order_by(Topic.position)
    ).all()
    reporters = db.session.execute(
        sa.select(Reporter.slug, Reporter.name)
        .where(Reporter.active.is_(True))
        .order_by(Reporter.name)
    ).all()
    return {
        "desks": [(s, n) for s, n in desks],
        "topics": [(s, n) for s, n in topics],
        "reporters": [(s, n) for s, n in reporters],
        "languages": [(code, NAMES[code]) for code in (*LANGUAGES, "und")],
    }


def targets(choices: dict[str, list[tuple[str, str]]]) -> list[tuple[str, str]]:
    return [(f"reporter:{s}", n) for s, n in choices["reporters"]] + [
        (f"desk:{s}", f"{n} (desk inbox)") for s, n in choices["desks"]
    ]


def target(value: str) -> workflow.Target:
    kind, _, slug = value.partition(":")
    return workflow.Target(kind, slug)
