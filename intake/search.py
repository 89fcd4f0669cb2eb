"""Full-text search over submissions: SQLite FTS5, or PostgreSQL's own text search."""

from __future__ import annotations

import re

import sqlalchemy as sa

from intake.models import Submission

# FTS5 keeps its own index of subject, body, name and email, maintained by triggers, so
# every writer (the form, purges, bulk loads) keeps it right without knowing it exists.
# The migration that creates it holds a copy of these statements; keep them the same.
SQLITE_DDL = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS submissions_fts USING fts5("
    "subject, body, name, email, content='submissions', content_rowid='id', "
    "tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER IF NOT EXISTS submissions_fts_ai AFTER INSERT ON submissions BEGIN "
    "INSERT INTO submissions_fts(rowid, subject, body, name, email) "
    "VALUES (new.id, new.subject, new.body, new.name, new.email); END",
    "CREATE TRIGGER IF NOT EXISTS submissions_fts_ad AFTER DELETE ON submissions BEGIN "
    "INSERT INTO submissions_fts(submissions_fts, rowid, subject, body, name, email) "
    "VALUES ('delete', old.id, old.subject, old.body, old.name, old.email); END",
    "CREATE TRIGGER IF NOT EXISTS submissions_fts_au AFTER UPDATE OF subject, body, name, email "
    "ON submissions BEGIN "
    "INSERT INTO submissions_fts(submissions_fts, rowid, subject, body, name, email) "
    "VALUES ('delete', old.id, old.subject, old.body, old.name, old.email); "
    "INSERT INTO submissions_fts(rowid, subject, body, name, email) "
    "VALUES (new.id, new.subject, new.body, new.name, new.email); END",
    # Index what was there before the index existed.
    "INSERT INTO submissions_fts(submissions_fts) VALUES ('rebuild')",
)
FTS_TABLE_PREFIX = "submissions_fts"


# PostgreSQL: a GIN index on the same expression the query uses, so the planner uses it.
# 'simple' lowercases every script alike and stems none: right for en, ru and uk mixed,
# with prefix matching (and the Cyrillic stem below) standing in for stemming.
def _document(table: str = "") -> str:
    """Return the text-search document of a submission as SQL (columns named by table)."""
    columns = " || ' ' || ".join(f"{table}{c}" for c in ("subject", "body", "name", "email"))
    return f"to_tsvector('simple'::regconfig, {columns})"


POSTGRES_DOCUMENT = _document()
POSTGRES_INDEX = "ix_submissions_fts"
POSTGRES_DDL = (
    f"CREATE INDEX IF NOT EXISTS {POSTGRES_INDEX} ON submissions USING gin ({POSTGRES_DOCUMENT})",
)
MAX_TERMS = 8
CYRILLIC = re.compile(r"[\u0400-\u04ff]")
WORD = re.compile(r"[^\W_]+")


def terms(query: str) -> list[str]:
    """Split a search into prefix terms; Cyrillic words lose their last two letters.

    Neither engine stems Russian or Ukrainian here, so "Харків" must still find "Харкові":
    the stem "харк" does. Latin words are searched as typed, as prefixes.
    """
    found = []
    for word in WORD.findall(query.casefold())[:MAX_TERMS]:
        if CYRILLIC.search(word) and len(word) > 4:
            word = word[:-2]
        found.append(word)
    return found


def matches(dialect: str, query: str) -> sa.ColumnElement[bool] | None:
    """Return a WHERE clause for submissions matching every term, or None for no terms."""
    words = terms(query)
    if not words:
        return None
    if dialect == "sqlite":
        expression = " ".join(f'"{word}"*' for word in words)
        fts = sa.table("submissions_fts", sa.column("rowid"))
        ids = sa.select(fts.c.rowid).where(sa.text("submissions_fts MATCH :fts_query"))
        return Submission.id.in_(ids.params(fts_query=expression).scalar_subquery())
    if dialect == "postgresql":
        tsquery = sa.func.to_tsquery(
            sa.literal_column("'simple'::regconfig"), " & ".join(f"{w}:*" for w in words)
        )
        # The index's expression, with the table named: joins bring other "name" columns.
        document = _document("submissions.")
        return sa.literal_column(document).op("@@")(tsquery)
    clauses = [
        sa.or_(
            Submission.subject.ilike(f"%{w}%"),
            Submission.body.ilike(f"%{w}%"),
            Submission.name.ilike(f"%{w}%"),
            Submission.email.ilike(f"%{w}%"),
        )
        for w in words
    ]
    return sa.and_(*clauses)


def install(connection: sa.Connection) -> None:
    """Create the search index: FTS5 on SQLite, a GIN index on PostgreSQL."""
    statements = {"sqlite": SQLITE_DDL, "postgresql": POSTGRES_DDL}
    for statement in statements.get(connection.dialect.name, ()):
        connection.exec_driver_sql(statement)
