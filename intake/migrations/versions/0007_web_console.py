"""web console: sign-in links, sessions, template edits, roster and calendar changes, case search index

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-04

The case search index is kept in step by triggers (SQLite: an FTS5 table with the trigram
tokenizer, so Korean words match inside longer words; PostgreSQL: a pg_trgm GIN index over the
same text), so the daemon, which inserts cases, needs no change.
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0007'
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('web_absence',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('first_day', sa.Date(), nullable=False),
    sa.Column('last_day', sa.Date(), nullable=False),
    sa.Column('delegate_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('removed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('web_absence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_web_absence_staff_id'), ['staff_id'], unique=False)

    op.create_table('web_calendar_day',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('removed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('web_calendar_day', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_web_calendar_day_day'), ['day'], unique=False)

    op.create_table('web_session',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('staff_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    with op.batch_alter_table('web_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_web_session_staff_id'), ['staff_id'], unique=False)

    op.create_table('web_sign_in_attempt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('address_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('client_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('web_sign_in_attempt', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_web_sign_in_attempt_address_hash'), ['address_hash'], unique=False)
        batch_op.create_index(batch_op.f('ix_web_sign_in_attempt_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_web_sign_in_attempt_client_hash'), ['client_hash'], unique=False)

    op.create_table('web_template_edit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('part', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('version', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('web_template_edit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_web_template_edit_name'), ['name'], unique=False)

    op.create_table('web_sign_in_link',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('staff_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('outbox_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['outbox_id'], ['outbox.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    with op.batch_alter_table('web_sign_in_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_web_sign_in_link_staff_id'), ['staff_id'], unique=False)
    _create_search_index()



# What the console's search looks in (intake.web.search uses the same expression on PostgreSQL).
DOC = ("ref || ' ' || subject || ' ' || customer_name || ' ' || coalesce(customer_address, '') || ' ' || text")
SQLITE_DOC = DOC.replace("ref ||", "{t}.ref ||").replace("subject", "{t}.subject").replace(
    "customer_name", "{t}.customer_name").replace("customer_address", "{t}.customer_address").replace(
    "' ' || text", "' ' || {t}.text")


def _create_search_index() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # Trigram: any word of 3+ characters is found inside longer words. Words: a word index
        # (unicode61) for 1-2 character words, matched as word prefixes (Korean particles follow
        # the noun: "방북" finds "방북을"), which trigrams cannot index.
        op.execute("CREATE VIRTUAL TABLE case_search USING fts5(doc, tokenize = 'trigram')")
        op.execute("CREATE VIRTUAL TABLE case_search_words USING fts5(doc, tokenize = 'unicode61', prefix = '1 2')")
        new = SQLITE_DOC.format(t="new")
        for table in ("case_search", "case_search_words"):
            op.execute(f"INSERT INTO {table}(rowid, doc) SELECT id, {SQLITE_DOC.format(t='intake_case')} FROM intake_case")
        op.execute(f"CREATE TRIGGER case_search_ai AFTER INSERT ON intake_case BEGIN "
                   f"INSERT INTO case_search(rowid, doc) VALUES (new.id, {new}); "
                   f"INSERT INTO case_search_words(rowid, doc) VALUES (new.id, {new}); END")
        op.execute(f"CREATE TRIGGER case_search_au AFTER UPDATE OF ref, subject, customer_name, customer_address, text "
                   f"ON intake_case BEGIN DELETE FROM case_search WHERE rowid = old.id; "
                   f"DELETE FROM case_search_words WHERE rowid = old.id; "
                   f"INSERT INTO case_search(rowid, doc) VALUES (new.id, {new}); "
                   f"INSERT INTO case_search_words(rowid, doc) VALUES (new.id, {new}); END")
        op.execute("CREATE TRIGGER case_search_ad AFTER DELETE ON intake_case BEGIN "
                   "DELETE FROM case_search WHERE rowid = old.id; DELETE FROM case_search_words WHERE rowid = old.id; END")
    else:
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute(f"CREATE INDEX ix_intake_case_search ON intake_case USING gin (({DOC}) gin_trgm_ops)")


def _drop_search_index() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("case_search_ai", "case_search_au", "case_search_ad"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS case_search")
        op.execute("DROP TABLE IF EXISTS case_search_words")
    else:
        op.execute("DROP INDEX IF EXISTS ix_intake_case_search")


def downgrade() -> None:
    _drop_search_index()
    with op.batch_alter_table('web_sign_in_link', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_web_sign_in_link_staff_id'))

    op.drop_table('web_sign_in_link')
    with op.batch_alter_table('web_template_edit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_web_template_edit_name'))

    op.drop_table('web_template_edit')
    with op.batch_alter_table('web_sign_in_attempt', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_web_sign_in_attempt_client_hash'))
        batch_op.drop_index(batch_op.f('ix_web_sign_in_attempt_at'))
        batch_op.drop_index(batch_op.f('ix_web_sign_in_attempt_address_hash'))

    op.drop_table('web_sign_in_attempt')
    with op.batch_alter_table('web_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_web_session_staff_id'))

    op.drop_table('web_session')
    with op.batch_alter_table('web_calendar_day', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_web_calendar_day_day'))

    op.drop_table('web_calendar_day')
    with op.batch_alter_table('web_absence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_web_absence_staff_id'))

    op.drop_table('web_absence')
