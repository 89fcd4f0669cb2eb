"""The API's shapes: pydantic models that validate requests and make the OpenAPI document."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from intake.models import STATUSES
from intake.staff.inbox import FLAGS, SORTS, VIEWS
from intake.workflow.triage import NOTE_MAX, REPLY_MAX

Status = Literal["new", "in_progress", "answered", "used", "closed", "spam", "duplicate"]
Kind = Literal["tip", "question"]
View = Literal["mine", "open", "all"]
Flag = Literal["overdue", "escalated", "waiting", "replied", "sensitive", "files", "translation"]
Sort = Literal["newest", "oldest"]
# The Literals above are the inbox's own lists, written out for the schema; kept equal.
assert set(Status.__args__) == set(STATUSES)  # type: ignore[attr-defined]  # noqa: S101
assert set(View.__args__) == set(VIEWS)  # type: ignore[attr-defined]  # noqa: S101
assert set(Flag.__args__) == set(FLAGS)  # type: ignore[attr-defined]  # noqa: S101
assert set(Sort.__args__) == set(SORTS)  # type: ignore[attr-defined]  # noqa: S101


class Strict(BaseModel):
    """A request shape that refuses keys it does not know (a typo is an error, not ignored)."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def no_nul(cls, data: Any) -> Any:
        """Refuse a NUL character in any text: no database column can hold one."""
        if isinstance(data, dict) and any(
            isinstance(v, str) and "\x00" in v for v in data.values()
        ):
            raise ValueError("text must not contain NUL characters")
        return data


class ListQuery(Strict):
    """The inbox's filters, as query parameters; `after` is the keyset cursor."""

    view: View | None = Field(None, description="mine, open or all (default: the inbox's)")
    flag: Flag | None = None
    q: str | None = Field(None, max_length=200, description="words or a reference")
    status: Status | None = None
    kind: Kind | None = None
    desk: str | None = Field(None, max_length=64, description="a desk's slug")
    topic: str | None = Field(None, max_length=64, description="a topic's slug")
    language: str | None = Field(None, max_length=8)
    assignee: str | None = Field(None, max_length=64, description="me, unassigned or a slug")
    since: date | None = None
    until: date | None = None
    sort: Sort | None = None
    after: int | None = Field(None, ge=1, description="the `next` cursor of the last page")
    limit: int = Field(50, ge=1, le=200)


class StatusBody(Strict):
    """Move a submission to another status; a duplicate names the one it repeats."""

    status: Status
    duplicate_of: str | None = Field(None, max_length=32)


class AssignBody(Strict):
    """Give a submission to a reporter or to a desk (exactly one of them, by slug)."""

    reporter: str | None = Field(None, max_length=64)
    desk: str | None = Field(None, max_length=64)
    confirm_move: bool = Field(
        False, description="a reporter moving an item off their own desks must confirm it"
    )

    @model_validator(mode="after")
    def one_target(self) -> AssignBody:
        """Require exactly one of reporter and desk."""
        if (self.reporter is None) == (self.desk is None):
            raise ValueError("give exactly one of reporter and desk")
        return self


class NoteBody(Strict):
    """An internal note, seen only by staff."""

    text: str = Field(min_length=1, max_length=NOTE_MAX)


class ReplyBody(Strict):
    """An answer to the reader: by email, or on their follow-up page."""

    text: str = Field(min_length=1, max_length=REPLY_MAX)
    channel: Literal["email", "followup"] = "email"


class Summary(BaseModel):
    """A submission as a row of the inbox."""

    reference: str
    kind: Kind
    status: Status
    version: int
    desk: str | None
    topic: str | None
    assignee: str | None
    language: str | None
    first_line: str
    marks: list[Flag]
    created_at: datetime
    updated_at: datetime
    url: str


class Page(BaseModel):
    """One page of submissions, and the cursor of the next (null on the last page)."""

    items: list[Summary]
    next: int | None


class ThreadEntry(BaseModel):
    """One event of a submission's history."""

    kind: str
    actor: str
    detail: str
    created_at: datetime


class FileInfo(BaseModel):
    """A file the reader sent (its bytes are on the staff page)."""

    name: str
    media_type: str
    size: int


class Detail(Summary):
    """A whole submission: the reader's words, how to reach them, its thread."""

    subject: str
    body: str
    name: str
    email: str
    consent_contact: bool
    consent_publish: bool
    sensitive: bool
    needs_translation: bool
    article: str
    reason: str
    reply_channels: list[Literal["email", "followup"]]
    files: list[FileInfo]
    thread: list[ThreadEntry]


class DeskOut(BaseModel):
    """A desk of the directory."""

    slug: str
    name: str
    email_content: Literal["full", "link"]
    topics: list[str]


class TopicOut(BaseModel):
    """A topic of the directory."""

    slug: str
    label: str
    desk: str


class ReporterOut(BaseModel):
    """A reporter of the directory."""

    slug: str
    name: str
    desks: list[str]
    topics: list[str]
    languages: list[str]
    timezone: str | None = Field(description="shown to editors and admins only")
    shift: str | None = Field(description="shown to editors and admins only")
    on_shift: bool


class DirectoryOut(BaseModel):
    """The newsroom's directory as loaded (read only)."""

    desks: list[DeskOut]
    topics: list[TopicOut]
    reporters: list[ReporterOut]


class Me(BaseModel):
    """Whom the token acts as."""

    email: str
    role: Literal["admin", "editor", "reporter"]
    desks: list[str] = Field(description="the desks seen; every desk for editors and admins")


class Problem(BaseModel):
    """An error, as RFC 9457 problem details (application/problem+json)."""

    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
