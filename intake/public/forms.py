"""The public form: field names and limits are a contract (see DESIGN.md)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email
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
    "tip": "What do you know, and how do you know it?",
    "question": "What would you like us to find out?",
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
    if length < BODY_MIN:
        if length == 0:
            raise ValidationError("Write your tip or question here: it cannot be empty.")
        raise ValidationError(
            f"Please write at least {BODY_MIN} characters (you wrote {length}), "
            "so a reporter can understand it."
        )
    if length > BODY_MAX:
        raise ValidationError(
            f"Please keep it under {BODY_MAX:,} characters (you wrote {length:,}). "
            "Shorten it, or send the rest in a second message."
        )


def _max_length(limit: int, what: str) -> Any:
    def check(form: FlaskForm, field: StringField) -> None:
        length = len(field.data or "")
        if length > limit:
            raise ValidationError(f"{what} can be at most {limit} characters (you wrote {length}).")

    return check


def _email(form: FlaskForm, field: EmailField) -> None:
    if not field.data:
        return
    if len(field.data) > EMAIL_MAX:
        raise ValidationError(f"An email address has at most {EMAIL_MAX} characters.")
    try:
        field.data = validate_email(field.data, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValidationError(
            f"This does not look like an email address: {exc} "
            "Correct it, or leave the field empty to stay anonymous."
        ) from None


def _kind(form: FlaskForm, field: RadioField) -> None:
    if field.data not in KINDS:
        raise ValidationError("Choose whether you are sending a tip or a question.")


def _topic(form: SubmissionForm, field: SelectField) -> None:
    if field.data and field.data not in {choice.value for choice in field.choices or []}:
        raise ValidationError("Choose a topic from the list, or “Not sure”.")


def _consent_contact(form: SubmissionForm, field: BooleanField) -> None:
    if field.data and not form.email.data:
        raise ValidationError("Add an email address so we can contact you, or untick this box.")


class SubmissionForm(FlaskForm):
    """A tip or a question from a reader."""

    kind = RadioField(
        "What are you sending?",
        choices=[SelectChoice("tip", "A tip"), SelectChoice("question", "A question")],
        default="tip",
        validate_choice=False,
        validators=[_kind],
    )
    topic = SelectField("Topic", choices=[], validate_choice=False, validators=[_topic])
    subject = StringField(
        "Subject (optional)",
        filters=[clean_line],
        validators=[_max_length(SUBJECT_MAX, "The subject")],
    )
    body = TextAreaField(BODY_PROMPTS["tip"], filters=[clean_multiline], validators=[_body_length])
    name = StringField(
        "Your name (optional)",
        filters=[clean_line],
        validators=[_max_length(NAME_MAX, "Your name")],
    )
    email = EmailField("Your email (optional)", filters=[clean_line], validators=[_email])
    consent_contact = BooleanField("You may contact me about this", validators=[_consent_contact])
    consent_publish = BooleanField(
        "If this is a question, you may publish it with my first name only"
    )
    sensitive = BooleanField("This is sensitive: keep the text out of email")
    files = MultipleFileField("Files (optional)")
    article = HiddenField(filters=[clean_article])
    reporter = HiddenField(filters=[clean_slug])
    # Honeypot: hidden from people by the stylesheet; bots that fill every field fill it.
    leave_blank = StringField("Leave this field empty")

    def set_topics(self, topics: Iterable[tuple[str, str]]) -> None:
        """Offer the directory's active topics, then “Not sure”."""
        self.topic.choices = [
            *(SelectChoice(slug, label) for slug, label in topics),
            SelectChoice("", "Not sure"),
        ]

    def body_prompt(self) -> str:
        """Return the body's label for the kind the reader chose."""
        return BODY_PROMPTS.get(self.kind.data or "tip", BODY_PROMPTS["tip"])

    def is_bot(self) -> bool:
        """Say whether the honeypot was filled in."""
        return bool((self.leave_blank.data or "").strip())

    def to_submission(self) -> NewSubmission:
        """Turn valid form data into the workflow's input."""
        kind = self.kind.data
        return NewSubmission(
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
