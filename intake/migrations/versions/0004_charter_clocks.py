"""charter clocks, notice ledger, task tokens, attachments kept aside

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('case_clock',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('policy', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('pauses', sa.Text(), nullable=False),
    sa.Column('extension_date', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True),
    sa.Column('extension_reason', sa.Text(), nullable=True),
    sa.Column('stopped_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('overdue_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('next_check_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['intake_case.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('case_clock', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_clock_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_clock_next_check_at'), ['next_check_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_clock_state'), ['state'], unique=False)

    op.create_table('notice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('clock_id', sa.Integer(), nullable=True),
    sa.Column('recipient', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=True),
    sa.Column('outbox_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['intake_case.id'], ),
    sa.ForeignKeyConstraint(['clock_id'], ['case_clock.id'], ),
    sa.ForeignKeyConstraint(['outbox_id'], ['outbox.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key', name='uq_notice_key')
    )
    with op.batch_alter_table('notice', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notice_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notice_clock_id'), ['clock_id'], unique=False)

    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kept_aside', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('aside_reason', sa.Text(), nullable=True))

    with op.batch_alter_table('intake_case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('task_token', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.add_column(sa.Column('preferred_reply', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))
        batch_op.add_column(sa.Column('overdue', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_intake_case_task_token'), ['task_token'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('intake_case', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_intake_case_task_token'))
        batch_op.drop_column('closed_at')
        batch_op.drop_column('answered_at')
        batch_op.drop_column('overdue')
        batch_op.drop_column('preferred_reply')
        batch_op.drop_column('task_token')

    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.drop_column('aside_reason')
        batch_op.drop_column('kept_aside')

    with op.batch_alter_table('notice', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notice_clock_id'))
        batch_op.drop_index(batch_op.f('ix_notice_case_id'))

    op.drop_table('notice')
    with op.batch_alter_table('case_clock', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_clock_state'))
        batch_op.drop_index(batch_op.f('ix_case_clock_next_check_at'))
        batch_op.drop_index(batch_op.f('ix_case_clock_case_id'))

    op.drop_table('case_clock')
