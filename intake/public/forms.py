"""The public form: field names and limits are a contract (see DESIGN.md)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    MultipleFileField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
    ValidationError,
)
from wtforms.fields import EmailField
from wtforms.fields.choices import SelectChoice

from intake.models import KINDS
from intake.text import clean_line, clean_multiline
from intake.workflow import NewSubmission

BODY_MIN = 20
BODY_MAX = 20_000
SUBJECT_MAX = 200
NAME_MAX = 100
EMAIL_MAX = 254
ARTICLE_MAX = 2048
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")

BODY_PROMPTS = {
    "tip": _l("What do you know, and how do you know it?"),
    "question": _l("What would you like us to find out?"),
}


def clean_article(value: str | None) -> str:
    """Keep the story's address only if it is an http(s) URL; staff pages link to it."""
    text = clean_line(value)
    parts = urlsplit(text)
    if len(text) > ARTICLE_MAX or parts.scheme not in {"http", "https"} or not parts.netloc:
        return ""
    return text


def clean_slug(value: str | None) -> str:
    """Keep the author's slug only if it looks like one; routing ignores unknown slugs."""
    text = clean_line(value).lower()
    return text if SLUG.match(text) else ""


def prefill(args: Mapping[str, str], topics: Iterable[str]) -> dict[str, str]:
    """Read the form's starting values from a story's link, dropping what is not valid."""
    values = {"kind": args.get("kind", "tip")}
    if values["kind"] not in KINDS:
        values["kind"] = "tip"
    topic = args.get("topic", "")
    values["topic"] = topic if topic in set(topics) else ""
    values["article"] = clean_article(args.get("article"))
    values["reporter"] = clean_slug(args.get("reporter"))
    return values


def _body_length(form: FlaskForm, field: TextAreaField) -> None:
    length = len(field.data or "")
    if length == 0:
        raise ValidationError(_("Write your tip or question here: it cannot be empty."))
    if length < BODY_MIN:
        raise ValidationError(
            _(
                "Please write at least %(min)s characters (you wrote %(n)s), "
                "so a reporter can understand it.",
                min=BODY_MIN,
                n=length,
            )
        )
    if length > BODY_MAX:
        raise ValidationError(
            _(
                "Please keep it under %(max)s characters (you wrote %(n)s). "
                "Shorten it, or send the rest in a second message.",
                max=format_decimal(BODY_MAX),
                n=format_decimal(length),
            )
        )


def _max_length(limit: int, message: Any) -> Any:
    def check(form: FlaskForm, field: StringField) -> None:
        length = len(field.data or "")
        if length > limit:
            raise ValidationError(str(message) % {"max": limit, "n": length})

    return check


def _email(form: FlaskForm, field: EmailField) -> None:
    if not field.data:
        return
    if len(field.data) > EMAIL_MAX:
        raise ValidationError(_("An email address has at most %(max)s characters.", max=EMAIL_MAX))
    try:
        valid = validate_email(field.data, check_deliverability=False)
    except EmailNotValidError:
        raise ValidationError(
            _(
                "This does not look like an email address. "
                "Correct it, or leave the field empty to stay anonymous."
            )
        ) from None
    if valid.ascii_email is None:
        # A mailbox name in other letters needs SMTPUTF8 end to end, which our mail system
        # cannot promise; say so now rather than lose every email to this reader later.
        raise ValidationError(
            _(
                "We cannot send email to an address with non-Latin letters before the @. "
                "Use another address, or leave the field empty to stay anonymous."
            )
        )
    field.data = valid.normalized


def _kind(form: FlaskForm, field: RadioField) -> None:
    if field.data not in KINDS:
        raise ValidationError(_("Choose whether you are sending a tip or a question."))


def _topic(form: SubmissionForm, field: SelectField) -> None:
    if field.data and field.data not in {choice.value for choice in field.choices or []}:
        raise ValidationError(_("Choose a topic from the list, or “Not sure”."))


def _consent_contact(form: SubmissionForm, field: BooleanField) -> None:
    if field.data and not form.email.data:
        raise ValidationError(_("Add an email address so we can contact you, or untick this box."))


class SubmissionForm(FlaskForm):
    """A tip or a question from a reader."""

    kind = RadioField(
        _l("What are you sending?"),
        choices=[SelectChoice("tip", _l("A tip")), SelectChoice("question", _l("A question"))],
        default="tip",
        validate_choice=False,
        validators=[_kind],
    )
    topic = SelectField(_l("Topic"), choices=[], validate_choice=False, validators=[_topic])
    subject = StringField(
        _l("Subject (optional)"),
        filters=[clean_line],
        validators=[
            _max_length(
                SUBJECT_MAX,
                _l("The subject can be at most %(max)s characters (you wrote %(n)s)."),
            )
        ],
    )
    body = TextAreaField(BODY_PROMPTS["tip"], filters=[clean_multiline], validators=[_body_length])
    name = StringField(
        _l("Your name (optional)"),
        filters=[clean_line],
        validators=[
            _max_length(
                NAME_MAX, _l("Your name can be at most %(max)s characters (you wrote %(n)s).")
            )
        ],
    )
    email = EmailField(_l("Your email (optional)"), filters=[clean_line], validators=[_email])
    consent_contact = BooleanField(
        _l("You may contact me about this"), validators=[_consent_contact]
    )
    consent_publish = BooleanField(
        _l("If this is a question, you may publish it with my first name only")
    )
    sensitive = BooleanField(_l("This is sensitive: keep the text out of email"))
    files = MultipleFileField(_l("Files (optional)"))
    article = HiddenField(filters=[clean_article])
    reporter = HiddenField(filters=[clean_slug])
    # Honeypot: hidden from people by the stylesheet; bots that fill every field fill it.
    leave_blank = StringField(_l("Leave this field empty"))

    def set_topics(self, topics: Iterable[tuple[str, str]]) -> None:
        """Offer the directory's active topics, then “Not sure”."""
        self.topic.choices = [
            *(SelectChoice(slug, label) for slug, label in topics),
            SelectChoice("", _l("Not sure")),
        ]

    def body_prompt(self) -> str:
        """Return the body's label for the kind the reader chose."""
        return str(BODY_PROMPTS.get(self.kind.data or "tip", BODY_PROMPTS["tip"]))

    def is_bot(self) -> bool:
        """Say whether the honeypot was filled in."""
        return bool((self.leave_blank.data or "").strip())

    def to_submission(self, locale: str) -> NewSubmission:
        """Turn valid form data into the workflow's input, with the form's language."""
        kind = self.kind.data
        return NewSubmission(
            locale=locale,
            kind=kind,
            topic=self.topic.data or None,
            subject=self.subject.data,
            body=self.body.data,
            name=self.name.data,
            email=self.email.data,
            consent_contact=bool(self.consent_contact.data),
            consent_publish=kind == "question" and bool(self.consent_publish.data),
            sensitive=bool(self.sensitive.data),
            article=self.article.data,
            author_slug=self.reporter.data,
        )


class FollowupSignIn(FlaskForm):
    """Open one's conversation: the reference and the passphrase from the thanks page."""

    reference = StringField(_l("Your reference"), filters=[clean_line])
    passphrase = StringField(_l("Your follow-up passphrase"), filters=[clean_line])


class FollowupMessage(FlaskForm):
    """Write again on the follow-up page: text and files, as on the form."""

    text = TextAreaField(_l("Write to the newsroom"), filters=[clean_multiline])
    files = MultipleFileField(_l("Files (optional)"))


class FollowupLeave(FlaskForm):
    """Close the follow-up page (a POST, so another site cannot)."""
