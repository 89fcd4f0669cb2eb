"""The API's views: thin, over the inbox's queries and the same workflow as the pages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import Response, current_app, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from spectree import Response as Responses

from intake import workflow
from intake.api import ProblemError, bp, caller, spec
from intake.api import docs as apidocs
from intake.api.schemas import (
    AssignBody,
    DeskOut,
    Detail,
    DirectoryOut,
    FileInfo,
    ListQuery,
    Me,
    NoteBody,
    Page,
    Problem,
    ReplyBody,
    ReporterOut,
    StatusBody,
    Summary,
    ThreadEntry,
    TopicOut,
)
from intake.extensions import db, limiter
from intake.models import Desk, Reporter, Submission, Topic, utcnow
from intake.staff import inbox
from intake.staff.context import works_now
from intake.staff.queue import first_line
from intake.staff.routes import REPLY_SCOPE, reply_limit
from intake.text import whole_number

# What a validated view returns: a model (spectree serialises it), or a model with status
# and headers, or a Response.
Answer = Any
TAGS = {"submissions": ("submissions",), "directory": ("directory",)}
BASE_ERRORS = {"HTTP_401": Problem, "HTTP_429": Problem}
ERRORS = {**BASE_ERRORS, "HTTP_404": Problem}  # routes that name a submission
ACTION_ERRORS = {
    **ERRORS,
    "HTTP_400": Problem,
    "HTTP_409": Problem,
    "HTTP_412": Problem,
    "HTTP_415": Problem,
    "HTTP_428": Problem,
}


def _viewer() -> inbox.Viewer:
    return inbox.viewer(db.session, caller())


def _find(view: inbox.Viewer, reference: str) -> Submission:
    """Return a submission the caller may see; anything else is 404, never 403."""
    found = inbox.seen_by_reference(db.session, view, reference)
    if found is None:
        raise ProblemError(404, "Not found", f"No submission {reference[:40]!r} that you can see.")
    return found


def _url(submission: Submission) -> str:
    return f"{request.host_url.rstrip('/')}/api/v1/submissions/{submission.reference}"


def _slug(row: Desk | Topic | Reporter | None) -> str | None:
    return row.slug if row is not None else None


def _summary_fields(submission: Submission, marks: list[str]) -> dict[str, Any]:
    return {
        "reference": submission.reference,
        "kind": submission.kind,
        "status": submission.status,
        "version": submission.version,
        "desk": _slug(submission.desk),
        "topic": _slug(submission.topic),
        "assignee": _slug(submission.assignee),
        "language": submission.language,
        "first_line": first_line(submission),
        "marks": marks,
        "created_at": submission.created_at,
        "updated_at": submission.updated_at,
        "url": _url(submission),
    }


def _hours() -> float:
    return float(current_app.config["INTAKE_FIRST_ACTION_HOURS"])


def _detail(submission: Submission) -> Detail:
    files = frozenset({submission.id}) if submission.attachments else frozenset()
    marks = inbox.marks(submission, files, _hours(), utcnow())
    return Detail(
        **_summary_fields(submission, marks),
        subject=submission.subject,
        body=submission.body,
        name=submission.name,
        email=submission.email,
        consent_contact=submission.consent_contact,
        consent_publish=submission.consent_publish,
        sensitive=submission.sensitive,
        needs_translation=submission.needs_translation,
        article=submission.article,
        reason=submission.reason,
        reply_channels=workflow.reply_channels(submission),  # type: ignore[arg-type]
        files=[
            FileInfo(name=a.original_name, media_type=a.media_type, size=a.size)
            for a in submission.attachments
        ],
        thread=[
            ThreadEntry(kind=e.kind, actor=e.actor, detail=e.detail, created_at=e.created_at)
            for e in inbox.timeline(db.session, submission)
        ],
    )


def _with_etag(submission: Submission) -> tuple[Detail, int, dict[str, str]]:
    return _detail(submission), 200, {"ETag": f'"{submission.version}"'}


@bp.get("/submissions")
@spec.validate(
    query=ListQuery,
    resp=Responses(HTTP_200=Page, HTTP_400=Problem, **BASE_ERRORS),
    tags=TAGS["submissions"],
)
def list_submissions() -> Answer:
    """List the submissions you can see, with the inbox's filters, a page at a time.

    Pages are keyset pages: pass the `next` of one page as `after` to get the next.
    """
    query: ListQuery = request.context.query  # type: ignore[attr-defined]
    view = _viewer()
    args = {
        key: str(value)
        for key, value in query.model_dump(exclude_none=True, exclude={"limit"}).items()
    }
    filters = inbox.parse_filters(
        args, landing="open" if view.sees_everything else "mine", first_action_hours=_hours()
    )
    shown = inbox.page(db.session, view, filters, size=query.limit)
    now = utcnow()
    items = [
        Summary(**_summary_fields(s, inbox.marks(s, shown.with_files, _hours(), now)))
        for s in shown.shown
    ]
    return Page(items=items, next=shown.next_after)


@bp.get("/submissions/<reference>")
@spec.validate(resp=Responses(HTTP_200=Detail, **ERRORS), tags=TAGS["submissions"])
def get_submission(reference: str) -> Answer:
    """Return one submission with its thread; its ETag is the version actions need."""
    return _with_etag(_find(_viewer(), reference))


def _if_match(submission: Submission) -> int:
    """Return the version the caller saw (If-Match); 428 without one, 412 if it changed."""
    header = request.headers.get("If-Match", "").strip()
    if not header:
        raise ProblemError(
            428,
            "If-Match is needed",
            "Send the submission's version (its ETag) in If-Match, so that a change made "
            "meanwhile is not overwritten.",
        )
    seen = whole_number(header.removeprefix('"').removesuffix('"'), 9)
    if seen is None:
        # A weak tag (W/"3") never matches: If-Match compares strongly (RFC 9110).
        raise ProblemError(400, "If-Match is not a version", "Send the ETag as it was given.")
    if seen != submission.version:
        raise ProblemError(
            412,
            "The submission changed",
            f"It is at version {submission.version}, not {seen}: read it again, then retry.",
            current_version=submission.version,
        )
    return seen


def _act(reference: str, action: Callable[[Submission, int], None]) -> Answer:
    """Run a workflow action with the caller's version; answer the submission as it is now."""
    view = _viewer()
    submission = _find(view, reference)
    seen = _if_match(submission)
    try:
        action(submission, seen)
    except workflow.Conflict as exc:
        db.session.rollback()
        raise ProblemError(412, "The submission changed", str(exc)) from None
    except workflow.NotAllowed as exc:
        db.session.rollback()
        raise ProblemError(409, "Not possible now", str(exc)) from None
    still = db.session.scalar(
        sa.select(Submission).where(Submission.id == submission.id, inbox.visible(view))
    )
    if still is None:
        return Response(status=204)  # moved off the caller's desks: no longer theirs to see
    return _with_etag(still)


@bp.post("/submissions/<reference>/status")
@spec.validate(
    json=StatusBody,
    resp=Responses(HTTP_200=Detail, HTTP_204=None, **ACTION_ERRORS),
    tags=TAGS["submissions"],
)
def change_status(reference: str) -> Answer:
    """Move a submission to another status (If-Match: its version)."""
    body: StatusBody = request.context.json  # type: ignore[attr-defined]

    def action(submission: Submission, seen: int) -> None:
        duplicate_of = None
        if body.duplicate_of:
            duplicate_of = inbox.seen_by_reference(db.session, _viewer(), body.duplicate_of)
        workflow.change_status(db.session, submission, caller(), body.status, seen, duplicate_of)

    return _act(reference, action)


@bp.post("/submissions/<reference>/assign")
@spec.validate(
    json=AssignBody,
    resp=Responses(HTTP_200=Detail, HTTP_204=None, **ACTION_ERRORS),
    tags=TAGS["submissions"],
)
def assign(reference: str) -> Answer:
    """Give a submission to a reporter or a desk (If-Match: its version)."""
    body: AssignBody = request.context.json  # type: ignore[attr-defined]
    if body.reporter is not None:
        target = workflow.Target("reporter", body.reporter)
    else:
        target = workflow.Target("desk", body.desk or "")

    def action(submission: Submission, seen: int) -> None:
        view = _viewer()
        if not view.sees_everything and not body.confirm_move:
            desk, whom = workflow.destination(db.session, submission, target)
            if desk.id not in view.desk_ids:
                raise workflow.NotAllowed(
                    f"That moves it to {whom}, off your desks: you would no longer see it. "
                    "Send confirm_move: true to do it."
                )
        workflow.assign(db.session, submission, caller(), target, seen)

    return _act(reference, action)


@bp.post("/submissions/<reference>/notes")
@spec.validate(
    json=NoteBody, resp=Responses(HTTP_200=Detail, **ACTION_ERRORS), tags=TAGS["submissions"]
)
def add_note(reference: str) -> Answer:
    """Add an internal note (If-Match: its version)."""
    body: NoteBody = request.context.json  # type: ignore[attr-defined]
    return _act(
        reference, lambda s, seen: workflow.add_note(db.session, s, caller(), body.text, seen)
    )


def _staff_key() -> str:
    # The same key and scope as the staff page's replies: one person, one count.
    return f"staff:{caller().id}"


@bp.post("/submissions/<reference>/replies")
@spec.validate(
    json=ReplyBody, resp=Responses(HTTP_200=Detail, **ACTION_ERRORS), tags=TAGS["submissions"]
)
def reply(reference: str) -> Answer:
    """Answer the reader by email or on their follow-up page (If-Match: its version)."""
    body: ReplyBody = request.context.json  # type: ignore[attr-defined]
    with limiter.shared_limit(reply_limit, scope=REPLY_SCOPE, key_func=_staff_key):
        return _act(
            reference,
            lambda s, seen: workflow.reply(db.session, s, caller(), body.text, seen, body.channel),
        )


@bp.get("/directory")
@spec.validate(resp=Responses(HTTP_200=DirectoryOut, **BASE_ERRORS), tags=TAGS["directory"])
def directory() -> Answer:
    """Return the newsroom's desks, topics and reporters as loaded (read only)."""
    desks = db.session.scalars(sa.select(Desk).where(Desk.active.is_(True)).order_by(Desk.position))
    topics = list(
        db.session.scalars(sa.select(Topic).where(Topic.active.is_(True)).order_by(Topic.position))
    )
    reporters = db.session.scalars(
        sa.select(Reporter).where(Reporter.active.is_(True)).order_by(Reporter.position)
    )
    now = utcnow()
    # A colleague's hours and zone (where they are) are on the admins' rota page only.
    rota = _viewer().sees_everything
    return DirectoryOut(
        desks=[
            DeskOut(
                slug=d.slug,
                name=d.name,
                email_content=d.email_content,  # type: ignore[arg-type]
                topics=[t.slug for t in topics if t.desk_id == d.id],
            )
            for d in desks
        ],
        topics=[TopicOut(slug=t.slug, label=t.label, desk=t.desk.slug) for t in topics],
        reporters=[
            ReporterOut(
                slug=r.slug,
                name=r.name,
                desks=[d.slug for d in r.desks if d.active],
                topics=[t.slug for t in r.topics if t.active],
                languages=list(r.languages),
                timezone=r.timezone if rota else None,
                shift=r.shift if rota else None,
                on_shift=works_now(r, now),
            )
            for r in reporters
        ],
    )


@bp.get("/me")
@spec.validate(resp=Responses(HTTP_200=Me, **BASE_ERRORS), tags=TAGS["directory"])
def me() -> Answer:
    """Say whom the token acts as and which desks it sees."""
    view = _viewer()
    user = caller()
    if view.sees_everything:
        seen = db.session.scalars(sa.select(Desk.slug).where(Desk.active.is_(True)))
    else:
        seen = db.session.scalars(sa.select(Desk.slug).where(Desk.id.in_(view.desk_ids)))
    return Me(email=user.email, role=user.role, desks=sorted(seen))  # type: ignore[arg-type]


@bp.get("/openapi.json")
@limiter.exempt
def openapi() -> ResponseReturnValue:
    """Return the OpenAPI 3.1 document, made from the schemas that validate requests."""
    return jsonify(apidocs.finished(spec.spec))


@bp.get("/docs")
@limiter.exempt
def docs() -> ResponseReturnValue:
    """Show the API's reference, rendered from the OpenAPI document (no script needed)."""
    document = apidocs.finished(spec.spec)
    return render_template(
        "api/docs.html",
        info=document["info"],
        openapi=document["openapi"],
        operations=apidocs.operations(document),
        schemas=apidocs.schemas(document),
    )
