"""Migrations and models agree: upgrade an empty database to head, then `flask db check`."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade

from intake import create_app, notify, search
from intake.extensions import db
from intake.models import Base, Submission, utcnow
from tests.conftest import settings


def skip_search_index(name: str | None, type_: str, parents: object) -> bool:
    """Leave out the search index, made by raw DDL as migrations/env.py does."""
    if type_ == "table" and name and name.startswith(search.FTS_TABLE_PREFIX):
        return False
    return not (type_ == "index" and name == search.POSTGRES_INDEX)


def test_upgrade_to_head_matches_the_models(tmp_path: Path, empty_database: str) -> None:
    app = create_app(settings(tmp_path, SQLALCHEMY_DATABASE_URI=empty_database))
    with app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            context = MigrationContext.configure(
                connection,
                opts={
                    "compare_type": True,
                    "render_as_batch": True,
                    "include_name": skip_search_index,
                },
            )
            assert compare_metadata(context, Base.metadata) == []
            tables = set(sa.inspect(connection).get_table_names())
        db.engine.dispose()
    assert set(Base.metadata.tables) <= tables


def test_flask_db_check_finds_nothing_to_migrate(tmp_path: Path, empty_database: str) -> None:
    app = create_app(settings(tmp_path, SQLALCHEMY_DATABASE_URI=empty_database))
    runner = app.test_cli_runner()
    assert runner.invoke(args=["db", "upgrade"]).exit_code == 0
    result = runner.invoke(args=["db", "check"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        db.engine.dispose()


def test_search_works_after_upgrading_an_empty_database(
    tmp_path: Path, empty_database: str
) -> None:
    app = create_app(settings(tmp_path, SQLALCHEMY_DATABASE_URI=empty_database))
    with app.app_context():
        upgrade()
        now = utcnow()
        db.session.add(
            Submission(
                reference="T-2345-6789",
                kind="tip",
                body="Обстріл Харкова вночі",
                created_at=now,
                updated_at=now,
            )
        )
        db.session.commit()
        dialect = db.engine.dialect.name
        match = search.matches(dialect, "харків")
        assert match is not None
        found = db.session.scalars(sa.select(Submission.reference).where(match)).all()
        if dialect == "postgresql":
            indexes = {i["name"] for i in sa.inspect(db.engine).get_indexes("submissions")}
            assert search.POSTGRES_INDEX in indexes
        db.session.remove()
        db.engine.dispose()
    assert found == ["T-2345-6789"]


def insert_row(connection: sa.Connection, table: str, **values: object) -> int:
    """Insert a row into a table as it is at this revision, filling required columns."""
    reflected = sa.Table(table, sa.MetaData(), autoload_with=connection)
    row: dict[str, object] = {}
    for column in reflected.columns:
        if column.primary_key or column.nullable or column.server_default is not None:
            continue
        python_type = column.type.python_type
        row[column.name] = (
            utcnow().replace(tzinfo=None) if python_type.__name__ == "datetime" else python_type()
        )
    row.update(values)
    result = connection.execute(sa.insert(reflected).values(**row))
    assert result.inserted_primary_key is not None
    return int(result.inserted_primary_key[0])


def test_old_receipts_to_readers_without_consent_lose_their_addresses(
    tmp_path: Path, empty_database: str
) -> None:
    app = create_app(settings(tmp_path, SQLALCHEMY_DATABASE_URI=empty_database))
    with app.app_context():
        upgrade(revision="d7e1f0a2b3c4")
        with db.engine.begin() as connection:
            submission = insert_row(
                connection,
                "submissions",
                reference="T-2345-6789",
                kind="tip",
                status="new",
                body="An old tip.",
                name="Olena",
                email="olena@example.org",
                consent_contact=False,
            )
            for number, state in enumerate(("sent", "pending")):
                insert_row(
                    connection,
                    "outbox_emails",
                    submission_id=submission,
                    purpose="reader_ack",
                    message_id=f"<old-{number}@example.org>",
                    recipient="Olena@Example.org",
                    state=state,
                    raw=b"To: olena@example.org",
                )
        upgrade()
        with db.engine.connect() as connection:
            rows = connection.execute(
                sa.text(
                    "SELECT state, recipient, raw, recipient_key, forget_recipient "
                    "FROM outbox_emails ORDER BY id"
                )
            ).all()
            person = connection.execute(sa.text("SELECT name, email FROM submissions")).one()
        key = notify.address_key("olena@example.org")
        db.engine.dispose()
    assert tuple(person) == ("", "")
    sent, pending = rows
    assert (sent[0], sent[1], sent[2], sent[3], bool(sent[4])) == (
        "sent",
        "(erased)",
        None,
        key,
        True,
    )
    assert (pending[1], pending[3], bool(pending[4])) == ("Olena@Example.org", key, True)
