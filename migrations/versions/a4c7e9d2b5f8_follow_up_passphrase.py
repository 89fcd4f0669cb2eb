"""A submission's follow-up passphrase (its Argon2id hash)

Revision ID: a4c7e9d2b5f8
Revises: f3b8d2c6a9e1
Create Date: 2026-12-01 21:15:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a4c7e9d2b5f8'
down_revision = 'f3b8d2c6a9e1'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('followup_hash', sa.String(length=255), nullable=True))


def downgrade():
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.drop_column('followup_hash')
