"""``audits_batched``: a new case's audit events in one statement; none of a failed inner batch."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import event, text

from intake.db import make_engine, transaction, upgrade
from intake.stages.rows import audit, audits_batched

AT = datetime(2026, 11, 25, 10, 0, tzinfo=timezone.utc)


@pytest.fixture
def engine(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'audit.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()


def _events(engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(text("SELECT event FROM audit_event ORDER BY id")).scalars())


def test_events_wait_for_the_end_of_the_batch_and_go_in_one_statement(engine):
    inserts: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _count(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        if statement.startswith("INSERT INTO audit_event"):
            inserts.append(statement)

    with transaction(engine) as session:
        with audits_batched(session):
            for name in ("received", "registered", "classified", "routed", "deadline"):
                audit(session, AT, name, detail={"n": name})
            assert session.connection().execute(text("SELECT count(*) FROM audit_event")).scalar_one() == 0
        audit(session, AT, "after")                     # outside a batch: written at once
    assert _events(engine) == ["received", "registered", "classified", "routed", "deadline", "after"]
    assert len(inserts) == 2


def test_a_failed_inner_batch_writes_nothing_and_the_outer_goes_on(engine):
    with transaction(engine) as session:
        with audits_batched(session):
            audit(session, AT, "outer-1")
            with pytest.raises(RuntimeError):
                with session.begin_nested(), audits_batched(session):
                    audit(session, AT, "inner-rolled-back")
                    raise RuntimeError("the message failed")
            with audits_batched(session):
                audit(session, AT, "inner-kept")
            audit(session, AT, "outer-2")
    assert _events(engine) == ["outer-1", "inner-kept", "outer-2"]


def test_a_failed_outer_batch_writes_nothing(engine):
    with pytest.raises(ValueError):
        with transaction(engine) as session:
            with audits_batched(session):
                audit(session, AT, "lost")
                raise ValueError("boom")
    with transaction(engine) as session:
        audit(session, AT, "next")
        assert "intake.audit_batch" not in session.info
    assert _events(engine) == ["next"]
