"""Contact details only with consent, keyed receipt caps, and the pending sign-in's state

Revision ID: e2a9c4b7d1f0
Revises: d7e1f0a2b3c4
Create Date: 2026-12-01 20:40:00

Data: a reader who did not agree to be contacted keeps no name or email on the
submission, and no event holds an address (the review's finding 4); the addresses are
taken out of existing rows here.
"""
import hashlib
import hmac
import re

from alembic import op
from flask import current_app
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


def _address_key(secret, address):
    """A copy of intake.notify.address_key as it is today (migrations hold copies)."""
    local, _, domain = address.strip().lower().rpartition("@")
    local = local.split("+", 1)[0]
    message = f"intake-address:{local}@{domain}".encode()
    return hmac.new(str(secret or "").encode(), message, hashlib.sha256).hexdigest()


def _forget_old_receipts(connection):
    """Receipts to readers who did not consent: key them, and forget their addresses.

    A receipt already sent (or given up) loses its address and bytes now; one still waiting
    keeps them until it is sent, as new ones do.
    """
    secret = current_app.secret_key
    receipts = connection.execute(
        sa.text(
            "SELECT o.id, o.recipient, o.state FROM outbox_emails o "
            "JOIN submissions s ON s.id = o.submission_id "
            "WHERE o.purpose = 'reader_ack' AND s.consent_contact = :no"
        ),
        {"no": False},
    ).all()
    for email_id, recipient, state in receipts:
        key = _address_key(secret, recipient) if "@" in recipient else ""
        if state == "pending":
            statement = (
                "UPDATE outbox_emails SET recipient_key = :key, forget_recipient = :yes "
                "WHERE id = :id"
            )
        else:
            statement = (
                "UPDATE outbox_emails SET recipient_key = :key, forget_recipient = :yes, "
                "recipient = '(erased)', raw = NULL, last_error = '' WHERE id = :id"
            )
        connection.execute(sa.text(statement), {"key": key, "yes": True, "id": email_id})


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
    _forget_old_receipts(connection)
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
