"""Cleaning readers' text: control characters out, every script and emoji kept."""

from __future__ import annotations

import pytest

from intake.text import clean_line, clean_multiline


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("  Київ\r\nХарків\rОдеса\n ", "Київ\nХарків\nОдеса"),
        ("tab\tkept", "tab\tkept"),
        ("nul\x00 bell\x07 esc\x1b del\x7f c1\x9b", "nul bell esc del c1"),
        ("👨‍👩‍👧 🇺🇦 \u200fשלום\u200e", "👨‍👩‍👧 🇺🇦 \u200fשלום\u200e"),
        (None, ""),
    ],
)
def test_clean_multiline(raw: str | None, clean: str) -> None:
    assert clean_multiline(raw) == clean


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Subject\r\nBcc: victim@example.org", "Subject Bcc: victim@example.org"),
        ("folded\r\n continuation", "folded continuation"),
        ("a\u2028b\u2029c\x85d\x0be\x0cf", "a b c d e f"),
        ("  many   spaces  ", "many spaces"),
        ("Олена 👋", "Олена 👋"),
        (None, ""),
    ],
)
def test_clean_line(raw: str | None, clean: str) -> None:
    assert clean_line(raw) == clean
