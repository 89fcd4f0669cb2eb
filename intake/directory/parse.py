"""The newsroom directory file: parse it and validate it, naming every problem."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from email_validator import EmailNotValidError, validate_email

from intake import routing, webhooks
from intake.models import EMAIL_CONTENT
from intake.routing import DeskInfo, ReporterInfo, TopicInfo, parse_shift

LABEL_KEY = re.compile(r"^label_([a-z]{2})$")
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
ISO_639_1 = frozenset(
    "aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu "
    "cv cy da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi "
    "ho hr ht hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks "
    "ku kv kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl "
    "nn no nr nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl "
    "sm sn so sq sr ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve "
    "vi vo wa wo xh yi yo za zh zu".split()
)


class DirectoryError(Exception):
    """A directory file that cannot be loaded; `problems` names each entry and what is wrong."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True)
class NewsroomFile:
    """A whole, valid directory file."""

    name: str
    public_url: str
    sender: str
    default_desk: str
    # The same records routing decides with: a file can be routed without a database.
    desks: tuple[DeskInfo, ...]
    topics: tuple[TopicInfo, ...]
    reporters: tuple[ReporterInfo, ...]
    # Topic labels in other languages for the public form: slug -> {"ru": ..., "uk": ...}.
    topic_labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    # A desk's chat webhook (slug -> URL) and a reporter's OpenPGP key (slug -> path, relative
    # to the file's folder): not routing's business, so not in its records.
    chat_webhooks: Mapping[str, str] = field(default_factory=dict)
    pgp_keys: Mapping[str, str] = field(default_factory=dict)
    # The folder of the file, which key paths are relative to (None: the working folder).
    folder: Path | None = None


# Each section's keys: name -> (required, type, check). A check returns a problem or None.
Check = Callable[[Any], str | None]


def _check_slug(value: str) -> str | None:
    if SLUG.match(value):
        return None
    return "slug must be lower-case letters, digits and hyphens (at most 64)"


def _check_email(value: str) -> str | None:
    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        return f"email {value!r} is not valid: {exc}"
    return None


def _check_url(value: str) -> str | None:
    parts = urlsplit(value)
    if parts.scheme in {"http", "https"} and parts.netloc:
        return None
    return f"{value!r} is not an http(s) URL"


def _check_timezone(value: str) -> str | None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        return f"unknown time zone {value!r} (use an IANA name such as 'Europe/Kyiv')"
    return None


def _check_shift(value: str) -> str | None:
    if parse_shift(value) is None:
        return f"shift {value!r} must be 'HH:MM-HH:MM' in 24-hour time, start and end differing"
    return None


def _check_languages(value: list[str]) -> str | None:
    bad = [code for code in value if code not in ISO_639_1]
    if bad:
        return f"languages {bad!r} are not ISO 639-1 codes such as 'en', 'ru', 'uk'"
    return None if value else "languages must name at least one language"


def _check_email_content(value: str) -> str | None:
    if value in EMAIL_CONTENT:
        return None
    return f"email_content must be one of {', '.join(EMAIL_CONTENT)}, not {value!r}"


def _check_ack_minutes(value: int) -> str | None:
    return None if 1 <= value <= 1440 else f"ack_minutes must be 1 to 1440, not {value}"


def _check_hour(value: int) -> str | None:
    return None if 0 <= value <= 23 else f"digest_hour must be 0 to 23, not {value}"


def _check_text(value: str) -> str | None:
    return None if value.strip() else "must not be empty"


def _check_webhook(value: str) -> str | None:
    return webhooks.check_url(value) or None


def _check_key_path(value: str) -> str | None:
    if not value.strip() or not value.isprintable() or len(value) > 500:
        return "must be the path of an armored OpenPGP public key (at most 500 characters)"
    path = PurePath(value.strip())
    if path.is_absolute() or ".." in path.parts:
        # The file names keys beside it; it must not make the server read anything else.
        return "must be a path inside the directory file's folder (no leading / and no ..)"
    return None


SCHEMA: dict[str, dict[str, tuple[bool, type, Check | None]]] = {
    "newsroom": {
        "name": (True, str, _check_text),
        "public_url": (True, str, _check_url),
        "sender": (True, str, _check_email),
        "default_desk": (True, str, None),
    },
    "desks": {
        "slug": (True, str, _check_slug),
        "name": (True, str, _check_text),
        "email": (True, str, _check_email),
        "email_content": (False, str, _check_email_content),
        "ack_minutes": (False, int, _check_ack_minutes),
        "editors": (False, list, None),
        "timezone": (False, str, _check_timezone),
        "digest_hour": (False, int, _check_hour),
        "chat_webhook": (False, str, _check_webhook),
    },
    "topics": {
        "slug": (True, str, _check_slug),
        "label": (True, str, _check_text),
        "desk": (True, str, None),
        "keywords": (False, list, None),
    },
    "reporters": {
        "slug": (True, str, _check_slug),
        "name": (True, str, _check_text),
        "email": (True, str, _check_email),
        "desks": (True, list, None),
        "topics": (False, list, None),
        "languages": (True, list, _check_languages),
        "timezone": (True, str, _check_timezone),
        "shift": (True, str, _check_shift),
        "pgp_key": (False, str, _check_key_path),
    },
}


def _entry_name(section: str, index: int, table: Mapping[str, Any]) -> str:
    slug = table.get("slug")
    return f"{section}[{index + 1}]" + (f" {slug!r}" if isinstance(slug, str) else "")


def _check_table(where: str, section: str, table: Any, problems: list[str]) -> bool:
    """Check one table's keys and value types; report each problem under `where`."""
    if not isinstance(table, dict):
        problems.append(f"{where}: must be a table")
        return False
    schema = SCHEMA[section]
    ok = True
    for key in table:
        if section == "topics" and (translated := LABEL_KEY.match(key)):
            code, value = translated.group(1), table[key]
            if code not in ISO_639_1:
                problems.append(f"{where}: {key}: {code!r} is not an ISO 639-1 code")
                ok = False
            elif not isinstance(value, str) or not value.strip():
                problems.append(f"{where}: {key!r} must be a non-empty string")
                ok = False
        elif key not in schema:
            known = ", ".join(schema) + (", label_<language>" if section == "topics" else "")
            problems.append(f"{where}: unknown key {key!r} (known: {known})")
            ok = False
    for key, (required, kind, check) in schema.items():
        if key not in table:
            if required:
                problems.append(f"{where}: missing key {key!r}")
                ok = False
            continue
        value = table[key]
        if (
            not isinstance(value, kind)
            or (kind is int and isinstance(value, bool))
            or (isinstance(value, list) and not all(isinstance(item, str) for item in value))
        ):
            wanted = {list: "a list of strings", int: "a whole number"}.get(kind, "a string")
            problems.append(f"{where}: {key!r} must be {wanted}")
            ok = False
            continue
        problem = check(value) if check else None
        if problem:
            problems.append(f"{where}: {key}: {problem}")
            ok = False
    return ok


def _unique(items: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def parse_newsroom(text: str, folder: Path | None = None) -> NewsroomFile:
    """Parse and validate a directory file's text; raise DirectoryError naming every problem.

    `folder` is where the file lives: reporters' key paths are relative to it.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DirectoryError([f"not valid TOML: {exc}"]) from None
    except RecursionError:
        # tomllib recurses once per nested array: a crafted upload must not be a 500.
        raise DirectoryError(["not valid TOML: nested too deeply"]) from None

    problems: list[str] = []
    for key in data:
        if key not in SCHEMA:
            problems.append(f"unknown section {key!r} (known: {', '.join(SCHEMA)})")
    newsroom = data.get("newsroom")
    if newsroom is None:
        problems.append("missing section [newsroom]")
    else:
        _check_table("[newsroom]", "newsroom", newsroom, problems)

    sections: dict[str, list[dict[str, Any]]] = {}
    for section in ("desks", "topics", "reporters"):
        tables = data.get(section, [])
        if not isinstance(tables, list):
            problems.append(f"{section}: must be written as [[{section}]] entries")
            tables = []
        good: list[dict[str, Any]] = []
        seen: set[str] = set()
        for index, table in enumerate(tables):
            where = _entry_name(section, index, table if isinstance(table, dict) else {})
            if not _check_table(where, section, table, problems):
                continue
            if table["slug"] in seen:
                problems.append(f"{where}: duplicate slug {table['slug']!r}")
                continue
            seen.add(table["slug"])
            good.append(table)
        sections[section] = good
    if not sections["desks"] and not any("desks[" in p for p in problems):
        problems.append("the file must describe at least one desk")

    desks = {t["slug"] for t in sections["desks"]}
    topic_desk = {t["slug"]: t["desk"] for t in sections["topics"]}
    if isinstance(newsroom, dict) and isinstance(newsroom.get("default_desk"), str):
        if newsroom["default_desk"] not in desks:
            problems.append(f"[newsroom]: default_desk {newsroom['default_desk']!r} is no desk")
    reporter_slugs = {t["slug"] for t in sections["reporters"]}
    for index, table in enumerate(sections["desks"]):
        for editor in table.get("editors", []):
            if editor not in reporter_slugs:
                where = _entry_name("desks", index, table)
                problems.append(f"{where}: editor {editor!r} is not a reporter in this file")
    for index, table in enumerate(sections["topics"]):
        if table["desk"] not in desks:
            where = _entry_name("topics", index, table)
            problems.append(f"{where}: desk {table['desk']!r} is not a desk in this file")
    for index, table in enumerate(sections["reporters"]):
        where = _entry_name("reporters", index, table)
        for desk in table["desks"]:
            if desk not in desks:
                problems.append(f"{where}: desk {desk!r} is not a desk in this file")
        if not table["desks"]:
            problems.append(f"{where}: desks must name at least one desk")
        for topic in table.get("topics", []):
            if topic not in topic_desk:
                problems.append(f"{where}: topic {topic!r} is not a topic in this file")
            elif topic_desk[topic] not in table["desks"]:
                problems.append(
                    f"{where}: covers topic {topic!r} of desk {topic_desk[topic]!r} "
                    "but is not on that desk"
                )
    if problems:
        raise DirectoryError(problems)

    assert isinstance(newsroom, dict)  # noqa: S101 - checked above
    return NewsroomFile(
        name=newsroom["name"].strip(),
        public_url=newsroom["public_url"].rstrip("/"),
        sender=newsroom["sender"],
        default_desk=newsroom["default_desk"],
        desks=tuple(
            DeskInfo(
                t["slug"],
                t["name"].strip(),
                t["email"],
                t.get("email_content", "full"),
                ack_minutes=t.get("ack_minutes", 60),
                editors=_unique(t.get("editors", [])),
                timezone=t.get("timezone", "UTC"),
                digest_hour=t.get("digest_hour", 8),
            )
            for t in sections["desks"]
        ),
        topics=tuple(
            TopicInfo(
                t["slug"],
                t["label"].strip(),
                t["desk"],
                _unique([k.strip().casefold() for k in t.get("keywords", []) if k.strip()]),
            )
            for t in sections["topics"]
        ),
        topic_labels={
            t["slug"]: {
                match.group(1): t[key].strip() for key in t if (match := LABEL_KEY.match(key))
            }
            for t in sections["topics"]
        },
        reporters=tuple(
            ReporterInfo(
                slug=t["slug"],
                name=t["name"].strip(),
                email=t["email"],
                desks=_unique(t["desks"]),
                languages=_unique(t["languages"]),
                timezone=t["timezone"],
                shift=t["shift"],
                topics=_unique(t.get("topics", [])),
            )
            for t in sections["reporters"]
        ),
        chat_webhooks={
            t["slug"]: t["chat_webhook"] for t in sections["desks"] if "chat_webhook" in t
        },
        pgp_keys={t["slug"]: t["pgp_key"].strip() for t in sections["reporters"] if "pgp_key" in t},
        folder=folder,
    )


def read_newsroom(path: str | Path) -> NewsroomFile:
    """Read and validate a directory file from disk."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise DirectoryError([f"cannot read {str(path)!r}: {exc}"]) from None
    return parse_newsroom(text, Path(path).resolve().parent)


def routing_directory(newsroom: NewsroomFile) -> routing.Directory:
    """Describe a directory file as routing sees it, with nobody carrying any load."""
    return routing.Directory(
        desks={d.slug: d for d in newsroom.desks},
        topics={t.slug: t for t in newsroom.topics},
        reporters=newsroom.reporters,
        default_desk=newsroom.default_desk,
    )
