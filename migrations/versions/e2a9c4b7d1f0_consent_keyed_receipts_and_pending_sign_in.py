"""Contact details only with consent, keyed receipt caps, and the pending sign-in's state

Revision ID: e2a9c4b7d1f0
Revises: d7e1f0a2b3c4
Create Date: 2026-12-01 20:40:00

Data: a reader who did not agree to be contacted keeps no name or email on the
submission, and no event holds an address (the review's finding 4); the addresses are
taken out of existing rows here.
"""
import re

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e2a9c4b7d1f0'
down_revision = 'd7e1f0a2b3c4'
branch_labels = None
depends_on = None

READER_PURPOSES = ("reader_ack", "reply")
ADDRESS = re.compile(r"\S+@\S+")


def _without_address(kind, detail):
    """Rewrite an old event's detail the way the app now writes it: no address."""
    purpose = detail.split(" ", 1)[0]
    if kind == "delivered":
        tail = " to the reader" if purpose in READER_PURPOSES else ""
        return f"{purpose} delivered{tail}"
    if kind == "delivery_failed":
        who = "the reader" if purpose in READER_PURPOSES else "its recipient"
        return f"{purpose} to {who} not delivered"
    return ADDRESS.sub("(address)", detail)


def upgrade():
    with op.batch_alter_table('outbox_emails', schema=None) as batch_op:
        batch_op.add_column(sa.Column('recipient_key', sa.String(length=64), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('forget_recipient', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.create_index(batch_op.f('ix_outbox_emails_recipient_key'), ['recipient_key'], unique=False)
    with op.batch_alter_table('staff_users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('login_nonce', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('login_failures', sa.Integer(), nullable=False, server_default='0'))
    # The models give these defaults in Python; the server defaults only filled old rows.
    with op.batch_alter_table('outbox_emails', schema=None) as batch_op:
        batch_op.alter_column('recipient_key', server_default=None)
        batch_op.alter_column('forget_recipient', server_default=None)
    with op.batch_alter_table('staff_users', schema=None) as batch_op:
        batch_op.alter_column('login_failures', server_default=None)

    connection = op.get_bind()
    connection.execute(
        sa.text(
            "UPDATE submissions SET name = '', email = '' "
            "WHERE consent_contact = :no AND (name <> '' OR email <> '')"
        ),
        {"no": False},
    )
    events = connection.execute(
        sa.text("SELECT id, kind, detail FROM events WHERE detail LIKE '%@%'")
    ).all()
    for event_id, kind, detail in events:
        connection.execute(
            sa.text("UPDATE events SET detail = :detail WHERE id = :id"),
            {"detail": _without_address(kind, detail), "id": event_id},
        )


def downgrade():
    with op.batch_alter_table('staff_users', schema=None) as batch_op:
        batch_op.drop_column('login_failures')
        batch_op.drop_column('login_nonce')
    with op.batch_alter_table('outbox_emails', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_emails_recipient_key'))
        batch_op.drop_column('forget_recipient')
        batch_op.drop_column('recipient_key')
