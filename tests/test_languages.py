"""The public pages and the reader's receipt in English, Russian and Ukrainian."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient

from intake.extensions import db
from intake.models import OutboxEmail, Submission
from tests.conftest import field_errors, valid_form

TRANSLATIONS = Path(__file__).resolve().parent.parent / "intake" / "translations"
HEADINGS = {
    "en": "Send us a tip or a question",
    "ru": "Сообщите нам информацию или задайте вопрос",
    "uk": "Повідомте нам інформацію або поставте запитання",
}


@pytest.mark.parametrize(
    ("accept", "locale"),
    [
        ("uk-UA,uk;q=0.9,en;q=0.5", "uk"),
        ("ru,en;q=0.5", "ru"),
        ("de-DE,de;q=0.9", "en"),
        ("", "en"),
        ("pl;q=1.0, uk;q=0.4", "uk"),
    ],
)
def test_language_follows_accept_language(client: FlaskClient, accept: str, locale: str) -> None:
    html = client.get("/", headers={"Accept-Language": accept}).get_data(as_text=True)
    assert f'<html lang="{locale}">' in html
    assert HEADINGS[locale] in html


def test_switcher_keeps_what_was_typed_and_the_choice_sticks(
    app: Flask, client: FlaskClient
) -> None:
    text = "Half-written tip that must survive the switch."
    response = client.post(
        "/",
        data={**valid_form(body=text, email="broken"), "switch_lang": "uk"},
        headers={"Accept-Language": "en"},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert HEADINGS["uk"] in html and text in html and 'value="broken"' in html
    assert field_errors(html) == {}  # switching is not sending: no errors yet
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Submission)) == 0
    # The next page stays Ukrainian, whatever the browser prefers.
    assert HEADINGS["uk"] in client.get("/", headers={"Accept-Language": "en"}).get_data(
        as_text=True
    )


def test_errors_are_in_the_readers_language(client: FlaskClient) -> None:
    html = client.post("/?lang=ru", data=valid_form(body="Мало")).get_data(as_text=True)
    assert field_errors(html)["body"].startswith(
        "Напишите, пожалуйста, не меньше 20 знаков (у вас 4)"
    )


def test_topics_are_labelled_in_the_readers_language(client: FlaskClient) -> None:
    html = client.get("/?lang=uk").get_data(as_text=True)
    assert '<option value="russia-ukraine-war">Війна Росії з Україною</option>' in html
    assert "Не впевнений(а)" in html


@pytest.mark.parametrize(
    ("locale", "subject", "phrase"),
    [
        ("en", "We received your tip", "Thank you for your tip."),
        ("ru", "Мы получили ваше сообщение", "Спасибо за ваше сообщение."),
        ("uk", "Ми отримали ваше повідомлення", "Дякуємо за ваше повідомлення."),
    ],
)
def test_receipt_is_in_the_language_of_the_form(
    app: Flask, client: FlaskClient, locale: str, subject: str, phrase: str
) -> None:
    client.post(f"/?lang={locale}", data=valid_form(email="reader@example.org"))
    with app.app_context():
        receipt = db.session.scalars(
            sa.select(OutboxEmail).where(OutboxEmail.purpose == "reader_ack")
        ).one()
        stored = db.session.scalars(sa.select(Submission)).one()
    assert stored.locale == locale
    assert receipt.subject.startswith(subject)
    assert phrase in receipt.body
    assert stored.reference in receipt.body


def test_staff_pages_stay_english(client: FlaskClient) -> None:
    client.get("/?lang=uk")
    html = client.get("/staff/login").get_data(as_text=True)
    assert '<html lang="en">' in html and "Staff sign-in" in html


@pytest.mark.parametrize("locale", ["ru", "uk"])
def test_catalogue_is_complete_and_keeps_every_placeholder(locale: str) -> None:
    path = TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        catalog = read_po(handle)
    with (TRANSLATIONS / "messages.pot").open("rb") as handle:
        template = read_po(handle)
    assert {m.id for m in template if m.id} == {m.id for m in catalog if m.id}
    for message in catalog:
        if not message.id:
            continue
        assert message.string and not message.fuzzy, message.id
        placeholders = sorted(re.findall(r"%\(\w+\)s", str(message.id)))
        assert sorted(re.findall(r"%\(\w+\)s", str(message.string))) == placeholders, message.id


@pytest.mark.parametrize("locale", ["en", "ru", "uk"])
def test_no_two_fields_of_the_form_have_the_same_name(client: FlaskClient, locale: str) -> None:
    html = client.get(f"/?lang={locale}").get_data(as_text=True)
    labels = [
        re.sub(r"\s*\(.*\)\s*$", "", re.sub(r"<[^>]+>", "", label)).strip().lower()
        for label in re.findall(r"<(?:label|legend)[^>]*>(.*?)</(?:label|legend)>", html, re.S)
    ]
    labels = [label for label in labels if label]
    assert len(labels) >= 6, labels
    assert len(labels) == len(set(labels)), labels
