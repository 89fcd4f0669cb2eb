"""What every staff view needs: the signed-in user, what they see, the lists to pick from."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import abort
from flask_login import current_user
from wtforms.fields import SelectChoice

from intake import workflow
from intake.extensions import db
from intake.language import LANGUAGES, NAMES
from intake.models import OPEN_STATUSES, Desk, Reporter, StaffUser, Submission, Topic
from intake.routing import ReporterInfo, on_shift
from intake.staff import inbox


def user() -> StaffUser:
    user: StaffUser = current_user._get_current_object()
    return user


def signed_in_editor() -> StaffUser:
    """Return the signed-in editor or admin; a reporter gets 404, as for any page not theirs."""
    found = user()
    if not found.sees_everything:
        abort(404)
    return found


def viewer() -> inbox.Viewer:
    return inbox.viewer(db.session, user())


def find(view: inbox.Viewer, reference: str) -> Submission:
    """Return a submission the viewer may see; anything else is 404, never 403."""
    found = inbox.seen_by_reference(db.session, view, reference)
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


def _open_items() -> dict[int, int]:
    """Count each reporter's open items in one grouped query."""
    return {
        reporter_id: n
        for reporter_id, n in db.session.execute(
            sa.select(Submission.assignee_id, sa.func.count())
            .where(Submission.assignee_id.is_not(None), Submission.status.in_(OPEN_STATUSES))
            .group_by(Submission.assignee_id)
        )
        if reporter_id is not None
    }


def works_now(reporter: Reporter, now: datetime) -> bool:
    """Say whether a reporter of the tables is on shift now."""
    # Routing's own rule, so the list and the router never disagree about a shift.
    info = ReporterInfo(
        slug=reporter.slug,
        name=reporter.name,
        email=reporter.email,
        desks=(),
        topics=(),
        languages=tuple(reporter.languages),
        timezone=reporter.timezone,
        shift=reporter.shift,
    )
    return on_shift(info, now)


def assign_choices(view: inbox.Viewer, submission: Submission, now: datetime) -> list[SelectChoice]:
    """Return the assignment list: per desk, who is on shift, what they read, what they hold.

    The submission's desk comes first, then the viewer's other desks, then the rest; each
    group ends with the desk's inbox. A reporter on several desks is listed once, under the
    first of them.
    """
    desks = list(
        db.session.scalars(sa.select(Desk).where(Desk.active.is_(True)).order_by(Desk.position))
    )
    desks.sort(key=lambda d: (d.id != submission.desk_id, d.id not in view.desk_ids))
    reporters = db.session.scalars(
        sa.select(Reporter)
        .where(Reporter.active.is_(True))
        .order_by(Reporter.name)
        .options(so.selectinload(Reporter.desks))
    ).all()
    load = _open_items()
    shift = {r.id: works_now(r, now) for r in reporters}
    listed: set[int] = set()
    options: list[SelectChoice] = []
    for desk in desks:
        members = [r for r in reporters if r.id not in listed and desk in r.desks]
        members.sort(key=lambda r: not shift[r.id])  # stable: by name within each half
        for r in members:
            listed.add(r.id)
            state = "on shift now" if shift[r.id] else "off shift"
            languages = ", ".join(r.languages) or "no languages listed"
            label = f"{r.name} — {state} · {languages} · {load.get(r.id, 0)} open"
            options.append(SelectChoice(f"reporter:{r.slug}", label, optgroup=desk.name))
        options.append(
            SelectChoice(f"desk:{desk.slug}", f"{desk.name} (desk inbox)", optgroup=desk.name)
        )
    return options


def current_target(submission: Submission) -> str:
    """Return the assignment list's value for where the submission is now."""
    if submission.assignee is not None:
        return f"reporter:{submission.assignee.slug}"
    return f"desk:{submission.desk.slug}" if submission.desk else ""


def duplicates(view: inbox.Viewer, submission: Submission) -> list[Submission]:
    """Return the submissions marked as duplicates of this one that the viewer may see."""
    return list(
        db.session.scalars(
            sa.select(Submission)
            .where(Submission.duplicate_of_id == submission.id, inbox.visible(view))
            .order_by(Submission.id)
        )
    )
