"""index cases by handler and status (routing counts each candidate's open cases per new case)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""
from alembic import op


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('intake_case', schema=None) as batch_op:
        batch_op.create_index('ix_intake_case_handler_id_status', ['handler_id', 'status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('intake_case', schema=None) as batch_op:
        batch_op.drop_index('ix_intake_case_handler_id_status')
