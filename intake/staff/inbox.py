"""The inbox's queries: who sees what, filters from the URL, keyset pages, the dashboard."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa
import sqlalchemy.orm as so

from intake import accounts, search
from intake import reference as references
from intake.models import (
    KINDS,
    OPEN_STATUSES,
    STATUSES,
    Attachment,
    DbSession,
    Desk,
    Event,
    Reporter,
    StaffUser,
    Submission,
    Topic,
    utcnow,
)
from intake.text import clean_line, whole_number

PAGE_SIZE = 50
# Counts stop here and read "1,000+": past it nobody triages by the exact number, and
# exact counts at a million rows cost more than the rest of the page (issue 13's benchmark).
COUNT_CAP = 1_000
SORTS = ("newest", "oldest")
# What a staff member lands on: a reporter their own open items, an editor every open item.
VIEWS = ("mine", "open", "all")
# Urgency marks that are also filters (`flag=`): what each row says, and what the tiles count.
FLAGS = {
    "overdue": "overdue",
    "escalated": "escalated",
    "waiting": "waiting over 24 h",
    "replied": "reader replied",
    "sensitive": "sensitive",
    "files": "has files",
    "translation": "needs translation",
}
# Parameters that choose rows: with any of them in the URL and no `view`, the URL means what
# it meant before default views existed (every status), so old bookmarks keep working.
CHOOSING = ("q", "status", "kind", "desk", "topic", "language", "assignee", "since", "until")


@dataclass(frozen=True)
class Filters:
    """The inbox's filters, as bookmarkable query parameters."""

    q: str = ""
    status: str = ""
    kind: str = ""
    desk: str = ""
    topic: str = ""
    language: str = ""
    assignee: str = ""  # "me", "unassigned" or a reporter slug
    since: date | None = None
    until: date | None = None
    sort: str = "newest"
    after: int | None = None  # keyset cursor: the id of the last row already shown
    view: str = "all"
    flag: str = ""
    first_action_hours: float = field(default=4.0, compare=False)  # from the settings
    problems: tuple[str, ...] = field(default=(), compare=False)

    def query_string(self, **changes: Any) -> str:
        """Return these filters as a URL query, with some changed."""
        values = replace(self, **changes)
        params = {
            "view": values.view,
            "flag": values.flag,
            "q": values.q,
            "status": values.status,
            "kind": values.kind,
            "desk": values.desk,
            "topic": values.topic,
            "language": values.language,
            "assignee": values.assignee,
            "since": values.since.isoformat() if values.since else "",
            "until": values.until.isoformat() if values.until else "",
            "sort": "" if values.sort == default_sort(values.view) else values.sort,
            "after": str(values.after) if values.after else "",
        }
        return urlencode({k: v for k, v in params.items() if v})


def _date(args: Mapping[str, str], name: str, problems: list[str]) -> date | None:
    value = args.get(name, "").strip()
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        problems.append(f"{name} must be a date like 2026-11-24; ignored.")
        return None
    if day == date.max:  # "until" reads up to the day after, which does not exist
        problems.append(f"{name} must be before {date.max}; ignored.")
        return None
    return day


def default_sort(view: str) -> str:
    """Say how a view is ordered unless the URL says otherwise: a queue oldest first."""
    return "oldest" if view == "mine" else "newest"


def parse_filters(
    args: Mapping[str, str], landing: str = "all", first_action_hours: float = 4.0
) -> Filters:
    """Read filters from query parameters; ignore a bad value and say so.

    `landing` is the view of a bare /staff/ (a reporter's or an editor's default).
    """
    problems: list[str] = []
    view = args.get("view", "")
    if view and view not in VIEWS:
        problems.append(f"view must be one of {', '.join(VIEWS)}; {view!r} ignored.")
        view = ""
    if not view:
        view = "all" if any(args.get(name) for name in CHOOSING) else landing
    flag = args.get("flag", "")
    if flag and flag not in FLAGS:
        problems.append(f"Unknown mark {flag!r}; ignored.")
        flag = ""
    status = args.get("status", "")
    if status and status not in STATUSES:
        problems.append(f"Unknown status {status!r}; ignored.")
        status = ""
    kind = args.get("kind", "")
    if kind and kind not in KINDS:
        problems.append(f"Unknown kind {kind!r}; ignored.")
        kind = ""
    sort = args.get("sort", "") or default_sort(view)
    if sort not in SORTS:
        problems.append(f"sort must be newest or oldest; {sort!r} ignored.")
        sort = default_sort(view)
    after = whole_number(args.get("after", ""))
    return Filters(
        # clean_line: no NUL (PostgreSQL refuses it in a query) or other control characters.
        q=clean_line(args.get("q", ""))[:200],
        status=status,
        kind=kind,
        desk=clean_line(args.get("desk", ""))[:64],
        topic=clean_line(args.get("topic", ""))[:64],
        language=clean_line(args.get("language", ""))[:8],
        assignee=clean_line(args.get("assignee", ""))[:64],
        since=_date(args, "since", problems),
        until=_date(args, "until", problems),
        sort=sort,
        after=after,
        view=view,
        flag=flag,
        first_action_hours=first_action_hours,
        problems=tuple(problems),
    )


@dataclass(frozen=True)
class Viewer:
    """A signed-in staff member and what they may see."""

    user: StaffUser
    reporter_id: int | None
    desk_ids: frozenset[int]

    @property
    def sees_everything(self) -> bool:
        """Say whether this viewer sees every desk."""
        return self.user.sees_everything


def viewer(session: DbSession, user: StaffUser) -> Viewer:
    """Work out which desks a staff member sees (a reporter: their directory desks)."""
    reporter = accounts.reporter_of(session, user)
    desks = frozenset(d.id for d in reporter.desks if d.active) if reporter else frozenset()
    return Viewer(user=user, reporter_id=reporter.id if reporter else None, desk_ids=desks)


def visible(view: Viewer) -> sa.ColumnElement[bool]:
    """Return the clause for the submissions this viewer may see."""
    if view.sees_everything:
        return sa.true()
    if not view.desk_ids:
        return sa.false()
    return Submission.desk_id.in_(view.desk_ids)


def seen_by_reference(session: DbSession, view: Viewer, reference: str) -> Submission | None:
    """Return the submission with this reference if the viewer may see it, else None."""
    canonical = references.normalise(reference)
    if not canonical:
        return None
    return session.scalar(
        sa.select(Submission).where(Submission.reference == canonical, visible(view))
    )


def open_parts() -> tuple[sa.ColumnElement[bool], sa.ColumnElement[bool]]:
    """Return the two disjoint halves of "open": an open status; or the reader replied."""
    return (
        Submission.status.in_(OPEN_STATUSES),
        sa.and_(Submission.status.not_in(OPEN_STATUSES), Submission.reader_replied_at.is_not(None)),
    )


def is_open() -> sa.ColumnElement[bool]:
    """Return the clause for items still needing someone: new, in progress, reader replied."""
    return sa.or_(*open_parts())


def first_action_due(hours: float, now: datetime) -> datetime:
    """Return the creation time before which an item without a first action is overdue."""
    return now - timedelta(hours=hours)


def flagged(flag: str, hours: float, now: datetime) -> sa.ColumnElement[bool]:
    """Return the clause for the rows that carry an urgency mark."""
    if flag == "overdue":
        # Any staff action sets first_action_at, so an untouched open item is a new one.
        # The same moment acknowledges it (the Acknowledge link sets both too): overdue
        # and escalation stop on one clock.
        return sa.and_(
            Submission.status == "new",
            Submission.first_action_at.is_(None),
            Submission.created_at < first_action_due(hours, now),
        )
    if flag == "waiting":
        return sa.and_(
            Submission.status == "new",
            Submission.first_action_at.is_(None),
            Submission.created_at < now - timedelta(hours=24),
        )
    if flag == "escalated":
        return Submission.escalation != ""
    if flag == "replied":
        return Submission.reader_replied_at.is_not(None)
    if flag == "sensitive":
        return Submission.sensitive.is_(True)
    if flag == "files":
        return sa.exists().where(Attachment.submission_id == Submission.id)
    if flag == "translation":
        return Submission.needs_translation.is_(True)
    raise ValueError(flag)


def _where(
    session: DbSession,
    view: Viewer,
    filters: Filters,
    status: bool = True,
) -> list[Any]:
    clauses: list[Any] = [visible(view)]
    if filters.view == "mine":
        clauses.append(Submission.assignee_id == (view.reporter_id or -1))
    # A status picked by hand says which items; otherwise these views hold the open ones.
    if filters.view in ("mine", "open") and not (status and filters.status):
        clauses.append(is_open())
    if filters.flag:
        clauses.append(flagged(filters.flag, filters.first_action_hours, utcnow()))
    if status and filters.status:
        clauses.append(Submission.status == filters.status)
    if filters.kind:
        clauses.append(Submission.kind == filters.kind)
    # Slugs become ids in a subquery run once, not a correlated one run for every row.
    if filters.desk:
        clauses.append(Submission.desk_id == _id_of(Desk, filters.desk))
    if filters.topic:
        clauses.append(Submission.topic_id == _id_of(Topic, filters.topic))
    if filters.language:
        clauses.append(Submission.language == filters.language)
    if filters.assignee == "unassigned":
        clauses.append(Submission.assignee_id.is_(None))
    elif filters.assignee == "me":
        clauses.append(Submission.assignee_id == (view.reporter_id or -1))
    elif filters.assignee:
        clauses.append(Submission.assignee_id == _id_of(Reporter, filters.assignee))
    if filters.since:
        clauses.append(Submission.created_at >= _start_of(filters.since))
    if filters.until:
        clauses.append(Submission.created_at < _start_of(filters.until + timedelta(days=1)))
    if filters.q:
        reference = references.normalise(filters.q)
        if reference is not None:
            # A reference typed in any case, with dashes or without, finds that submission.
            clauses.append(Submission.reference == reference)
        else:
            match = search.matches(session.get_bind().dialect.name, filters.q)
            if match is not None:
                clauses.append(match)
    return clauses


def _id_of(model: type[Desk] | type[Topic] | type[Reporter], slug: str) -> Any:
    return sa.select(model.id).where(model.slug == slug).scalar_subquery()


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def filtered(session: DbSession, view: Viewer, filters: Filters) -> sa.Select[Submission]:
    """Return the query for every submission the filters select, in the chosen order."""
    order = Submission.id.desc() if filters.sort == "newest" else Submission.id.asc()
    return sa.select(Submission).where(*_where(session, view, filters)).order_by(order)


@dataclass
class Page:
    """One page of the inbox and the cursor of the next one."""

    rows: list[Submission]
    next_after: int | None
    # My queue's items the reader wrote back on, shown above the rest on the first page.
    top: list[Submission] = field(default_factory=list)
    with_files: frozenset[int] = frozenset()

    @property
    def shown(self) -> list[Submission]:
        """Return every row of the page in the order shown."""
        return self.top + self.rows


_ROW_OPTIONS = (
    so.joinedload(Submission.topic),
    so.joinedload(Submission.desk),
    so.joinedload(Submission.assignee),
)


def page(session: DbSession, view: Viewer, filters: Filters, size: int = PAGE_SIZE) -> Page:
    """Return a page after the cursor: keyset, so page 1,000 costs what page 1 does."""
    query = filtered(session, view, filters)
    top: list[Submission] = []
    if filters.view == "mine" and not filters.status:
        # Reader replies go on top: few, so all on the first page; the keyset list skips them.
        replied = Submission.reader_replied_at.is_not(None)
        if filters.after is None:
            top = list(
                session.scalars(
                    query.where(replied)
                    .order_by(None)
                    .order_by(Submission.reader_replied_at, Submission.id)
                    .limit(size)
                    .options(*_ROW_OPTIONS)
                )
            )
        query = query.where(sa.not_(replied))
    if filters.after is not None:
        if filters.sort == "newest":
            query = query.where(Submission.id < filters.after)
        else:
            query = query.where(Submission.id > filters.after)
    rows = list(session.scalars(query.limit(size + 1).options(*_ROW_OPTIONS)))
    more = len(rows) > size
    rows = rows[:size]
    ids = [row.id for row in top + rows]
    with_files = frozenset(
        session.scalars(
            sa.select(Attachment.submission_id).where(Attachment.submission_id.in_(ids)).distinct()
        )
        if ids
        else ()
    )
    return Page(
        rows=rows, next_after=rows[-1].id if more and rows else None, top=top, with_files=with_files
    )


def newer_than(session: DbSession, view: Viewer, filters: Filters, last_id: int) -> int:
    """Count the rows these filters select that arrived after the page showed `last_id`."""
    return capped_count(
        session, *_where(session, view, filters), Submission.id > last_id, cap=PAGE_SIZE
    )


def marks(
    submission: Submission, with_files: frozenset[int], hours: float, now: datetime
) -> list[str]:
    """Return the row's urgency marks, as words (a screen reader reads them; colour adds)."""
    found = []
    if (
        submission.status == "new"
        and submission.first_action_at is None
        and submission.created_at < first_action_due(hours, now)
    ):
        found.append("overdue")
    if submission.escalation:
        found.append("escalated")
    if submission.reader_replied_at is not None:
        found.append("replied")
    if submission.sensitive:
        found.append("sensitive")
    if submission.id in with_files:
        found.append("files")
    if submission.needs_translation:
        found.append("translation")
    return found


def capped_count(session: DbSession, *where: Any, cap: int = COUNT_CAP) -> int:
    """Count matching submissions, but stop at COUNT_CAP + 1: the page says "1,000+".

    An exact count reads every matching row; at a million rows that alone took the inbox
    past a second. Past the cap nobody triages by the exact number.
    """
    matching = sa.select(sa.literal(1)).select_from(Submission).where(*where).limit(cap + 1)
    return session.scalar(sa.select(sa.func.count()).select_from(matching.subquery())) or 0


@dataclass
class StatusCounts:
    """Submissions per status for the filters; past the cap, lower bounds ("at least")."""

    counts: dict[str, int]
    capped: bool


def status_counts(session: DbSession, view: Viewer, filters: Filters) -> StatusCounts:
    """Count the filtered submissions per status (ignoring the status filter).

    One pass over at most COUNT_CAP + 1 matching rows: exact below the cap, lower bounds
    above it (the page then shows "+"). Exact counts read every matching row, which at a
    million rows took a page past a second.
    """
    where = _where(session, view, filters, status=False)
    sample = sa.select(Submission.status).where(*where).limit(COUNT_CAP + 1).subquery()
    counts = dict.fromkeys(STATUSES, 0)
    for status, n in session.execute(
        sa.select(sample.c.status, sa.func.count()).group_by(sample.c.status)
    ):
        counts[status] = n
    return StatusCounts(counts, capped=sum(counts.values()) > COUNT_CAP)


@dataclass
class Dashboard:
    """The figures at the top of the inbox."""

    new_today: int
    unassigned: int
    waiting: int
    median_first_action: dict[str, timedelta]
    overdue: int = 0
    replied: int = 0
    today: date | None = None


def dashboard(
    session: DbSession, view: Viewer, now: datetime | None = None, hours: float = 4.0
) -> Dashboard:
    """Compute new today, unassigned, overdue, reader replied, waiting over 24 h, and the
    median time to first action; each figure but the median is a filter's count."""
    now = now or utcnow()
    seen = visible(view)
    today = _start_of(now.date())

    def count(*where: Any) -> int:
        return capped_count(session, seen, *where)

    # Counted as two disjoint halves: as one OR the database reads every unassigned row
    # (400,000 at a million) to test the second half, 300 ms; apart, each uses an index.
    unassigned = min(
        sum(count(Submission.assignee_id.is_(None), part) for part in open_parts()),
        COUNT_CAP + 1,
    )
    medians = median_first_action(session, seen, now - timedelta(days=7))
    return Dashboard(
        new_today=count(Submission.created_at >= today),
        unassigned=unassigned,
        waiting=count(flagged("waiting", hours, now)),
        overdue=count(flagged("overdue", hours, now)),
        replied=count(flagged("replied", hours, now)),
        today=now.date(),
        median_first_action=medians,
    )


def median_first_action(
    session: DbSession, seen: sa.ColumnElement[bool], since: datetime
) -> dict[str, timedelta]:
    """Return each desk's median time from arrival to first action, over items since then.

    The database computes it: fetching 15,000 pairs of times (a week at a million rows) to
    take the median in Python cost 40 ms a page.
    """
    waited = _seconds(session, Submission.first_action_at, Submission.created_at)
    acted = (seen, Submission.created_at >= since, Submission.first_action_at.is_not(None))
    found: dict[str, float] = {}
    if session.get_bind().dialect.name == "postgresql":
        for name, seconds in session.execute(
            sa.select(Desk.name, sa.func.percentile_cont(0.5).within_group(waited))
            .join(Desk, Submission.desk_id == Desk.id)
            .where(*acted)
            .group_by(Desk.id, Desk.name)
        ):
            found[name] = float(seconds)
    else:
        # SQLite has no percentile: count each desk's items, then read the middle one or two.
        for desk_id, name, n in session.execute(
            sa.select(Submission.desk_id, Desk.name, sa.func.count())
            .join(Desk, Submission.desk_id == Desk.id)
            .where(*acted)
            .group_by(Submission.desk_id, Desk.name)
        ):
            middle = list(
                session.scalars(
                    sa.select(waited)
                    .where(*acted, Submission.desk_id == desk_id)
                    .order_by(waited)
                    .offset((n - 1) // 2)
                    .limit(2 - n % 2)
                )
            )
            found[name] = sum(float(value) for value in middle) / len(middle)
    return {name: timedelta(seconds=found[name]) for name in sorted(found)}


def _seconds(session: DbSession, later: Any, earlier: Any) -> sa.ColumnElement[Any]:
    """Return the seconds between two stored times, computed by the database."""
    if session.get_bind().dialect.name == "postgresql":
        return sa.extract("epoch", later - earlier)
    return (sa.func.julianday(later) - sa.func.julianday(earlier)) * 86400.0


def timeline(session: DbSession, submission: Submission) -> list[Event]:
    """Return the submission's events, oldest first."""
    return list(
        session.scalars(
            sa.select(Event).where(Event.submission_id == submission.id).order_by(Event.id)
        )
    )
