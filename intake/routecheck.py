"""Route test submissions against a directory file, as `flask intake route-check` does."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from typing import Any

from intake.language import detect
from intake.routing import Directory, Facts, route

KINDS = ("tip", "question")
TEXT_FIELDS = ("topic", "subject", "body", "reporter", "article")


def parse_time(value: Any) -> datetime:
    """Read an ISO 8601 time with its zone (a trailing Z means UTC)."""
    if not isinstance(value, str):
        raise ValueError("submitted_at must be an ISO 8601 time such as 2026-11-24T11:00:00Z")
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"submitted_at {value!r} is not an ISO 8601 time") from None
    if when.tzinfo is None:
        raise ValueError(f"submitted_at {value!r} has no time zone (add Z for UTC)")
    return when


class RouteChecker:
    """Route lines one after another, counting each decision as its reporter's open item."""

    def __init__(self, directory: Directory) -> None:
        self.directory = directory
        self.decisions = 0

    def check(self, line: str) -> dict[str, Any]:
        """Route one JSON line; raise ValueError saying what is wrong with it."""
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not JSON: {exc}") from None
        if not isinstance(item, dict):
            raise ValueError("each line must be a JSON object")
        if item.get("kind") not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}")
        for key in TEXT_FIELDS:
            if not isinstance(item.get(key, ""), str):
                raise ValueError(f"{key} must be a string")
        when = parse_time(item.get("submitted_at"))
        subject, body = item.get("subject", ""), item.get("body", "")
        facts = Facts(
            topic=item.get("topic") or None,
            subject=subject,
            body=body,
            language=detect(f"{subject}\n{body}"),
            author=item.get("reporter") or None,
        )
        decision = route(facts, self.directory, when)
        self._count(decision.reporter)
        return {
            "id": item.get("id"),
            "language": decision.language,
            "topic": decision.topic,
            "desk": decision.desk,
            "reporter": decision.reporter,
            "to": decision.to,
            "needs_translation": decision.needs_translation,
            "reason": decision.reason,
        }

    def _count(self, slug: str | None) -> None:
        if slug is None:
            return
        self.decisions += 1
        self.directory = dataclasses.replace(
            self.directory,
            reporters=tuple(
                dataclasses.replace(r, open_items=r.open_items + 1, last_assigned=self.decisions)
                if r.slug == slug
                else r
                for r in self.directory.reporters
            ),
        )
