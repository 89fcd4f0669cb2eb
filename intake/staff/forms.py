"""Staff forms; each carries a CSRF token, and the actions carry the version they saw."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length


class LoginForm(FlaskForm):
    """Sign in with email and password."""

    email = StringField("Email", validators=[InputRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[InputRequired(), Length(max=1024)])
    next = HiddenField()


class LogoutForm(FlaskForm):
    """Sign out (a POST, so another site cannot sign a reporter out)."""


class VersionedForm(FlaskForm):
    """An action on a submission as the actor last saw it."""

    version = HiddenField()

    def seen_version(self) -> int | None:
        """Return the version the page showed, if it is a number."""
        value = self.version.data or ""
        return int(value) if value.isdigit() and len(value) < 10 else None


class StatusForm(VersionedForm):
    """Move a submission to another status."""

    status = SelectField("New status", choices=[], validate_choice=False)
    duplicate_of = StringField("Duplicate of (reference)", validators=[Length(max=32)])


class AssignForm(VersionedForm):
    """Give a submission to a reporter or a desk."""

    target = SelectField("Assign to", choices=[], validate_choice=False)


class NoteForm(VersionedForm):
    """Add an internal note."""

    text = TextAreaField("Internal note (staff only)", id="note_text")


class ReplyForm(VersionedForm):
    """Write to the reader."""

    text = TextAreaField("Reply to the reader", id="reply_text")
    channel = SelectField("Send it", choices=[], validate_choice=False)


class BulkForm(FlaskForm):
    """Act on the submissions ticked in the inbox."""

    action = SelectField("With the ticked submissions", choices=[], validate_choice=False)


class OutboxActionForm(FlaskForm):
    """Send a failed email again, or cancel a waiting one (the CSRF token is all it holds)."""


class CodeForm(FlaskForm):
    """A six-digit code from an authenticator app."""

    code = StringField(
        "Code from your authenticator app", validators=[InputRequired(), Length(max=12)]
    )
