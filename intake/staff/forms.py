"""Staff forms; each carries a CSRF token, and the actions carry the version they saw."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields import SelectChoice
from wtforms.validators import InputRequired, Length

from intake.models import HOOK_EVENTS
from intake.text import whole_number


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
        return whole_number(self.version.data, 9)


class StatusForm(VersionedForm):
    """Move a submission to another status."""

    status = SelectField("New status", choices=[], validate_choice=False)
    duplicate_of = StringField("Duplicate of (reference)", validators=[Length(max=32)])


class AssignForm(VersionedForm):
    """Give a submission to a reporter or a desk."""

    target = SelectField("Assign to", choices=[], validate_choice=False)
    # "1" once a reporter has agreed to move it out of their desks.
    confirm = HiddenField()


class NoteForm(VersionedForm):
    """Add an internal note."""

    text = TextAreaField("Internal note (staff only)", id="note_text")


class ReplyForm(VersionedForm):
    """Write to the reader."""

    text = TextAreaField("Reply to the reader", id="reply_text")
    channel = SelectField("Send it", choices=[], validate_choice=False, id="reply_channel")
    # Empty: this submission's reader; "<reference>:<version>": a duplicate's reader.
    to = SelectField("Write to", choices=[], validate_choice=False, id="reply_to")
    canned = SelectField("Canned reply", choices=[], validate_choice=False, id="reply_canned")
    # The canned reply the text was filled from (set by "Use" or the script), if any.
    used_canned = HiddenField(id="reply_used_canned")


class CannedForm(FlaskForm):
    """A desk's canned reply: a title for staff, the text in each language."""

    desk = SelectField("Desk", choices=[], validate_choice=False)
    title = StringField("Title (staff see it, readers do not)")
    text_en = TextAreaField("English text (required)")
    text_ru = TextAreaField("Russian text (optional)")
    text_uk = TextAreaField("Ukrainian text (optional)")


class CannedActiveForm(FlaskForm):
    """Deactivate or reactivate a canned reply (the CSRF token is all it holds)."""


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


class TokenForm(FlaskForm):
    """Make a personal API token."""

    name = StringField("Name (what the token is for)", validators=[Length(max=64)])


class RevokeTokenForm(FlaskForm):
    """Revoke one of one's own API tokens."""

    name = HiddenField(validators=[InputRequired(), Length(max=64)])


class WebhookForm(FlaskForm):
    """Register a webhook endpoint for some events."""

    url = StringField("Endpoint URL", validators=[InputRequired(), Length(max=2000)])
    events = SelectMultipleField("Events", choices=[SelectChoice(e, e) for e in HOOK_EVENTS])
    with_text = BooleanField(
        "Payloads carry the reader's text and contact details where emails could"
    )


class RemoveWebhookForm(FlaskForm):
    """Remove a webhook endpoint."""
