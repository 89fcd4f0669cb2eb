"""Anything a reader can send gets 303, 400 or 413 — never a 500 — and never half a row."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intake.extensions import db
from intake.models import Event, OutboxEmail, Submission
from tests.conftest import make_app

FIELDS = (
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
    "leave_blank",
)
NASTY = st.sampled_from(
    [
        "\x00",
        "\r\n",
        "\r",
        "\n",
        "\u2028",
        "\u202e",
        "\ufeff",
        "\x1b[31m",
        "%0d%0a",
        "' OR 1=1 --",
        "<script>alert(1)</script>",
        "../../etc/passwd",
        "Київ",
        "🇺🇦",
        "ا",
        "\t",
        "\x7f",
        "\x85",
    ]
)
# Ordinary text, control characters and line breaks, sometimes huge, sometimes valid-looking.
VALUE = st.one_of(
    st.text(max_size=60),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=400),
    st.lists(NASTY, max_size=10).map("".join),
    st.builds(
        lambda s, n: s * n,
        st.sampled_from(["x", "ї", "\x00", "\r\n", "😀"]),
        st.integers(0, 30_000),
    ),
    st.sampled_from(
        [
            "tip",
            "question",
            "russia-ukraine-war",
            "y",
            "iryna",
            "a@example.org",
            "https://example.org/story",
            "A long enough body for a real tip, really.",
        ]
    ),
)
FORMS = st.dictionaries(st.sampled_from(FIELDS), VALUE, max_size=len(FIELDS))


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """One app for every example: hypothesis runs many, and each posts to it."""
    app = make_app(Path(tmp_path_factory.mktemp("fuzz")), MAX_CONTENT_LENGTH=256 * 1024)
    yield app
    with app.app_context():
        db.engine.dispose()


def counts(app: Flask) -> tuple[int, int, int]:
    with app.app_context():
        return tuple(  # type: ignore[return-value]
            db.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0
            for model in (Submission, Event, OutboxEmail)
        )


@settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(form=FORMS)
def test_any_form_gets_a_clear_answer_and_a_whole_row_or_none(
    fuzz_app: Flask, form: dict[str, str]
) -> None:
    before = counts(fuzz_app)
    response = fuzz_app.test_client().post("/", data=form)
    after = counts(fuzz_app)
    assert response.status_code in (303, 400, 413), response.status_code
    if response.status_code == 303 and not form.get("leave_blank", "").strip():
        submissions, events, emails = (a - b for a, b in zip(after, before, strict=True))
        assert submissions == 1
        assert events >= 3 and emails >= 1  # created, routed, emailed; the notice
        with fuzz_app.app_context():
            stored = db.session.scalars(
                sa.select(Submission).order_by(Submission.id.desc()).limit(1)
            ).one()
            for text in (stored.subject, stored.name, stored.email):
                assert not any(ch in text for ch in "\r\n\x00\u2028")
            assert "\x00" not in stored.body
    else:
        assert after == before
