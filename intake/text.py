"""Clean text that readers send: drop control characters, keep every script and emoji."""

from __future__ import annotations

import re
import unicodedata

# Line and paragraph separators end a header line in some mail clients; in a one-line
# field they become spaces like any other line break.
_LINE_BREAKS = re.compile(r"\r\n|[\r\n\t\v\f\u0085\u2028\u2029]")


def _drop_controls(text: str, keep: str) -> str:
    """Remove control characters (Cc) and lone surrogates (Cs), except those in `keep`."""
    return "".join(ch for ch in text if ch in keep or unicodedata.category(ch) not in {"Cc", "Cs"})


def clean_multiline(value: str | None) -> str:
    """Normalise line ends to \\n and drop control characters but tab and newline."""
    if not value:
        return ""
    text = value.replace("\r\n", "\n").replace("\r", "\n")
    return _drop_controls(text, keep="\n\t").strip()


def clean_line(value: str | None) -> str:
    """Turn line breaks into spaces and drop control characters: safe for one-line fields."""
    if not value:
        return ""
    text = _LINE_BREAKS.sub(" ", value)
    return " ".join(_drop_controls(text, keep="").split())


def whole_number(value: str | None, digits: int = 18) -> int | None:
    """Return the whole number a parameter holds in ASCII digits, or None.

    Not str.isdigit: it accepts "²" and other digits that int() then refuses (a 500).
    """
    if value is None or not re.fullmatch(f"[0-9]{{1,{digits}}}", value):
        return None
    return int(value)


def ascii_digits(text: str) -> str:
    """Keep the decimal digits of any script a keyboard types, as ASCII; drop the rest."""
    return "".join(str(unicodedata.decimal(ch)) for ch in text if ch.isdecimal())


def asking_part(text: str) -> str:
    """Return the sentence that asks (a reader often gives context first)."""
    sentences = [s for s in re.split(r"(?<=[.!?…])\s+", text.strip()) if s]
    asking = [s for s in sentences if "?" in s]
    return asking[-1] if asking else (sentences[-1] if sentences else "")


def asking_sentence(text: str, limit: int = 300) -> str:
    """Return the asking sentence of a text, bounded: a group's title, a published quote."""
    part = asking_part(text) or text.strip()
    return part if len(part) <= limit else part[: limit - 1].rstrip() + "…"
