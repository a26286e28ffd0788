"""Fetch stage: IMAP → raw store → database row → only then flag/move on the server.

Order of effects per batch (the no-loss, no-duplicate rule):
1. raw bytes written durably to the content-addressed store (fsync);
2. one transaction inserts the ``inbound_message`` rows and advances
   ``mailbox_state.last_uid`` for this (mailbox, UIDVALIDITY) — a message whose
   content hash is already known is a duplicate and gets no row;
3. the messages are flagged (or moved) on the server;
4. the rows are marked ``server_done``.
A crash between 2 and 4 is repaired by ``reconcile_server_marks`` on the next
run; a crash before 2 leaves the messages unflagged above ``last_uid``, so they
are fetched again and the store write is idempotent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Iterable, Protocol, Sequence

from sqlalchemy import case, update
from sqlmodel import select

from intake.adapters.imap_source import FetchedMessage
from intake.adapters.raw_store import RawStore
from intake.db import insert_or_skip, transaction
from intake.domain.mailparse import message_ids
from intake.models import InboundMessage, MailboxState, field_defaults
from intake.testing_hooks import crash_point

log = logging.getLogger("intake.fetch")


class MailSource(Protocol):
    def select(self) -> tuple[int, int]: ...
    def pending_uids(self, after_uid: int) -> list[int]: ...
    def fetch(self, uids: Sequence[int]) -> list[FetchedMessage]: ...
    def mark_done(self, uids: Iterable[int]) -> None: ...
    def move(self, uids: Iterable[int], dest: str) -> None: ...


@dataclass
class FetchReport:
    fetched: int = 0
    registered: int = 0
    duplicates: int = 0
    resynced: bool = False
    new_ids: list[int] = field(default_factory=list)

    @property
    def worked(self) -> bool:
        """New rows to process."""
        return self.registered > 0


def header_message_id(raw: bytes) -> str | None:
    """The Message-ID from the raw header block (cheap; no full parse)."""
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    lines = head.replace(b"\r\n", b"\n").split(b"\n")
    for i, line in enumerate(lines):
        if line[:11].lower() == b"message-id:":
            value = line[11:]
            for cont in lines[i + 1:]:
                if cont[:1] in (b" ", b"\t"):
                    value += cont
                else:
                    break
            ids = message_ids(value.decode("utf-8", "replace"))
            return ids[0][:998] if ids else None
    return None


def _generation(session, mailbox: str, uidvalidity: int, now: datetime) -> tuple[MailboxState, bool]:
    state = session.exec(select(MailboxState).where(MailboxState.mailbox == mailbox,
                                                    MailboxState.uidvalidity == uidvalidity)).first()
    if state is not None:
        return state, False
    older = session.exec(select(MailboxState).where(MailboxState.mailbox == mailbox)).first()
    # Another instance may add the same generation at the same moment: skip, then read whichever won.
    insert_or_skip(session.connection(), MailboxState.__table__,
                   [dict(mailbox=mailbox, uidvalidity=uidvalidity, last_uid=0, updated_at=now)])
    state = session.exec(select(MailboxState).where(MailboxState.mailbox == mailbox,
                                                    MailboxState.uidvalidity == uidvalidity)).one()
    return state, older is not None


def fetch_once(engine, store: RawStore, source: MailSource, *, mailbox: str, processed_mailbox: str,
               now: datetime, batch_size: int = 50, on_batch: Callable[[], None] | None = None) -> FetchReport:
    """One pass over the mailbox; ``on_batch`` is called after each batch that stored new rows."""
    report = FetchReport()
    uidvalidity, _uidnext = source.select()
    with transaction(engine) as session:
        state, resync = _generation(session, mailbox, uidvalidity, now)
        last_uid = state.last_uid
    if resync:
        report.resynced = True
        log.warning("imap mailbox %s UIDVALIDITY changed to %s: resyncing from UID 1 (duplicates are skipped by content hash)",
                    mailbox, uidvalidity)
    reconcile_server_marks(engine, source, mailbox=mailbox, uidvalidity=uidvalidity,
                           processed_mailbox=processed_mailbox)
    uids = source.pending_uids(last_uid)
    for i in range(0, len(uids), batch_size):
        batch = source.fetch(uids[i:i + batch_size])
        if not batch:
            continue
        stored_before = report.registered
        _store_batch(engine, store, batch, mailbox=mailbox, uidvalidity=uidvalidity, now=now, report=report)
        if on_batch and report.registered > stored_before:
            on_batch()
        crash_point("after-fetch-commit")
        _mark_on_server(source, [m.uid for m in batch], processed_mailbox)
        _set_server_done(engine, mailbox, uidvalidity, [m.uid for m in batch])
    return report


def _store_batch(engine, store: RawStore, batch: list[FetchedMessage], *, mailbox: str, uidvalidity: int,
                 now: datetime, report: FetchReport) -> None:
    blobs = list(zip(batch, store.put_messages([msg.raw for msg in batch])))   # durable before the commit
    with transaction(engine) as session:
        state = session.exec(select(MailboxState).where(MailboxState.mailbox == mailbox,
                                                        MailboxState.uidvalidity == uidvalidity)).one()
        hashes = [blob.sha256 for _, blob in blobs]
        known = set(session.exec(select(InboundMessage.content_hash)
                                 .where(InboundMessage.content_hash.in_(hashes))).all())
        added: list[dict] = []
        for msg, blob in blobs:
            report.fetched += 1
            if blob.sha256 in known:
                report.duplicates += 1
                log.info("imap uid %s in %s is a duplicate of a stored message (sha256 %s…); not registered again",
                         msg.uid, mailbox, blob.sha256[:12])
                continue
            known.add(blob.sha256)
            added.append(dict(
                _NEW_ROW, mailbox=mailbox, uidvalidity=uidvalidity, uid=msg.uid,
                message_id=header_message_id(msg.raw), content_hash=blob.sha256,
                raw_path=str(blob.path), size=blob.size, received_at=msg.internaldate,
                fetched_at=now, next_attempt_at=now,
            ))
        # One statement for the batch (Core: the rows are not used as objects here). A message
        # another instance stored meanwhile (same content hash) is skipped: concurrent fetch is expected.
        t = InboundMessage.__table__
        stored = insert_or_skip(session.connection(), t, added, t.c.id, t.c.uid)
        if len(stored) < len(added):
            mine = {uid for _, uid in stored}
            skipped = [row["uid"] for row in added if row["uid"] not in mine]
            report.duplicates += len(skipped)
            log.info("imap uid(s) %s in %s were stored by another instance meanwhile; skipped",
                     ",".join(map(str, skipped)), mailbox)
        report.new_ids += sorted(row_id for row_id, _ in stored)
        report.registered += len(stored)
        # Only ever forward: a slower instance committing an older batch must not move it back.
        top = max(m.uid for m in batch)
        s = MailboxState.__table__
        session.connection().execute(update(s).where(s.c.id == state.id).values(
            last_uid=case((s.c.last_uid < top, top), else_=s.c.last_uid), updated_at=now))
_NEW_ROW = field_defaults(InboundMessage)     # stage "received", attempts 0, …


def _mark_on_server(source: MailSource, uids: list[int], processed_mailbox: str) -> None:
    if processed_mailbox:
        source.move(uids, processed_mailbox)
    else:
        source.mark_done(uids)


def _set_server_done(engine, mailbox: str, uidvalidity: int, uids: list[int]) -> None:
    # Duplicates have no row of their own; nothing to update for them. One statement, no row loaded.
    t = InboundMessage.__table__
    with transaction(engine) as session:
        session.connection().execute(
            update(t).where(t.c.mailbox == mailbox, t.c.uidvalidity == uidvalidity, t.c.uid.in_(uids),
                            t.c.server_done == False)  # noqa: E712
            .values(server_done=True))


def reconcile_server_marks(engine, source: MailSource, *, mailbox: str, uidvalidity: int,
                           processed_mailbox: str) -> int:
    """Flag/move messages whose rows were committed but never marked (a crash in between)."""
    with transaction(engine) as session:
        uids = list(session.exec(select(InboundMessage.uid).where(
            InboundMessage.mailbox == mailbox, InboundMessage.uidvalidity == uidvalidity,
            InboundMessage.server_done == False)).all())  # noqa: E712
    if not uids:
        return 0
    log.info("imap: marking %d committed message(s) on the server that a previous run left unmarked", len(uids))
    try:
        _mark_on_server(source, uids, processed_mailbox)
    except Exception as exc:  # a message moved away by hand no longer exists: not fatal
        log.warning("imap: could not mark %d message(s) on the server: %s", len(uids), exc)
        return 0
    _set_server_done(engine, mailbox, uidvalidity, uids)
    return len(uids)

