"""The public form: what a reader sees and what is stored."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from intake.models import Event, Submission
from intake.reference import PATTERN
from tests.conftest import count, field_errors, submissions, valid_form


def test_form_shows_every_contract_field(client: FlaskClient) -> None:
    html = client.get("/").get_data(as_text=True)
    for name in (
        "kind",
        "topic",
        "subject",
        "body",
        "name",
        "email",
        "consent_contact",
        "consent_publish",
        "sensitive",
        "article",
        "reporter",
    ):
        assert f'name="{name}"' in html, name


def test_form_offers_directory_topics_and_not_sure(client: FlaskClient) -> None:
    html = client.get("/").get_data(as_text=True)
    assert '<option value="russia-ukraine-war">Russia-Ukraine war</option>' in html
    assert '<option selected value="">Not sure</option>' in html


def test_form_says_anonymous_is_welcome_and_no_email_means_no_reply(client: FlaskClient) -> None:
    html = client.get("/").get_data(as_text=True)
    assert "You can stay anonymous" in html
    assert "without an email address we cannot reply" in html


@pytest.mark.parametrize(
    ("kind", "prompt"),
    [
        ("tip", "What do you know, and how do you know it?"),
        ("question", "What would you like us to find out?"),
    ],
)
def test_body_prompt_follows_the_kind(client: FlaskClient, kind: str, prompt: str) -> None:
    html = client.get(f"/?kind={kind}").get_data(as_text=True)
    assert f'<label for="body">{prompt}</label>' in html


def test_story_link_prefills_kind_topic_reporter_and_article(client: FlaskClient) -> None:
    html = client.get(
        "/?kind=question&topic=russia-ukraine-war&reporter=iryna"
        "&article=https://example.org/world/2026/11/peace-talks"
    ).get_data(as_text=True)
    assert 'checked data-prompt="What would you like us to find out?"' in html
    assert '<option selected value="russia-ukraine-war">' in html
    assert 'name="reporter" type="hidden" value="iryna"' in html
    assert 'value="https://example.org/world/2026/11/peace-talks"' in html


@pytest.mark.parametrize(
    "query",
    [
        "kind=rumour",
        "topic=no-such-topic",
        "reporter=<script>",
        "article=javascript:alert(1)",
    ],
)
def test_bad_prefill_is_dropped_not_an_error(client: FlaskClient, query: str) -> None:
    response = client.get(f"/?{query}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<script>" not in html
    assert "javascript:" not in html
    assert "rumour" not in html
    assert "no-such-topic" not in html


def test_valid_post_redirects_to_thanks_and_stores_the_submission(
    app: Flask, client: FlaskClient
) -> None:
    response = client.post(
        "/",
        data=valid_form(
            kind="question",
            name="Olena",
            email="Olena@Example.org",
            consent_contact="y",
            consent_publish="y",
            sensitive="y",
            article="https://example.org/story",
            reporter="iryna",
        ),
    )
    assert response.status_code == 303
    reference = response.headers["Location"].removeprefix("/thanks/")
    assert PATTERN.match(reference) and reference.startswith("Q-")
    [stored] = submissions(app)
    assert stored.reference == reference
    assert (stored.kind, stored.status) == ("question", "new")
    assert stored.subject == "Power cuts"
    assert stored.email == "Olena@example.org"  # the domain is normalised
    assert stored.consent_contact and stored.consent_publish and stored.sensitive
    assert (stored.article, stored.author_slug) == ("https://example.org/story", "iryna")
    assert stored.created_at.tzinfo is not None
    with app.app_context():
        from intake.extensions import db

        kinds = [e.kind for e in db.session.get_one(Submission, stored.id).events]
    assert kinds == ["created", "routed", "emailed", "emailed"]  # notice and reader's receipt


def test_publishing_consent_is_kept_for_questions_only(app: Flask, client: FlaskClient) -> None:
    client.post("/", data=valid_form(kind="tip", consent_publish="y"))
    [stored] = submissions(app)
    assert stored.consent_publish is False


def test_not_sure_stores_no_topic(app: Flask, client: FlaskClient) -> None:
    assert client.post("/", data=valid_form(topic="")).status_code == 303
    [stored] = submissions(app)
    assert stored.topic_id is None


LONG = "x" * 20_001


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("body", "", "Write your tip or question here: it cannot be empty."),
        ("body", "   \n\t  ", "Write your tip or question here: it cannot be empty."),
        ("body", "Too short", "Please write at least 20 characters (you wrote 9)"),
        ("body", "\x00\x01" * 20 + "short", "Please write at least 20 characters (you wrote 5)"),
        ("body", LONG, "Please keep it under 20,000 characters (you wrote 20,001)"),
        ("subject", "s" * 201, "The subject can be at most 200 characters (you wrote 201)."),
        ("name", "n" * 101, "Your name can be at most 100 characters (you wrote 101)."),
        ("email", "not-an-email", "This does not look like an email address"),
        ("email", "reader@localhost", "This does not look like an email address"),
        ("email", "a" * 250 + "@example.org", "An email address has at most 254 characters."),
        ("email", "олена@example.org", "We cannot send email to an address with non-Latin"),
        ("kind", "rumour", "Choose whether you are sending a tip or a question."),
        ("kind", "", "Choose whether you are sending a tip or a question."),
        ("topic", "no-such-topic", "Choose a topic from the list, or “Not sure”."),
        ("consent_contact", "y", "Add an email address so we can contact you"),
    ],
)
def test_bad_input_is_a_field_error_and_stores_nothing(
    app: Flask, client: FlaskClient, field: str, value: str, message: str
) -> None:
    response = client.post("/", data=valid_form(**{field: value}))
    assert response.status_code == 400
    errors = field_errors(response.get_data(as_text=True))
    assert list(errors) == [field]
    assert errors[field].startswith(message)
    assert count(app, Submission) == 0


def test_invalid_form_keeps_the_readers_text(client: FlaskClient) -> None:
    body = "Росія знову обстріляла Харків <b>вночі</b>, є загиблі."
    response = client.post("/", data=valid_form(body=body, email="nope"))
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Росія знову обстріляла Харків &lt;b&gt;вночі&lt;/b&gt;, є загиблі." in html
    assert 'value="nope"' in html


@pytest.mark.parametrize(
    "text",
    [
        "Де зараз фронт? Що відбувається біля Покровська цього тижня?",
        "Почему Кремль отказывается от переговоров? 🇺🇦🕊️ 👨‍👩‍👧",
        "מה קורה עכשיו בגבול הצפוני? ما الذي يحدث في غزة الآن؟",
        "Line one\n\nLine two\twith a tab — and “quotes”",
    ],
)
def test_non_latin_text_is_stored_unchanged(app: Flask, client: FlaskClient, text: str) -> None:
    assert client.post("/", data=valid_form(body=text, subject=text[:30])).status_code == 303
    [stored] = submissions(app)
    assert stored.body == text
    assert stored.subject == " ".join(text[:30].split())  # one line, spaces collapsed


@pytest.mark.parametrize(
    ("sent", "stored_body"),
    [
        ("Null\x00 byte in the middle of a long tip", "Null byte in the middle of a long tip"),
        (
            "Bell\x07 and escape\x1b[31m in a long enough tip",
            "Bell and escape[31m in a long enough tip",
        ),
        (
            "Windows\r\nline ends\rin an old-Mac tip too",
            "Windows\nline ends\nin an old-Mac tip too",
        ),
        ("C1 control\x85\x9b characters in a long tip", "C1 control characters in a long tip"),
    ],
)
def test_control_characters_are_removed(
    app: Flask, client: FlaskClient, sent: str, stored_body: str
) -> None:
    assert client.post("/", data=valid_form(body=sent)).status_code == 303
    [stored] = submissions(app)
    assert stored.body == stored_body


def test_subject_and_name_become_one_line(app: Flask, client: FlaskClient) -> None:
    form = valid_form(
        subject="Hi\r\nBcc: x@example.org",
        name="A\u2028B\nC",
        email="a@example.org",
        consent_contact="y",  # a name is kept only with consent to be contacted
    )
    client.post("/", data=form)
    [stored] = submissions(app)
    assert stored.subject == "Hi Bcc: x@example.org"
    assert stored.name == "A B C"


def test_filled_honeypot_looks_like_success_and_stores_nothing(
    app: Flask, client: FlaskClient
) -> None:
    response = client.post("/", data=valid_form(leave_blank="http://spam.example"))
    assert response.status_code == 303
    reference = response.headers["Location"].removeprefix("/thanks/")
    assert PATTERN.match(reference)
    assert client.get(response.headers["Location"]).status_code == 200
    assert count(app, Submission) == 0
    assert count(app, Event) == 0


def test_request_over_the_size_limit_gets_a_friendly_413(app: Flask, client: FlaskClient) -> None:
    response = client.post("/", data=valid_form(body="x" * (app.config["MAX_CONTENT_LENGTH"] + 1)))
    assert response.status_code == 413
    assert "Your message is too large" in response.get_data(as_text=True)
    assert count(app, Submission) == 0


def test_hidden_fields_keep_only_safe_values(app: Flask, client: FlaskClient) -> None:
    client.post("/", data=valid_form(article="javascript:alert(1)", reporter="Robert'); DROP"))
    [stored] = submissions(app)
    assert (stored.article, stored.author_slug) == ("", "")


def test_thanks_page_shows_reference_and_next_steps_not_content(
    client: FlaskClient,
) -> None:
    body = "A very particular secret detail about the ministry"
    location = client.post("/", data=valid_form(body=body)).headers["Location"]
    html = client.get(location).get_data(as_text=True)
    reference = location.removeprefix("/thanks/")
    assert reference in html
    assert "What happens next" in html
    assert "particular secret" not in html
    assert "Power cuts" not in html


@pytest.mark.parametrize("reference", ["nope", "T-0000-0000", "X-2345-6789", "t-2345-6789"])
def test_thanks_for_a_malformed_reference_is_404(client: FlaskClient, reference: str) -> None:
    response = client.get(f"/thanks/{reference}")
    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True)


def test_database_failure_keeps_the_text_and_stores_no_half_row(
    app: Flask, client: FlaskClient
) -> None:
    from intake.extensions import db

    with app.app_context():
        # The submission row is written first; losing the events table makes the
        # transaction fail half way, which must leave no submission behind.
        db.session.execute(db.text("DROP TABLE events"))
        db.session.commit()
    body = "Тут є важлива інформація про мобілізацію"
    response = client.post("/", data=valid_form(body=body))
    assert response.status_code == 503
    html = response.get_data(as_text=True)
    assert "We could not save your message just now" in html
    assert body in html
    assert count(app, Submission) == 0


def test_pages_are_not_cached_and_send_no_referrer(client: FlaskClient) -> None:
    for url in ("/", "/thanks/T-2345-6789"):
        response = client.get(url)
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["Referrer-Policy"] == "no-referrer"
