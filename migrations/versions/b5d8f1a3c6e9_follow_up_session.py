"""A submission's open follow-up session (its random id)

Revision ID: b5d8f1a3c6e9
Revises: a4c7e9d2b5f8
Create Date: 2026-12-01 21:35:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b5d8f1a3c6e9'
down_revision = 'a4c7e9d2b5f8'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('followup_session', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.drop_column('followup_session')
