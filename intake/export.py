"""Write submissions out as CSV or JSON lines, exactly as stored."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

import sqlalchemy as sa
import sqlalchemy.orm as so

from intake.models import DbSession, Submission

COLUMNS = (
    "reference",
    "kind",
    "status",
    "created_at",
    "topic",
    "language",
    "subject",
    "body",
    "name",
    "email",
    "consent_contact",
    "consent_publish",
    "sensitive",
    "article",
    "reporter",
)
FORMATS = ("csv", "jsonl")
# Cells a spreadsheet would run as a formula (CWE-1236).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def rows(
    session: DbSession, query: sa.Select[Submission] | None = None
) -> Iterator[dict[str, Any]]:
    """Yield one plain dict a submission, oldest first, reading in batches."""
    query = query if query is not None else sa.select(Submission)
    query = query.options(so.selectinload(Submission.topic)).order_by(None).order_by(Submission.id)
    for sub in session.scalars(query.execution_options(yield_per=500)):
        yield {
            "reference": sub.reference,
            "kind": sub.kind,
            "status": sub.status,
            "created_at": sub.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "topic": sub.topic.slug if sub.topic else None,
            "language": sub.language,
            "subject": sub.subject,
            "body": sub.body,
            "name": sub.name,
            "email": sub.email,
            "consent_contact": sub.consent_contact,
            "consent_publish": sub.consent_publish,
            "sensitive": sub.sensitive,
            "article": sub.article,
            "reporter": sub.author_slug,
        }


def csv_cell(value: Any, spreadsheet_safe: bool) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    if spreadsheet_safe and text.startswith(FORMULA_START):
        return "'" + text
    return text


def csv_lines(records: Iterable[dict[str, Any]], spreadsheet_safe: bool) -> Iterator[str]:
    """Yield the CSV header, then one line a record: streamable, nothing held in memory."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for record in records:
        writer.writerow([csv_cell(record[c], spreadsheet_safe) for c in COLUMNS])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


def write(
    out: TextIO,
    records: Iterator[dict[str, Any]],
    fmt: str,
    spreadsheet_safe: bool = False,
) -> int:
    """Write records in a format to a text stream opened with newline=''; return the count."""
    count = 0
    if fmt == "csv":
        for line in csv_lines(records, spreadsheet_safe):
            out.write(line)
            count += 1
        count -= 1  # the header
    elif fmt == "jsonl":
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
    else:
        raise ValueError(f"unknown format {fmt!r}")
    return count
