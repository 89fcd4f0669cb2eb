"""Outbox: message bytes, a cancelled state, when an email failed or was cancelled, indexes

Revision ID: d7e1f0a2b3c4
Revises: c5a6885dfb04
Create Date: 2026-12-01 20:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd7e1f0a2b3c4'
down_revision = 'c5a6885dfb04'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox_emails', schema=None) as batch_op:
        batch_op.add_column(sa.Column('raw', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('failed_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('cancelled_at', sa.DateTime(), nullable=True))
        batch_op.drop_constraint(batch_op.f('ck_outbox_emails_state'), type_='check')
        batch_op.create_check_constraint(
            'state', "state IN ('pending', 'sent', 'failed', 'cancelled')"
        )
        batch_op.create_index('ix_outbox_emails_state_sent', ['state', 'sent_at'], unique=False)
        batch_op.create_index('ix_outbox_emails_state_failed', ['state', 'failed_at'], unique=False)
    # Emails that failed before this revision count as failed when they were last tried.
    op.execute(
        "UPDATE outbox_emails SET failed_at = next_attempt_at "
        "WHERE state = 'failed' AND failed_at IS NULL"
    )


def downgrade():
    op.execute("UPDATE outbox_emails SET state = 'failed' WHERE state = 'cancelled'")
    with op.batch_alter_table('outbox_emails', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_emails_state_failed')
        batch_op.drop_index('ix_outbox_emails_state_sent')
        batch_op.drop_constraint(batch_op.f('ck_outbox_emails_state'), type_='check')
        batch_op.create_check_constraint('state', "state IN ('pending', 'sent', 'failed')")
        batch_op.drop_column('cancelled_at')
        batch_op.drop_column('failed_at')
        batch_op.drop_column('raw')
