"""Language detection on short reader texts, against a labelled set."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from intake.language import LANGUAGES, UNDETERMINED, detect

LABELLED = Path(__file__).parent / "data" / "languages.tsv"


def labelled() -> list[tuple[str, str]]:
    rows = []
    for line in LABELLED.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            language, text = line.split("\t", 1)
            rows.append((language, text))
    return rows


def test_labelled_set_is_large_enough_in_english_russian_and_ukrainian() -> None:
    counts = Counter(language for language, _ in labelled())
    assert sum(counts[lang] for lang in ("en", "ru", "uk")) >= 30
    assert min(counts[lang] for lang in ("en", "ru", "uk")) >= 10


def test_at_least_95_percent_of_the_labelled_set_is_right() -> None:
    rows = labelled()
    wrong = [(lang, detect(text), text) for lang, text in rows if detect(text) != lang]
    assert len(wrong) <= 0.05 * len(rows), wrong


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Де зараз фронт?", "uk"),
        ("Где сейчас фронт?", "ru"),
        ("Дякую", "uk"),
        ("Спасибо", "ru"),
    ],
)
def test_russian_and_ukrainian_apart_on_very_short_texts(text: str, language: str) -> None:
    assert detect(text) == language


@pytest.mark.parametrize("text", ["", "ok", "12345 678", "👍👍👍", "?!", "   "])
def test_too_little_to_tell_is_undetermined(text: str) -> None:
    assert detect(text) == UNDETERMINED


def test_every_required_language_is_recognised() -> None:
    assert {"en", "ru", "uk", "es", "fr", "de", "pl", "ar"} <= set(LANGUAGES)
    found = {detect(text) for lang, text in labelled()}
    assert {"en", "ru", "uk", "es", "fr", "de", "pl", "ar"} <= found
