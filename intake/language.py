"""Detect the language of a reader's text as an ISO 639-1 code, offline."""

from __future__ import annotations

import threading

from lingua import IsoCode639_1, Language, LanguageDetector, LanguageDetectorBuilder

UNDETERMINED = "und"
# The languages intake's readers write in. Each one costs memory (lingua's models), and a
# language that is not listed cannot be confused with one that is.
LANGUAGES = ("en", "ru", "uk", "es", "fr", "de", "pl", "ar")
NAMES = {
    "en": "English",
    "ru": "Russian",
    "uk": "Ukrainian",
    "es": "Spanish",
    "fr": "French",
    "de": "German",
    "pl": "Polish",
    "ar": "Arabic",
    UNDETERMINED: "an unknown language",
}
# Below these, a guess is noise: two letters ("ok"), or a top language that lingua
# rates under 30% (short English questions score 0.35 to 0.6 and must still count).
MIN_LETTERS = 3
MIN_CONFIDENCE = 0.3

_lock = threading.Lock()
_detector: LanguageDetector | None = None


def _get_detector() -> LanguageDetector:
    global _detector
    with _lock:
        if _detector is None:
            languages = [
                Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper()))
                for code in LANGUAGES
            ]
            _detector = LanguageDetectorBuilder.from_languages(*languages).build()
        return _detector


def warm() -> None:
    """Load the models now (e.g. in gunicorn's master, so workers share them)."""
    detect("Де зараз фронт? Where is the front now? ¿Dónde está el frente?")


def detect(text: str) -> str:
    """Return the ISO 639-1 code of the text's language, or 'und' when it cannot tell."""
    if sum(ch.isalpha() for ch in text) < MIN_LETTERS:
        return UNDETERMINED
    values = _get_detector().compute_language_confidence_values(text)
    if not values or values[0].value < MIN_CONFIDENCE:
        return UNDETERMINED
    return values[0].language.iso_code_639_1.name.lower()


def name(code: str) -> str:
    """Return a language's English name for reasons and emails."""
    return NAMES.get(code, code)
