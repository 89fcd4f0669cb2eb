"""Keep only a reader's new text from an email reply: quoted history and signature removed.

Standard library only. quotequail (the library issue 12 suggests) was weighed and left out:
it needs lxml, gives back the reader's HTML (scripts included) rather than text, knows no
Russian or Ukrainian attribution but one, misses ">" lines and Outlook's header block
without its rule of underscores, and keeps its patterns in private modules.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from html.parser import HTMLParser

from intake.text import clean_multiline

SEPARATORS: tuple[str, ...] = (
    "-- Write your reply above this line --",
    "-- Напишите ответ над этой строкой --",
    "-- Напишіть відповідь над цим рядком --",
)

# Attributions name a time or an address, so a reader's own "On Monday I wrote:" stays.
_WHEN_OR_WHO = re.compile(r"\d{1,2}:\d{2}|@")
_TIME = re.compile(r"\d{1,2}:\d{2}")
_ATTRIBUTION_ENDINGS = (
    re.compile(r"^on\s.+\swrote\s*:$", re.IGNORECASE),  # Gmail, Apple, Thunderbird
    re.compile(
        r"^.+(?<!\w)(?:пишет|пише|написал\(а\)|написав\(ла\)|написала|написал|написав)\s*:$",
        re.IGNORECASE,
    ),
)
# Yandex, Mail.ru, ukr.net and Gmail in Russian end with the address alone; these need a time.
_ADDRESS_ENDING = re.compile(r"(?:<[^<>\s@]+@[^<>\s]+>|[\w.+-]+@[\w-]+(?:\.[\w-]+)+)\s*:$")
_DIVIDER = re.compile(
    r"^-{2,}\s*(?:original message|forwarded message|исходное сообщение|"
    r"оригинальное сообщение|пересылаемое сообщение|пересланное сообщение|"
    r"перенаправленное сообщение|оригінальне повідомлення|переслане повідомлення|"
    r"пересланий лист)\s*-{2,}$",
    re.IGNORECASE,
)
_FORWARD_INTROS = (
    "begin forwarded message:",
    "начало переадресованного сообщения:",
    "початок пересланого повідомлення:",
)
_RULE = re.compile(r"^_{20,}$")
_HEADER = re.compile(r"^\*?([^\W\d_]{1,20}(?: [^\W\d_]{1,20})?)\s?:\*?(?:\s+(.*))?$")
_FROM = frozenset({"from", "от", "від", "от кого", "від кого"})
_WHEN = frozenset({"sent", "date", "отправлено", "дата", "надіслано"})
_OTHER = frozenset({"to", "cc", "subject", "кому", "копия", "копія", "тема"})
# Lines longer than this are wrapped by clients, so an attribution may span two lines.
_WRAP_WIDTH = 76
# No client writes a longer attribution; the bound also keeps the patterns fast.
_MAX_ATTRIBUTION = 300


def new_text(plain: str | None, html: str | None) -> str:
    """Return the reader's new text of a reply, preferring the plain part to the HTML one."""
    if plain is not None and plain.strip():
        text = clean_multiline(plain)
    elif html is not None and html.strip():
        text = plain_from_html(html)
    else:
        return ""
    return strip_quotes(text)


def strip_quotes(text: str) -> str:
    """Remove quoted history and the signature from the plain text of a reply."""
    lines = [line.rstrip() for line in clean_multiline(text).split("\n")]
    lines = lines[: _history_start(lines)]
    lines = _drop_quoted(lines)
    lines = lines[: _signature_start(lines)]
    return _tidy(lines)


def _history_start(lines: Sequence[str]) -> int:
    """Return where quoted history without ">" marks begins, or the end if it never does."""
    for index, line in enumerate(lines):
        if _is_divider(line) or _is_outlook_block(lines, index):
            return _include_rule_above(lines, index)
        span = _attribution_span(lines, index)
        # Unquoted history is cut only under an attribution that names an address: a
        # reader's "On Monday at 10:00 the mayor wrote:" is followed by their own text.
        named = "@" in "".join(lines[index : index + span])
        if span and named and not _quoted_follows(lines, index + span):
            return index
    return len(lines)


def _is_divider(line: str) -> bool:
    """Say whether a line is our separator or a client's original/forwarded message divider."""
    plain = " ".join(line.split())
    return plain in SEPARATORS or bool(_DIVIDER.match(plain)) or plain.lower() in _FORWARD_INTROS


def _header(line: str) -> tuple[str, str] | None:
    """Read "Name: value" from a line of a quoted header block, or None."""
    match = _HEADER.match(line.strip())
    if match is None:
        return None
    return match.group(1).lower(), match.group(2) or ""


def _is_outlook_block(lines: Sequence[str], index: int) -> bool:
    """Say whether Outlook's "From: / Sent: / To: / Subject:" block starts at this line."""
    first = _header(lines[index])
    if first is None or first[0] not in _FROM:
        return False
    names = {first[0]}
    timed = False
    for line in lines[index + 1 : index + 8]:
        header = _header(line)
        if header is None or header[0] not in _WHEN | _OTHER:
            break
        names.add(header[0])
        timed = timed or (header[0] in _WHEN and bool(_TIME.search(header[1])))
    # A reader's memo ("От: …, Кому: …, Тема: …") has no sending time: it stays.
    return timed and len(names) >= 3


def _include_rule_above(lines: Sequence[str], index: int) -> int:
    """Move a cut up to Outlook's rule of underscores when one stands just above it."""
    above = index - 1
    while above >= 0 and not lines[above].strip():
        above -= 1
    return above if above >= 0 and _RULE.match(lines[above].strip()) else index


def _is_attribution(line: str) -> bool:
    """Say whether a line reads like "On …, X wrote:" in one of the clients' languages."""
    text = " ".join(line.split())
    if not text or text.startswith(">") or len(text) > _MAX_ATTRIBUTION:
        return False
    if _WHEN_OR_WHO.search(text) and any(p.match(text) for p in _ATTRIBUTION_ENDINGS):
        return True
    return bool(_TIME.search(text) and _ADDRESS_ENDING.search(text))


def _attribution_span(lines: Sequence[str], index: int) -> int:
    """Return how many lines an attribution starting here spans (0, 1 or 2)."""
    if _is_attribution(lines[index]):
        return 1
    if index + 1 >= len(lines) or _is_attribution(lines[index + 1]):
        return 0
    first, second = lines[index].strip(), lines[index + 1].strip()
    if not first or not second or second.startswith(">"):
        return 0
    joined = first + second if first.endswith("<") else f"{first} {second}"
    return 2 if len(joined) > _WRAP_WIDTH and _is_attribution(joined) else 0


def _quoted_follows(lines: Sequence[str], index: int) -> bool:
    """Say whether the next non-blank line from here is quoted with ">"."""
    for line in lines[index:]:
        if line.strip():
            return line.startswith(">")
    return False


def _drop_quoted(lines: Sequence[str]) -> list[str]:
    """Drop ">" lines and the attributions above them; keep replies written between them."""
    kept: list[str] = []
    index = 0
    while index < len(lines):
        span = _attribution_span(lines, index)
        if span and _quoted_follows(lines, index + span):
            index += span
        elif lines[index].startswith(">"):
            index += 1
        else:
            kept.append(lines[index])
            index += 1
    return kept


def _signature_start(lines: Sequence[str]) -> int:
    """Return where the "-- " signature begins, or the end if there is none."""
    for index, line in enumerate(lines):
        if line == "--":  # "-- " with its trailing space already trimmed
            return index
    return len(lines)


def _tidy(lines: Sequence[str]) -> str:
    """Join lines with at most one blank line in a row and none at either end."""
    tidy: list[str] = []
    for line in lines:
        if line.strip() or (tidy and tidy[-1]):
            tidy.append(line if line.strip() else "")
    return "\n".join(tidy).strip("\n")


_HIDDEN = frozenset(
    {"script", "style", "head", "title", "template", "svg", "xml", "object", "iframe"}
)
_VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
)
_BLOCKS = frozenset(
    {
        "address", "article", "aside", "blockquote", "body", "caption", "center", "dd",
        "details", "dialog", "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer",
        "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "html", "li", "main",
        "nav", "ol", "p", "pre", "section", "summary", "table", "tbody", "tfoot", "thead",
        "tr", "ul",
    }
)  # fmt: skip
_OUTLOOK_IDS = re.compile(r"^(?:x_)*(?:divRplyFwdMsg|OLK_SRC_BODY_SECTION)$")
_OUTLOOK_RULE = re.compile(r"border-top:\s*solid\s+#(?:E1E1E1|B5C4DF)", re.IGNORECASE)
_SPACES = re.compile(r"[ \t\n\r\f\v]+")
# Nested quotes are marked as clients mark them, up to a depth that keeps lines short.
_MAX_MARKS = 8


class _TextWriter(HTMLParser):
    """Write an HTML body as the plain text a mail client would, quoting with ">"."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self._open: list[tuple[str, str]] = []  # (tag, role): role is "", "quote" or "hide"
        # Counts of the open tags and roles, so deep nesting costs no rescans of the stack.
        self._tags: Counter[str] = Counter()
        self._roles: Counter[str] = Counter()
        self._words: list[str] = []
        self._depth = 0
        self._done = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Open an element: break the line, start a quote, or stop at Outlook's history."""
        values = {name: value or "" for name, value in attrs}
        if tag == "body":
            self._close("head")  # an unclosed <head> must not hide the body with it
        if _OUTLOOK_IDS.match(values.get("id", "")) or _OUTLOOK_RULE.search(
            values.get("style", "")
        ):
            self._end_line()
            self._done = True
        if tag in _BLOCKS:
            self._end_line()
        if tag == "br":
            self._end_line(force=True)
        elif tag in ("td", "th"):
            self._add(" ")
        if tag not in _VOID:
            role = _role(tag, values)
            self._open.append((tag, role))
            self._tags[tag] += 1
            self._roles[role] += 1

    def handle_endtag(self, tag: str) -> None:
        """Close an element and every element left open inside it."""
        if tag in _BLOCKS:
            self._end_line()
        self._close(tag)

    def handle_data(self, data: str) -> None:
        """Add visible text to the current line; <pre> keeps its own line breaks."""
        if self._done or self._roles["hide"]:
            return
        if not self._tags["pre"]:
            self._add(_SPACES.sub(" ", data))
            return
        first, *rest = data.split("\n")
        self._add(first)
        for part in rest:
            self._end_line(force=True)
            self._add(part)

    def close(self) -> None:
        """Finish the document and its last line."""
        super().close()
        self._end_line()

    def _close(self, tag: str) -> None:
        """Close the innermost open element of this tag and all opened after it."""
        if not self._tags[tag]:
            return
        while self._open:
            name, role = self._open.pop()
            self._tags[name] -= 1
            self._roles[role] -= 1
            if name == tag:
                return

    def _add(self, text: str) -> None:
        """Add text to the current line, noting how deep in quotes the line begins."""
        if not self._words:
            self._depth = self._roles["quote"]
        self._words.append(text)

    def _end_line(self, *, force: bool = False) -> None:
        """End the current line; an empty one only for <br> or a line break in <pre>."""
        if self._done:
            return
        text = "".join(self._words).replace("\xa0", " ").strip()
        if not self._words:
            self._depth = self._roles["quote"]
        if text or force:
            marks = "> " * min(self._depth, _MAX_MARKS)
            self.lines.append((marks + text).rstrip())
        self._words = []


def _role(tag: str, values: dict[str, str]) -> str:
    """Return what an element means here: hidden, a quote, or neither."""
    if tag in _HIDDEN:
        return "hide"
    if tag == "blockquote" or "gmail_quote" in values.get("class", "").split():
        return "quote"
    return ""


def plain_from_html(html: str) -> str:
    """Write an HTML body as plain text, never keeping markup; quotes become ">" lines."""
    writer = _TextWriter()
    writer.feed(html)
    writer.close()
    return _tidy(writer.lines)
