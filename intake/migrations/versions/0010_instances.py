"""several instances: claims name their worker; a heartbeat row per running process

Revision ID: 0010
Revises: 0005
Create Date: 2026-12-04
"""
import sqlalchemy as sa
from alembic import op


revision = '0010'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'intake_worker',
        sa.Column('id', sa.String(length=128), nullable=False),
        sa.Column('host', sa.String(length=255), nullable=False),
        sa.Column('pid', sa.Integer(), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('intake_worker', schema=None) as batch_op:
        batch_op.create_index('ix_intake_worker_host', ['host'], unique=False)
    for table in ('inbound_message', 'outbox'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('claimed_by', sa.String(length=128), nullable=True))


def downgrade() -> None:
    for table in ('outbox', 'inbound_message'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('claimed_by')
    with op.batch_alter_table('intake_worker', schema=None) as batch_op:
        batch_op.drop_index('ix_intake_worker_host')
    op.drop_table('intake_worker')
