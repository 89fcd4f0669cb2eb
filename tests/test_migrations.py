"""Migrations and models agree: upgrade an empty database to head, then `flask db check`."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade

from intake import create_app, search
from intake.extensions import db
from intake.models import Base, Submission
from intake.search import FTS_TABLE_PREFIX
from tests.conftest import settings


def skip_search_index(name: str | None, type_: str, parents: object) -> bool:
    """Leave out the FTS5 tables, made by raw DDL as migrations/env.py does."""
    return not (type_ == "table" and name and name.startswith(FTS_TABLE_PREFIX))


def test_upgrade_to_head_matches_the_models(tmp_path: Path) -> None:
    app = create_app(settings(tmp_path))
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


def test_flask_db_check_finds_nothing_to_migrate(tmp_path: Path) -> None:
    app = create_app(settings(tmp_path))
    runner = app.test_cli_runner()
    assert runner.invoke(args=["db", "upgrade"]).exit_code == 0
    result = runner.invoke(args=["db", "check"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        db.engine.dispose()


def test_search_works_after_upgrading_an_empty_database(tmp_path: Path) -> None:
    app = create_app(settings(tmp_path))
    with app.app_context():
        upgrade()
        db.session.execute(
            sa.text(
                "INSERT INTO submissions (reference, kind, status, subject, body, name, email, "
                "consent_contact, consent_publish, sensitive, article, author_slug, "
                "needs_translation, reason, locale, version, created_at, updated_at) VALUES "
                "('T-2345-6789', 'tip', 'new', '', 'Обстріл Харкова вночі', '', '', 0, 0, 0, "
                "'', '', 0, '', 'en', 1, '2026-11-24 08:00:00', '2026-11-24 08:00:00')"
            )
        )
        db.session.commit()
        match = search.matches("sqlite", "харків")
        assert match is not None
        found = db.session.scalars(sa.select(Submission.reference).where(match)).all()
        db.engine.dispose()
    assert found == ["T-2345-6789"]
