"""index outbox rows by recipient and time (loop protection's per-case lookup)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""
from alembic import op


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_rcpt_to_created_at', ['rcpt_to', 'created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_rcpt_to_created_at')
