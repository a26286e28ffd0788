"""The Alembic migrations build exactly the schema of ``intake.models`` (SQLite and PostgreSQL)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

import intake.models  # noqa: F401  (registers the tables)
from intake.db import current_revision, head_revision, make_engine, upgrade
from intake.web.tables import outside_models


def _diff(engine) -> list:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={
            "compare_type": True, "compare_server_default": True,
            "include_name": lambda name, type_, parents: not outside_models(type_, name)})
        return compare_metadata(ctx, SQLModel.metadata)


def _check_upgrade(url: str) -> None:
    engine = make_engine(url)
    try:
        upgrade(engine)
        assert current_revision(engine) == head_revision() == "0012"
        assert _diff(engine) == []
        tables = set(inspect(engine).get_table_names())
        assert {"correction", "intake_case", "audit_event", "outbox"} <= tables
        fks = inspect(engine).get_foreign_keys("correction")
        assert [(fk["referred_table"], fk["constrained_columns"]) for fk in fks] == [("intake_case", ["case_id"])]
    finally:
        engine.dispose()


def test_sqlite_upgrade_matches_models(tmp_path):
    _check_upgrade(f"sqlite:///{tmp_path / 'intake.db'}")


def test_sqlite_downgrade_to_0001_and_back(tmp_path):
    from alembic import command

    from intake.db import alembic_config

    engine = make_engine(f"sqlite:///{tmp_path / 'intake.db'}")
    try:
        upgrade(engine)
        command.downgrade(alembic_config(engine), "0001")
        assert current_revision(engine) == "0001"
        assert "correction" not in inspect(engine).get_table_names()
        upgrade(engine)
        assert _diff(engine) == []
    finally:
        engine.dispose()


def test_postgresql_upgrade_matches_models(postgres_url):
    # a database of its own: the session-wide postgres_url database is shared with other tests
    import uuid

    import psycopg
    from psycopg import sql

    admin_url = postgres_url.replace("postgresql+psycopg://", "postgresql://", 1)
    name = f"intake_mig_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        _check_upgrade(postgres_url.rsplit("/", 1)[0] + "/" + name)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def test_schema_head_read_without_alembic_is_alembics_head():
    from intake.db import schema_head

    assert schema_head() == head_revision()


def test_schema_head_refuses_migrations_that_fork(tmp_path):
    import pytest

    from intake.db import SchemaOutOfDate, schema_head

    for rev, down in (("0001", None), ("0002", "0001"), ("0003", "0001")):
        (tmp_path / f"{rev}_x.py").write_text(f"revision = {rev!r}\ndown_revision = {down!r}\n", encoding="utf-8")
    with pytest.raises(SchemaOutOfDate, match="2 heads"):
        schema_head(tmp_path)
    (tmp_path / "0004_x.py").write_text("revision = '0004'\ndown_revision = ('0002', '0003')\n", encoding="utf-8")
    with pytest.raises(SchemaOutOfDate):      # a merge revision is not understood here: refused, not guessed
        schema_head(tmp_path)


def test_run_refuses_an_empty_or_old_schema(tmp_path):
    import pytest
    from alembic import command

    from intake.db import SchemaOutOfDate, alembic_config, require_current_schema

    engine = make_engine(f"sqlite:///{tmp_path / 'intake.db'}")
    try:
        with pytest.raises(SchemaOutOfDate, match="nothing \\(empty database\\).*0012.*intake db upgrade"):
            require_current_schema(engine)
        upgrade(engine)
        require_current_schema(engine)
        command.downgrade(alembic_config(engine), "0003")
        with pytest.raises(SchemaOutOfDate, match="at 0003, code needs 0012"):
            require_current_schema(engine)
    finally:
        engine.dispose()
