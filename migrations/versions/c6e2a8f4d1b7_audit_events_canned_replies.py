"""Audit events outside submissions, desks' canned replies, triage indexes

Revision ID: c6e2a8f4d1b7
Revises: b5d8f1a3c6e9
Create Date: 2026-12-01 22:45:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c6e2a8f4d1b7'
down_revision = 'b5d8f1a3c6e9'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'audit_events',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('actor', sa.String(length=254), nullable=False),
        sa.Column('action', sa.String(length=64), nullable=False),
        sa.Column('target', sa.String(length=254), nullable=False),
        sa.Column('detail', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events')),
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_events_created_at'), ['created_at'], unique=False)

    op.create_table(
        'canned_replies',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('desk_id', sa.Integer(), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('texts', sa.JSON(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('updated_by', sa.String(length=254), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['desk_id'], ['desks.id'], name=op.f('fk_canned_replies_desk_id_desks')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_canned_replies')),
    )
    with op.batch_alter_table('canned_replies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_canned_replies_desk_id'), ['desk_id'], unique=False)

    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.create_index(
            'ix_submissions_replied',
            ['status', 'desk_id', 'assignee_id'],
            unique=False,
            sqlite_where=sa.text('reader_replied_at IS NOT NULL'),
            postgresql_where=sa.text('reader_replied_at IS NOT NULL'),
        )
        batch_op.create_index(
            'ix_submissions_assignee_replied', ['assignee_id', 'reader_replied_at'], unique=False
        )
        batch_op.create_index(
            'ix_submissions_desk_created_acted',
            ['desk_id', 'created_at', 'first_action_at'],
            unique=False,
        )
        batch_op.drop_index('ix_submissions_desk_created')
        batch_op.create_index(
            'ix_submissions_untouched',
            ['status', 'first_action_at', 'id', 'created_at'],
            unique=False,
        )
        batch_op.drop_index('ix_submissions_waiting')
        batch_op.create_index(
            'ix_submissions_desk_untouched',
            ['desk_id', 'status', 'first_action_at', 'id', 'created_at'],
            unique=False,
        )
        batch_op.drop_index('ix_submissions_desk_waiting')


def downgrade():
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.create_index(
            'ix_submissions_desk_waiting',
            ['desk_id', 'status', 'first_action_at', 'created_at'],
            unique=False,
        )
        batch_op.drop_index('ix_submissions_desk_untouched')
        batch_op.create_index(
            'ix_submissions_waiting', ['status', 'first_action_at', 'created_at'], unique=False
        )
        batch_op.drop_index('ix_submissions_untouched')
        batch_op.create_index('ix_submissions_desk_created', ['desk_id', 'created_at'], unique=False)
        batch_op.drop_index('ix_submissions_desk_created_acted')
        batch_op.drop_index('ix_submissions_assignee_replied')
        batch_op.drop_index('ix_submissions_replied')
    with op.batch_alter_table('canned_replies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_canned_replies_desk_id'))
    op.drop_table('canned_replies')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_events_created_at'))
    op.drop_table('audit_events')
