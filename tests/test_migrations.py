"""Migrations and models agree: upgrade an empty database to head, then `flask db check`."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade

from intake import create_app
from intake.extensions import db
from intake.models import Base
from tests.conftest import settings


def test_upgrade_to_head_matches_the_models(tmp_path: Path) -> None:
    app = create_app(settings(tmp_path))
    with app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "render_as_batch": True}
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
