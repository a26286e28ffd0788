"""Small shared row helpers for the stages: audit events and counts."""

from __future__ import annotations

import contextlib
import json
from datetime import datetime, timedelta
from typing import Iterable, Iterator

from sqlalchemy import bindparam, func
from sqlmodel import Session, select

from intake.domain.pii import mask_rrn
from intake.models import AuditEvent, Case, Outbox


_AUDIT_INSERT = AuditEvent.__table__.insert()


def audit(session: Session, at: datetime, event: str, *, case_id: int | None = None, inbound_id: int | None = None,
          actor: str = "system", detail: dict | None = None) -> None:
    """Write one audit event in the session's transaction (savepoints included), at once.

    A Core insert on the session's connection, not an ORM object: audit rows are
    never read back through the session, and the unit of work's per-object
    flush (INSERT … RETURNING id for each) was a large share of a message's time.
    The ids it refers to must exist already (flushed), as they always do here.
    Inside ``audits_batched`` the event waits for the batch's one statement.
    """
    audit_many(session, [audit_values(at, event, case_id=case_id, inbound_id=inbound_id, actor=actor,
                                      detail=detail)])


def audit_many(session: Session, rows: list[dict]) -> None:
    """Several audit events (``audit_values`` each) in one statement, in the session's transaction."""
    batch = session.info.get(_BATCH_KEY)
    if batch is not None:
        batch.extend(rows)
    elif rows:
        session.connection().execute(_AUDIT_INSERT, rows)


_BATCH_KEY = "intake.audit_batch"


@contextlib.contextmanager
def audits_batched(session: Session) -> Iterator[None]:
    """The audit events written inside are inserted together, in one statement, when it ends
    without an exception; none are when it raises (the caller's savepoint is rolled back with
    the rest). Nested, the inner batch joins the outer one when it ends. Audit rows are never
    read back in the transaction that writes them; registering a case writes eight."""
    outer = session.info.get(_BATCH_KEY)
    pending: list[dict] = []
    session.info[_BATCH_KEY] = pending
    try:
        yield
    finally:
        if outer is None:
            del session.info[_BATCH_KEY]
        else:
            session.info[_BATCH_KEY] = outer
    audit_many(session, pending)


def audit_values(at: datetime, event: str, *, case_id: int | None = None, inbound_id: int | None = None,
                 actor: str = "system", detail: dict | None = None) -> dict:
    """The column values of an audit event (for Core inserts outside the ORM)."""
    return dict(case_id=case_id, inbound_id=inbound_id, at=at, actor=actor, event=event,
                detail=mask_rrn(json.dumps(detail, ensure_ascii=False, default=str)) if detail else None)


_OPEN_CASE_COUNTS = (select(Case.handler_id, func.count()).where(Case.status == "open")
                     .group_by(Case.handler_id))
_OPEN_CASE_COUNTS_OF = _OPEN_CASE_COUNTS.where(Case.handler_id.in_(bindparam("handlers", expanding=True)))


def open_case_counts(session: Session, *, handlers: Iterable[str] | None = None,
                     flush: bool = True) -> dict[str, int]:
    """Open cases per handler (only ``handlers`` when given: an index range each, not every open
    case), as of this transaction (pending changes flushed first, unless the caller knows none of
    them is a case: ``flush=False``)."""
    if flush:
        session.flush()
    if handlers is None:
        rows = session.connection().execute(_OPEN_CASE_COUNTS)
    else:
        rows = session.connection().execute(_OPEN_CASE_COUNTS_OF, {"handlers": sorted(set(handlers))})
    return {h: n for h, n in rows.all()}


_ACKS_SENT_SINCE = (select(func.count()).select_from(Outbox)
                    .where(Outbox.purpose == bindparam("purpose"), Outbox.rcpt_to == bindparam("address"),
                           Outbox.created_at >= bindparam("since", type_=Outbox.__table__.c.created_at.type)))


def acks_sent_since(session: Session, address: str, since: datetime, purpose: str = "acknowledgement") -> int:
    """Mail of ``purpose`` queued to ``address`` since ``since``. Outbox rows are inserted at once
    (``outbox.enqueue``, Core), so a plain query on the connection sees them all: no
    autoflush, no ORM statement built per call."""
    return session.connection().execute(_ACKS_SENT_SINCE, {"purpose": purpose, "address": address,
                                                           "since": since}).scalar_one()


ACK_WINDOW = timedelta(hours=24)
