"""The readers' languages: which one a request gets, and how the switcher names them."""

from __future__ import annotations

from flask import request, session
from werkzeug.exceptions import HTTPException

LOCALES = ("en", "ru", "uk")
DEFAULT = "en"
# Each language named in itself, for the switcher.
NATIVE_NAMES = {"en": "English", "ru": "Русский", "uk": "Українська"}


def _switch_from_form() -> str | None:
    """Read the switcher's button from a posted form, if the form can be read at all."""
    if request.method != "POST":
        return None
    try:
        return request.form.get("switch_lang")
    except HTTPException:
        # An oversized or broken body: its error page must still render (in the saved language).
        return None


def select_locale() -> str:
    """Pick the page language: a switcher choice, then the saved one, then Accept-Language.

    Staff pages stay English (DESIGN.md), whatever a reader's choice on this browser was.
    """
    if request.blueprint == "staff":
        return DEFAULT
    chosen = request.args.get("lang") or _switch_from_form()
    if chosen in LOCALES:
        session["lang"] = chosen
        return chosen
    saved = session.get("lang")
    if saved in LOCALES:
        return str(saved)
    return request.accept_languages.best_match(LOCALES) or DEFAULT
