"""operators and privacy: purge marks (retention) and alert episodes

Revision ID: 0008
Revises: 0005
Create Date: 2026-12-04
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'purge_mark',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=True),
        sa.Column('inbound_id', sa.Integer(), nullable=True),
        sa.Column('purged_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('retention_years', sa.Integer(), nullable=False),
        sa.Column('counts', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['intake_case.id']),
        sa.ForeignKeyConstraint(['inbound_id'], ['inbound_message.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('case_id', name='uq_purge_mark_case'),
        sa.UniqueConstraint('inbound_id', name='uq_purge_mark_inbound'),
    )
    op.create_table(
        'alert_condition',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column('raised_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('cleared_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('detail', sa.Text(), nullable=True),
        sa.Column('notice_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['notice_id'], ['notice.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_alert_condition_key_cleared', 'alert_condition', ['key', 'cleared_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_alert_condition_key_cleared', table_name='alert_condition')
    op.drop_table('alert_condition')
    op.drop_table('purge_mark')
