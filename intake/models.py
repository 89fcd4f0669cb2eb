"""Typed tables: the newsroom directory, submissions and their audit events."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

# A plain session or Flask-SQLAlchemy's scoped one: both offer the same methods.
DbSession = so.Session | so.scoped_session[Any]

KINDS = ("tip", "question")
STATUSES = ("new", "in_progress", "answered", "used", "closed", "spam", "duplicate")
EMAIL_CONTENT = ("full", "link")
OPEN_STATUSES = ("new", "in_progress")
OUTBOX_STATES = ("pending", "sent", "failed", "cancelled")
# Emails written to the reader (the rest go to staff): events call their recipient "the
# reader", and their address is shown only with the reader's consent.
READER_PURPOSES = ("reader_ack", "reply")
# Emails carrying a one-time link to set a staff password: the link opens the account, so
# the stored text and bytes go once the email is sent, failed or cancelled.
ACCOUNT_PURPOSES = ("account_invite", "password_link")


def to_whom(purpose: str) -> str:
    """Say to whom an email went, for the history: never an address."""
    return " to the reader" if purpose in READER_PURPOSES else ""


ROLES = ("admin", "editor", "reporter")
HOOK_KINDS = ("webhook", "chat")
HOOK_EVENTS = (
    "submission.created",
    "submission.routed",
    "submission.status_changed",
    "submission.reassigned",
    "submission.reader_replied",
)
# What erased reader data reads as: purge, and an address forgotten once its email is sent.
ERASED = "(erased)"


def utcnow() -> datetime:
    """Return the current time, aware, in UTC."""
    return datetime.now(UTC)


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Store UTC without a zone (same on SQLite and PostgreSQL), read it back aware."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        """Convert an aware time to naive UTC; refuse a naive one, whose zone is unknown."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: give times in UTC with a time zone")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> datetime | None:
        """Attach UTC to a stored time."""
        if value is None:
            return None
        assert isinstance(value, datetime)  # noqa: S101 - the column type guarantees it
        return value.replace(tzinfo=UTC)


class Base(so.DeclarativeBase):
    """Declarative base with constraint names Alembic can find again on every engine."""

    metadata = sa.MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


reporter_desks = sa.Table(
    "reporter_desks",
    Base.metadata,
    sa.Column("reporter_id", sa.ForeignKey("reporters.id"), primary_key=True),
    sa.Column("desk_id", sa.ForeignKey("desks.id"), primary_key=True),
)

reporter_topics = sa.Table(
    "reporter_topics",
    Base.metadata,
    sa.Column("reporter_id", sa.ForeignKey("reporters.id"), primary_key=True),
    sa.Column("topic_id", sa.ForeignKey("topics.id"), primary_key=True),
)


class Newsroom(Base):
    """The newsroom's own settings from the directory file (a single row)."""

    __tablename__ = "newsroom"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(200))
    public_url: so.Mapped[str] = so.mapped_column(sa.String(500))
    sender: so.Mapped[str] = so.mapped_column(sa.String(254))
    default_desk_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("desks.id"))
    updated_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)

    default_desk: so.Mapped[Desk | None] = so.relationship()


class Desk(Base):
    """A team with a shared inbox, the fallback route for its topics."""

    __tablename__ = "desks"
    __table_args__ = (
        sa.CheckConstraint(f"email_content IN {EMAIL_CONTENT}", name="email_content"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    slug: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(200))
    email: so.Mapped[str] = so.mapped_column(sa.String(254))
    email_content: so.Mapped[str] = so.mapped_column(sa.String(8), default="full")
    # Escalation: minutes of the assignee's shift to acknowledge an item; the reporters
    # (slugs) emailed when the rota has nobody left. The digest's hour in the desk's zone.
    ack_minutes: so.Mapped[int] = so.mapped_column(default=60)
    editors: so.Mapped[list[str]] = so.mapped_column(sa.JSON, default=list)
    timezone: so.Mapped[str] = so.mapped_column(sa.String(64), default="UTC")
    digest_hour: so.Mapped[int] = so.mapped_column(default=8)
    # A Slack-compatible incoming webhook told of each new item (never its text); "" none.
    chat_webhook: so.Mapped[str] = so.mapped_column(sa.String(2000), default="")
    active: so.Mapped[bool] = so.mapped_column(default=True)
    position: so.Mapped[int] = so.mapped_column(default=0)

    topics: so.Mapped[list[Topic]] = so.relationship(back_populates="desk")


class Topic(Base):
    """What a reader picks on the form; belongs to a desk and carries keywords."""

    __tablename__ = "topics"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    slug: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    label: so.Mapped[str] = so.mapped_column(sa.String(200))
    # The label in other languages for the public form, by ISO 639-1 code (label_ru, ...).
    labels: so.Mapped[dict[str, str]] = so.mapped_column(sa.JSON, default=dict)
    desk_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("desks.id"), index=True)
    keywords: so.Mapped[list[str]] = so.mapped_column(sa.JSON, default=list)
    active: so.Mapped[bool] = so.mapped_column(default=True)
    # Order in the directory file, which is the order of the form's list.
    position: so.Mapped[int] = so.mapped_column(default=0)

    desk: so.Mapped[Desk] = so.relationship(back_populates="topics")


class Reporter(Base):
    """A person on desks, covering topics, reading languages, working a shift."""

    __tablename__ = "reporters"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    slug: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(200))
    email: so.Mapped[str] = so.mapped_column(sa.String(254), index=True)
    languages: so.Mapped[list[str]] = so.mapped_column(sa.JSON, default=list)
    timezone: so.Mapped[str] = so.mapped_column(sa.String(64))
    shift: so.Mapped[str] = so.mapped_column(sa.String(11))
    # OpenPGP: the directory's path to the public key, the key as loaded (armored), and
    # why it cannot be used ("" when it can): notices fall back to link-only then.
    pgp_key: so.Mapped[str] = so.mapped_column(sa.String(500), default="")
    pgp_cert: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    pgp_fingerprint: so.Mapped[str] = so.mapped_column(sa.String(64), default="")
    pgp_problem: so.Mapped[str] = so.mapped_column(sa.String(500), default="")
    active: so.Mapped[bool] = so.mapped_column(default=True)
    position: so.Mapped[int] = so.mapped_column(default=0)

    desks: so.Mapped[list[Desk]] = so.relationship(secondary=reporter_desks)
    topics: so.Mapped[list[Topic]] = so.relationship(secondary=reporter_topics)


class Submission(Base):
    """One tip or one reader question."""

    __tablename__ = "submissions"
    __table_args__ = (
        sa.CheckConstraint(f"kind IN {KINDS}", name="kind"),
        sa.CheckConstraint(f"status IN {STATUSES}", name="status"),
        # The inbox's counts and the dashboard read these without touching the rows:
        # editors' across all desks, reporters' within their desks.
        sa.Index("ix_submissions_status_assignee", "status", "assignee_id"),
        # Routing counts each reporter's open items and finds their newest, per submission.
        sa.Index("ix_submissions_assignee_status", "assignee_id", "status"),
        # Never acted on (overdue, waiting): in id order, so the newest 50 are read first
        # rather than every one of them sorted (230,000 of a million in the benchmark).
        sa.Index("ix_submissions_untouched", "status", "first_action_at", "id", "created_at"),
        sa.Index("ix_submissions_desk_status_assignee", "desk_id", "status", "assignee_id"),
        sa.Index(
            "ix_submissions_desk_untouched",
            "desk_id",
            "status",
            "first_action_at",
            "id",
            "created_at",
        ),
        # With the time of the first action, the dashboard's median reads the index alone.
        sa.Index("ix_submissions_desk_created_acted", "desk_id", "created_at", "first_action_at"),
        # The inbox's "reader replied" mark and filter: few rows have one; and per assignee
        # (unassigned, or mine), so "open" need not read every unassigned row to find them;
        # my queue reads its items without a reply in id order from the second.
        sa.Index(
            "ix_submissions_replied",
            "status",
            "desk_id",
            "assignee_id",
            # Partial: only the few rows with a reply, so the planner knows how few they are
            # (with a plain index it scanned the table for them).
            sqlite_where=sa.text("reader_replied_at IS NOT NULL"),
            postgresql_where=sa.text("reader_replied_at IS NOT NULL"),
        ),
        sa.Index("ix_submissions_assignee_replied", "assignee_id", "reader_replied_at"),
        # The inbox's "escalated" mark as a filter: few rows have one.
        sa.Index(
            "ix_submissions_escalated",
            "id",
            sqlite_where=sa.text("escalation != ''"),
            postgresql_where=sa.text("escalation != ''"),
        ),
        # Escalation's scan: the few assigned items nobody has acknowledged yet.
        sa.Index(
            "ix_submissions_unacknowledged",
            "assigned_at",
            sqlite_where=sa.text("acknowledged_at IS NULL AND assignee_id IS NOT NULL"),
            postgresql_where=sa.text("acknowledged_at IS NULL AND assignee_id IS NOT NULL"),
        ),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    reference: so.Mapped[str] = so.mapped_column(sa.String(16), unique=True)
    kind: so.Mapped[str] = so.mapped_column(sa.String(16))
    status: so.Mapped[str] = so.mapped_column(sa.String(16), default="new")
    topic_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("topics.id"), index=True)
    # Indexed alone too: a reporter's newest-first page walks it in id order.
    desk_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("desks.id"), index=True)
    assignee_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("reporters.id"))
    subject: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    body: so.Mapped[str] = so.mapped_column(sa.Text)
    name: so.Mapped[str] = so.mapped_column(sa.String(100), default="")
    email: so.Mapped[str] = so.mapped_column(sa.String(254), default="")
    consent_contact: so.Mapped[bool] = so.mapped_column(default=False)
    consent_publish: so.Mapped[bool] = so.mapped_column(default=False)
    sensitive: so.Mapped[bool] = so.mapped_column(default=False)
    # The story the reader came from and its author's slug, as the form carried them.
    article: so.Mapped[str] = so.mapped_column(sa.String(2048), default="")
    author_slug: so.Mapped[str] = so.mapped_column(sa.String(64), default="")
    language: so.Mapped[str | None] = so.mapped_column(sa.String(8))
    needs_translation: so.Mapped[bool] = so.mapped_column(default=False)
    reason: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    # The language of the form the reader used, for the emails we send them.
    locale: so.Mapped[str] = so.mapped_column(sa.String(8), default="en")
    duplicate_of_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("submissions.id"))
    # Escalation along the rota: when the current assignee got it, when and by whom it was
    # acknowledged (any staff action, or the notice's link), the reporters tried before,
    # and how far it went: "" not escalated, "escalated" handed on, "editors" emailed.
    assigned_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    acknowledged_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    acknowledged_by: so.Mapped[str] = so.mapped_column(sa.String(254), default="")
    tried: so.Mapped[list[str]] = so.mapped_column(sa.JSON, default=list)
    escalation: so.Mapped[str] = so.mapped_column(sa.String(16), default="")
    # When staff first acted on it (status, assignment, note or reply): for the dashboard.
    first_action_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    # When it last reached a final status (cleared on reopening): retention counts from here.
    closed_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime(), index=True)
    # The Argon2id hash of the reader's follow-up passphrase (shown once, on the thanks
    # page); with it and the reference they can read replies and write again, anonymously.
    followup_hash: so.Mapped[str | None] = so.mapped_column(sa.String(255))
    # The one open follow-up session's random id (the browser holds it too): "Leave" or a
    # new sign-in ends it, so a copy of an old cookie opens nothing.
    followup_session: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    # When the reader last wrote again (by email or the follow-up page) and no staff member
    # has acted since: the inbox marks it "reader replied".
    reader_replied_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    # When the reader's text and contact details were erased; the row stays for statistics.
    purged_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    # Bumped by every change; a form carries it, so a second editor cannot overwrite unseen.
    version: so.Mapped[int] = so.mapped_column(default=1)
    __mapper_args__ = {"version_id_col": version}
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow, index=True)
    updated_at: so.Mapped[datetime] = so.mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow
    )

    topic: so.Mapped[Topic | None] = so.relationship()
    desk: so.Mapped[Desk | None] = so.relationship()
    assignee: so.Mapped[Reporter | None] = so.relationship()
    duplicate_of: so.Mapped[Submission | None] = so.relationship(remote_side="Submission.id")
    attachments: so.Mapped[list[Attachment]] = so.relationship(
        back_populates="submission", order_by="Attachment.id"
    )
    events: so.Mapped[list[Event]] = so.relationship(
        back_populates="submission", order_by="Event.id"
    )


class Event(Base):
    """An append-only audit row: what happened to a submission, who did it, and when."""

    __tablename__ = "events"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    submission_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("submissions.id"), index=True)
    kind: so.Mapped[str] = so.mapped_column(sa.String(32))
    actor: so.Mapped[str] = so.mapped_column(sa.String(254), default="")
    detail: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)

    submission: so.Mapped[Submission] = so.relationship(back_populates="events")


class OutboxEmail(Base):
    """An email to send: written with its cause in one transaction, delivered by the worker."""

    __tablename__ = "outbox_emails"
    __table_args__ = (
        sa.CheckConstraint(f"state IN {OUTBOX_STATES}", name="state"),
        sa.Index("ix_outbox_emails_due", "state", "next_attempt_at"),
        # The outbox page's "sent in the last 24 hours" and the failures of the last day.
        sa.Index("ix_outbox_emails_state_sent", "state", "sent_at"),
        sa.Index("ix_outbox_emails_state_failed", "state", "failed_at"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    submission_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("submissions.id"), index=True
    )
    # What the email is for: reporter_notice, reader_ack, ...
    purpose: so.Mapped[str] = so.mapped_column(sa.String(32))
    # Stable across retries, so a receiver can drop a duplicate after a worker crash.
    message_id: so.Mapped[str] = so.mapped_column(sa.String(255), unique=True)
    sender: so.Mapped[str] = so.mapped_column(sa.String(254))
    recipient: so.Mapped[str] = so.mapped_column(sa.String(254), index=True)
    # A keyed hash of a reader's address, normalised (case, +tag): receipts are capped per
    # address by it, and purge finds a reader's emails by it after the address is gone.
    recipient_key: so.Mapped[str] = so.mapped_column(sa.String(64), default="", index=True)
    # Set when the reader did not agree to be contacted: the address serves this one email
    # and is erased from the row (with the message's bytes) once it is sent.
    forget_recipient: so.Mapped[bool] = so.mapped_column(default=False)
    reply_to: so.Mapped[str] = so.mapped_column(sa.String(254), default="")
    subject: so.Mapped[str] = so.mapped_column(sa.String(998))
    body: so.Mapped[str] = so.mapped_column(sa.Text)
    # The message as it goes on the wire, built once when written (intake.delivery.seal):
    # every try sends the same bytes, and the worker spends no time building them.
    raw: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary)
    state: so.Mapped[str] = so.mapped_column(sa.String(16), default="pending")
    attempts: so.Mapped[int] = so.mapped_column(default=0)
    next_attempt_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)
    # A worker's claim: other workers leave the row alone until the lease runs out.
    claimed_by: so.Mapped[str] = so.mapped_column(sa.String(64), default="")
    lease_until: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    last_error: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    sent_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    # When it was given up (state "failed") or cancelled by staff (state "cancelled").
    failed_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    cancelled_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)

    submission: so.Mapped[Submission | None] = so.relationship()


class InboundMessage(Base):
    """An email that reached intake (pipe or IMAP), kept once by Message-ID, and its fate."""

    __tablename__ = "inbound_messages"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    # The sender's Message-ID, or a hash of the bytes when it has none: the same message
    # through both entry points, or fetched twice, is taken once.
    message_key: so.Mapped[str] = so.mapped_column(sa.String(255), unique=True)
    # What it became: reply, new, note, bounce, ignored (never its text or sender).
    outcome: so.Mapped[str] = so.mapped_column(sa.String(16))
    submission_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("submissions.id"), index=True
    )
    received_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)


class StaffUser(Base):
    """A staff account; a reporter's account is linked to the directory by email."""

    __tablename__ = "staff_users"
    __table_args__ = (sa.CheckConstraint(f"role IN {ROLES}", name="role"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    email: so.Mapped[str] = so.mapped_column(sa.String(254), unique=True)
    password_hash: so.Mapped[str] = so.mapped_column(sa.String(255))
    role: so.Mapped[str] = so.mapped_column(sa.String(16))
    active: so.Mapped[bool] = so.mapped_column(default=True)
    # Changes when the password does, which signs out every other session.
    session_token: so.Mapped[str] = so.mapped_column(sa.String(64))
    # Two-factor sign-in: the TOTP key (base32), and the last time step used, so that a
    # code cannot be used twice.
    totp_secret: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    totp_last_step: so.Mapped[int] = so.mapped_column(default=0)
    # A key shown for enrolment but not yet confirmed with a code (kept here, not in the
    # session cookie, which the browser can read).
    totp_pending: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    # A sign-in half done (password right, code still to come): its random id, which the
    # browser's session must hold, and the wrong codes given for it. Kept here because a
    # session cookie can be replayed; five wrong codes end it (back to the password).
    login_nonce: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    login_failures: so.Mapped[int] = so.mapped_column(default=0)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())

    # Flask-Login's user interface.
    @property
    def is_active(self) -> bool:
        """Say whether the account may sign in."""
        return self.active

    @property
    def is_authenticated(self) -> bool:
        """Say that a loaded user is signed in."""
        return True

    @property
    def is_anonymous(self) -> bool:
        """Say that a loaded user is not anonymous."""
        return False

    def get_id(self) -> str:
        """Identify the session: the token, so a password change ends old sessions."""
        return self.session_token

    @property
    def sees_everything(self) -> bool:
        """Say whether this account sees every desk (editors and admins)."""
        return self.role in ("admin", "editor")


class Attachment(Base):
    """A reader's file: stored under a random name, with its hash and what cleaning did."""

    __tablename__ = "attachments"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    submission_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("submissions.id"), index=True)
    stored_name: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    original_name: so.Mapped[str] = so.mapped_column(sa.String(255))
    media_type: so.Mapped[str] = so.mapped_column(sa.String(128))
    size: so.Mapped[int]
    sha256: so.Mapped[str] = so.mapped_column(sa.String(64))
    cleaned: so.Mapped[bool] = so.mapped_column(default=False)
    note: so.Mapped[str] = so.mapped_column(sa.String(500), default="")
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)

    submission: so.Mapped[Submission] = so.relationship(back_populates="attachments")


class AuditEvent(Base):
    """An append-only record of an admin's or editor's change outside any one submission."""

    __tablename__ = "audit_events"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    actor: so.Mapped[str] = so.mapped_column(sa.String(254))
    # What was done ("account.created", "account.role", "newsroom.applied", ...).
    action: so.Mapped[str] = so.mapped_column(sa.String(64))
    # What it was done to: an account's email, a desk's slug, "newsroom".
    target: so.Mapped[str] = so.mapped_column(sa.String(254), default="")
    detail: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow, index=True)


class CannedReply(Base):
    """A desk's ready answer, in each language the desk has written it in."""

    __tablename__ = "canned_replies"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    desk_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("desks.id"), index=True)
    title: so.Mapped[str] = so.mapped_column(sa.String(200))
    # Language code -> text ("en" always; "ru", "uk" when written).
    texts: so.Mapped[dict[str, str]] = so.mapped_column(sa.JSON, default=dict)
    active: so.Mapped[bool] = so.mapped_column(default=True)
    updated_by: so.Mapped[str] = so.mapped_column(sa.String(254), default="")
    updated_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)

    desk: so.Mapped[Desk] = so.relationship()


# Where an answered group of questions is shown on /answers: not at all, as "We're looking
# into it", or with its answer.
PUBLIC_STATES = ("hidden", "looking", "published")


class QuestionGroup(Base):
    """Reader questions that ask the same thing, in any language, answered once."""

    __tablename__ = "question_groups"
    __table_args__ = (sa.CheckConstraint(f"public IN {PUBLIC_STATES}", name="public"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    # What /answers shows as the question, written by an editor: language code -> text.
    headline: so.Mapped[dict[str, str]] = so.mapped_column(sa.JSON, default=dict)
    # The answer: "en" always once answered; "ru", "uk" when written.
    answer: so.Mapped[dict[str, str]] = so.mapped_column(sa.JSON, default=dict)
    answered_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    answered_by: so.Mapped[str] = so.mapped_column(sa.String(254), default="")
    # The story that answers it, linked from /answers.
    story_url: so.Mapped[str] = so.mapped_column(sa.String(2048), default="")
    public: so.Mapped[str] = so.mapped_column(sa.String(16), default="hidden", index=True)
    # Clicks of "I want to know too": a number, nothing about who clicked.
    want_count: so.Mapped[int] = so.mapped_column(default=0)
    # Two editors answering at once: the second is refused rather than sent twice.
    version: so.Mapped[int] = so.mapped_column(default=1)
    __mapper_args__ = {"version_id_col": version}
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)
    updated_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)

    members: so.Mapped[list[Question]] = so.relationship(
        back_populates="group",
        order_by="Question.submission_id",
        foreign_keys="Question.group_id",
    )


class Question(Base):
    """A reader question's place among the others: its vector, its group, its answer.

    Written with the submission (state "pending"); the worker computes the vector and
    groups it, so no web request waits on the model.
    """

    __tablename__ = "questions"
    __table_args__ = (sa.Index("ix_questions_state_created", "state", "created_at"),)

    submission_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("submissions.id"), primary_key=True
    )
    # The language it is compared in (en, ru, uk, or what was detected).
    language: so.Mapped[str] = so.mapped_column(sa.String(8), default="")
    # "pending" until the worker has compared it, then "done".
    state: so.Mapped[str] = so.mapped_column(sa.String(16), default="pending")
    # The engine that compared it, and its float32 vector (the semantic engine's only:
    # tfidf vectors depend on the batch, so they are computed again each time).
    engine: so.Mapped[str] = so.mapped_column(sa.String(16), default="")
    vector: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary)
    group_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("question_groups.id"), index=True
    )
    # How it joined its group: "similar" (the worker) or "staff" (by hand).
    grouped_by: so.Mapped[str] = so.mapped_column(sa.String(16), default="")
    # Which group's answer went to this asker, and when (a question moved to another group
    # is still owed that group's answer).
    answered_in_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("question_groups.id"))
    answer_sent_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    # Quoted on /answers: an editor chose it (the asker agreed to publication), and the
    # name to print under it, as the editor wrote it (a first name, or none).
    quoted: so.Mapped[bool] = so.mapped_column(default=False)
    quoted_name: so.Mapped[str] = so.mapped_column(sa.String(40), default="")
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)

    submission: so.Mapped[Submission] = so.relationship()
    group: so.Mapped[QuestionGroup | None] = so.relationship(
        back_populates="members", foreign_keys=[group_id]
    )


class QuestionMatch(Base):
    """How alike two questions scored when the later one was compared (for staff)."""

    __tablename__ = "question_matches"

    # The later question, and one earlier one it was compared with.
    submission_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("submissions.id"), primary_key=True
    )
    other_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("submissions.id"), primary_key=True, index=True
    )
    score: so.Mapped[float]
    same: so.Mapped[bool] = so.mapped_column(default=False)


class QuestionSplit(Base):
    """Two questions staff said are not the same: never grouped together again."""

    __tablename__ = "question_splits"

    # The lower submission id first, so a pair has one row.
    low_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("submissions.id"), primary_key=True)
    high_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("submissions.id"), primary_key=True, index=True
    )
    actor: so.Mapped[str] = so.mapped_column(sa.String(254), default="")
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)


class DigestSent(Base):
    """A desk's morning digest of one local day, sent: the key makes it once a day."""

    __tablename__ = "digests_sent"

    desk_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("desks.id"), primary_key=True)
    # The day in the desk's time zone.
    day: so.Mapped[date] = so.mapped_column(primary_key=True)
    sent_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)


class ApiToken(Base):
    """A personal API token: only its hash is kept; it acts as its owner."""

    __tablename__ = "api_tokens"
    __table_args__ = (sa.UniqueConstraint("user_id", "name", name="uq_api_tokens_user_name"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("staff_users.id"), index=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(64))
    # SHA-256 of the whole token: it is 256 random bits, so a plain hash cannot be guessed
    # back and lets a request be looked up by its token in one indexed read.
    token_hash: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    # The token's first characters, so that its owner can tell tokens apart.
    hint: so.Mapped[str] = so.mapped_column(sa.String(16))
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())

    user: so.Mapped[StaffUser] = so.relationship()


class WebhookEndpoint(Base):
    """An address told of submission events, signed with its own secret."""

    __tablename__ = "webhook_endpoints"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    url: so.Mapped[str] = so.mapped_column(sa.String(2000))
    # Kept as given (whsec_...): signing needs the secret itself, not a hash of it.
    secret: so.Mapped[str] = so.mapped_column(sa.String(100))
    events: so.Mapped[list[str]] = so.mapped_column(sa.JSON, default=list)
    # Whether payloads may carry the reader's text and contact details (where the email
    # rules would allow them).
    with_text: so.Mapped[bool] = so.mapped_column(default=False)
    created_by: so.Mapped[str] = so.mapped_column(sa.String(254), default="")
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)
    removed_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())


class OutboxHook(Base):
    """A webhook or chat alert to POST: written with its cause, delivered by the worker."""

    __tablename__ = "outbox_hooks"
    __table_args__ = (
        sa.CheckConstraint(f"state IN {OUTBOX_STATES}", name="state"),
        sa.CheckConstraint(f"kind IN {HOOK_KINDS}", name="kind"),
        sa.Index("ix_outbox_hooks_due", "state", "next_attempt_at"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    kind: so.Mapped[str] = so.mapped_column(sa.String(8))
    endpoint_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("webhook_endpoints.id"), index=True
    )
    desk_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("desks.id"))
    submission_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("submissions.id"), index=True
    )
    url: so.Mapped[str] = so.mapped_column(sa.String(2000))
    event: so.Mapped[str] = so.mapped_column(sa.String(40))
    # The webhook-id: the same on every try, so a receiver can drop a repeat.
    message_id: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    payload: so.Mapped[str] = so.mapped_column(sa.Text)
    carries_text: so.Mapped[bool] = so.mapped_column(default=False)
    state: so.Mapped[str] = so.mapped_column(sa.String(16), default="pending")
    attempts: so.Mapped[int] = so.mapped_column(default=0)
    next_attempt_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)
    claimed_by: so.Mapped[str] = so.mapped_column(sa.String(64), default="")
    lease_until: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    last_status: so.Mapped[int | None] = so.mapped_column()
    last_error: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    sent_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    failed_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    cancelled_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)

    endpoint: so.Mapped[WebhookEndpoint | None] = so.relationship()
    submission: so.Mapped[Submission | None] = so.relationship()
