"""Add PostgreSQL's full-text index

Revision ID: a1f3c9d2e7b4
Revises: 860e28aebe58
Create Date: 2026-11-26 03:50:00

"""
from alembic import op


revision = 'a1f3c9d2e7b4'
down_revision = '860e28aebe58'
branch_labels = None
depends_on = None

# A copy of intake/search.py's POSTGRES_DDL as it was when this migration was written.
DOCUMENT = "to_tsvector('simple'::regconfig, subject || ' ' || body || ' ' || name || ' ' || email)"


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"CREATE INDEX IF NOT EXISTS ix_submissions_fts ON submissions USING gin ({DOCUMENT})")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_submissions_fts")
