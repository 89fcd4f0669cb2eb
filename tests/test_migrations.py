"""Migrations and models agree: upgrade an empty database to head, then `flask db check`."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade

from intake import create_app, search
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
