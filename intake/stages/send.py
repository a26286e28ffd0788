"""Outbox sender: deliver pending mail with retries and backoff.

Each row goes ``pending`` → ``sending`` (claimed, committed) → SMTP → ``sent``
(committed). A temporary failure puts it back to ``pending`` with exponential
backoff; a permanent one (5xx) marks it ``failed`` and records why; after
``outbox_max_attempts`` temporary failures it is ``failed`` too, for a human.

A row left in ``sending`` by a crash is sent again once its claim is free (expired,
or its worker is dead: ``intake.workers``), unless the accepted-mail journal (``intake/adapters/sent_journal.py``) shows
the server already answered 250 for it: right after the 250, before the commit
that may wait for the database's write lock, the sender appends the row's id
there with one ``write(2)``. Such rows are marked sent, not sent twice: checked
when a sender starts (``settle_interrupted``) and again for each row a sender takes
over from a dead one (it may have died after settling). What
remains is the microseconds between the server's 250 and that write, which no
SMTP client can close (RFC 1047); both copies would carry the same Message-ID.
A crash never drops a mail.

``deliver_due`` sends over one connection, one mail at a time; ``intake.senders`` runs
one such worker per ``[smtp] connections``, side by side.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import and_, bindparam, insert, or_, select as sa_select, update

from intake.db import is_sqlite, transaction
from intake.domain.outgoing import attach_original
from intake.domain.redact import masked_message
from intake.errors import PermanentDeliveryError, TemporaryDeliveryError
from intake.models import AuditEvent, Case, Outbox
from intake.stages.rows import audit, audit_values
from intake.testing_hooks import crash_point
from intake.workers import claim_is_free

if TYPE_CHECKING:
    from intake.app import App

log = logging.getLogger("intake.send")

CLAIM_SECONDS = 300
RETRY_BASE_SECONDS = 30
RETRY_MAX_SECONDS = 3600


class Mailer(Protocol):
    def send(self, raw: bytes, mail_from: str, rcpt_to: list[str]) -> None: ...
    def close(self) -> None: ...


@dataclass
class SendReport:
    sent: int = 0
    deferred: int = 0
    failed: int = 0
    lines: list[str] = field(default_factory=list)

    @property
    def worked(self) -> bool:
        return self.sent > 0

    def add(self, more: "SendReport") -> None:
        self.sent += more.sent
        self.deferred += more.deferred
        self.failed += more.failed
        self.lines += more.lines


@dataclass(frozen=True)
class Claimed:
    """What the sender needs of one claimed outbox row (read in the claim's transaction)."""

    id: int
    case_id: int | None
    purpose: str
    message_id: str
    mail_from: str
    rcpt_to: str
    raw: bytes
    attach_raw_path: str | None
    template: str | None
    template_version: str | None
    ref: str
    taken_over: bool = False    # it was ``sending`` under a dead worker's claim: maybe already accepted


def _claim_in(conn, now: datetime, limit: int, worker_id: str | None = None) -> list[Claimed]:
    t = Outbox.__table__
    c = Case.__table__
    claimable = or_(
        and_(t.c.status == "pending", t.c.next_attempt_at <= now),
        and_(t.c.status == "sending", claim_is_free(t, now)),   # a crashed sender's claim
    )
    # The candidates (locked on PostgreSQL, the write lock held on SQLite) with their status, so
    # that a row taken over from a dead sender is known as such.
    candidates = sa_select(t.c.id, t.c.status).where(claimable).order_by(t.c.id).limit(limit)
    if not is_sqlite(conn.engine):
        candidates = candidates.with_for_update(skip_locked=True)
    found = dict(conn.execute(candidates).all())
    if not found:
        return []
    stmt = (update(t).where(t.c.id.in_(list(found)), claimable)
            .values(status="sending", claimed_until=now + timedelta(seconds=CLAIM_SECONDS), claimed_by=worker_id)
            .returning(t.c.id))
    ids = sorted(r[0] for r in conn.execute(stmt).all())
    if not ids:
        return []
    rows = conn.execute(
        sa_select(t.c.id, t.c.case_id, t.c.purpose, t.c.message_id, t.c.mail_from, t.c.rcpt_to, t.c.raw,
                  t.c.attach_raw_path, t.c.template, t.c.template_version, c.c.ref)
        .select_from(t.outerjoin(c, c.c.id == t.c.case_id))
        .where(t.c.id.in_(ids)).order_by(t.c.id)).all()
    return [Claimed(id=r[0], case_id=r[1], purpose=r[2], message_id=r[3], mail_from=r[4], rcpt_to=r[5],
                    raw=bytes(r[6]), attach_raw_path=r[7], template=r[8], template_version=r[9],
                    ref=r[10] or "-", taken_over=found[r[0]] == "sending") for r in rows]


def reconcile_interrupted(app, now: datetime, report: SendReport) -> None:
    """Rows a crashed sender left in ``sending`` that the server had already accepted: mark them sent."""
    t = Outbox.__table__
    c = Case.__table__
    stale = and_(t.c.status == "sending", claim_is_free(t, now))
    with app.engine.begin() as conn:
        rows = conn.execute(sa_select(t.c.id, t.c.message_id, t.c.case_id, t.c.purpose, t.c.rcpt_to, c.c.ref)
                            .select_from(t.outerjoin(c, c.c.id == t.c.case_id)).where(stale)).all()
        if not rows:
            return
        accepted = app.sent_journal.accepted({r[0]: r[1] for r in rows})
        for outbox_id, message_id, case_id, purpose, rcpt_to, ref in rows:
            if outbox_id not in accepted:
                continue
            done = conn.execute(update(t).where(t.c.id == outbox_id, stale).values(
                status="sent", sent_at=now, attempts=t.c.attempts + 1, claimed_until=None, last_error=None))
            if done.rowcount != 1:
                continue
            conn.execute(insert(AuditEvent.__table__).values(audit_values(
                now, f"sent:{purpose}", case_id=case_id,
                detail={"to": rcpt_to, "message_id": message_id, "reconciled": "accepted before a crash"})))
            report.sent += 1
            line = f"{ref or '-'} {purpose} to {rcpt_to} was accepted before a crash: marked sent, not sent again"
            report.lines.append(line)
            log.warning(line)


def settle_interrupted(app, report: SendReport) -> None:
    """Before sending: start a new journal file when it is large, and mark sent what a crashed
    sender had delivered (``reconcile_interrupted``)."""
    app.sent_journal.rotate_if_large()
    reconcile_interrupted(app, app.now(), report)


BATCH = 40
"""Rows a sender claims at a time: small enough that several connections share the work, large
enough that the claims and sent marks (write transactions) stay few."""


def deliver_due(app: App, mailer: Mailer, limit: int = 10_000, *, batch: int = BATCH,
                settle: bool = True) -> SendReport:
    """Send everything due now over ``mailer`` (at most ``limit`` mails), ``batch`` claimed at a time.
    ``settle``: first mark sent what a crashed sender had delivered (``settle_interrupted``; the
    sender pool does that once for all its connections)."""
    report = SendReport()
    if settle:
        settle_interrupted(app, report)
    while limit > 0:
        claimed = deliver_batch(app, mailer, min(limit, batch), report)
        if claimed < min(limit, batch):
            break
        limit -= claimed
    return report


def deliver_batch(app: App, mailer: Mailer, batch: int, report: SendReport) -> int:
    """Claim up to ``batch`` due rows (one transaction), send each and journal it the moment the
    server accepts it, then mark the accepted ones sent (one transaction). Returns how many rows
    were claimed (0: nothing is due)."""
    with app.engine.begin() as conn:
        items = _claim_in(conn, app.now(), batch, app.worker_id)
    accepted: list[Accepted] = []
    try:
        already = _accepted_before_takeover(app, items)
        for item in items:
            if item.id in already:
                accepted.append((item, app.now()))
                continue
            now = app.now()
            if _send_one(app, mailer, item, now, report):
                accepted.append((item, now))
    finally:
        mark_sent(app, accepted, report)
    return len(items)


def _accepted_before_takeover(app, items: list[Claimed]) -> set[int]:
    """Of the rows taken over from a dead sender (it may have been killed just after the server's
    250), those the accepted-mail journal lists: marked sent, never sent twice."""
    taken = {item.id: item.message_id for item in items if item.taken_over}
    found = app.sent_journal.accepted(taken)
    for item in items:
        if item.id in found:
            log.warning("%s %s to %s was accepted before its sender died: marked sent, not sent again",
                        item.ref, item.purpose, item.rcpt_to)
    return found


Accepted = tuple[Claimed, datetime]
"""A mail the server accepted (journalled), with when; not yet marked sent in the database."""


def _message_bytes(app, item: Claimed) -> bytes:
    if item.attach_raw_path:
        return attach_original(item.raw, masked_message(app.store.read(item.attach_raw_path)))
    return item.raw


def _send_one(app, mailer: Mailer, item: Claimed, now: datetime, report: SendReport) -> bool:
    """Claimed (committed) → SMTP → journal. True when the server accepted it; a refusal or a
    temporary failure is recorded (deferred or failed) in its own transaction."""
    rcpts = [r.strip() for r in item.rcpt_to.split(",") if r.strip()]
    try:
        raw = _message_bytes(app, item)
        crash_point("before-smtp-send")
        mailer.send(raw, item.mail_from, rcpts)
    except TemporaryDeliveryError as exc:
        _defer(app, item.id, str(exc), now, report, item.ref)
        return False
    except (PermanentDeliveryError, OSError, ValueError) as exc:
        _fail(app, item.id, f"{type(exc).__name__}: {exc}", now, report, item.ref)
        return False
    _journal_accepted(app, item)
    crash_point("after-smtp-accepted")
    return True


def mark_sent(app: App, accepted: list[Accepted], report: SendReport) -> None:
    """One transaction: every accepted mail ``sent``, each with its audit event."""
    if not accepted:
        return
    with app.engine.begin() as conn:
        conn.execute(_MARK_SENT, [{"outbox_id": item.id, "at": now} for item, now in accepted])   # one executemany
        conn.execute(insert(AuditEvent.__table__), [audit_values(
            now, f"sent:{item.purpose}", case_id=item.case_id,
            detail={"to": item.rcpt_to, "message_id": item.message_id, "template": item.template,
                    "template_version": item.template_version}) for item, now in accepted])
    _report_sent(accepted, report)


_MARK_SENT = (update(Outbox.__table__).where(Outbox.__table__.c.id == bindparam("outbox_id"))
              .values(status="sent", sent_at=bindparam("at", type_=Outbox.__table__.c.sent_at.type),
                      attempts=Outbox.__table__.c.attempts + 1, claimed_until=None, last_error=None))


def _report_sent(accepted: list[Accepted], report: SendReport) -> None:
    """After the commit: count and log what is now recorded as sent."""
    for item, _ in accepted:
        crash_point("after-smtp-commit")
        report.sent += 1
        line = f"{item.ref} sent {item.purpose} to {item.rcpt_to} ({item.template} {item.template_version})"
        report.lines.append(line)
        log.info(line)


def _journal_accepted(app, item: Claimed) -> None:
    try:
        app.sent_journal.record(item.id, item.message_id)
    except OSError as exc:   # the commit below still records it; only the crash window widens
        log.error("%s could not journal accepted mail %s: %s", item.ref, item.message_id, exc)


def _defer(app, outbox_id: int, reason: str, now: datetime, report: SendReport, ref: str) -> None:
    max_attempts = app.settings.processing.outbox_max_attempts
    with transaction(app.engine) as session:
        item = session.get(Outbox, outbox_id)
        item.attempts += 1
        item.last_error = reason
        item.claimed_until = None
        if item.attempts >= max_attempts:
            item.status = "failed"
            audit(session, now, "send-failed", case_id=item.case_id,
                  detail={"to": item.rcpt_to, "reason": reason, "attempts": item.attempts})
            report.failed += 1
            log.error("%s giving up on %s to %s after %d attempts: %s", ref, item.purpose, item.rcpt_to,
                      item.attempts, reason)
        else:
            delay = min(RETRY_BASE_SECONDS * 2 ** (item.attempts - 1), RETRY_MAX_SECONDS)
            item.status = "pending"
            item.next_attempt_at = now + timedelta(seconds=delay)
            report.deferred += 1
            log.warning("%s %s to %s deferred (attempt %d, retry in %d s): %s", ref, item.purpose, item.rcpt_to,
                        item.attempts, delay, reason)
        session.add(item)


def _fail(app, outbox_id: int, reason: str, now: datetime, report: SendReport, ref: str) -> None:
    with transaction(app.engine) as session:
        item = session.get(Outbox, outbox_id)
        item.attempts += 1
        item.status = "failed"
        item.last_error = reason
        item.claimed_until = None
        session.add(item)
        audit(session, now, "send-failed", case_id=item.case_id, detail={"to": item.rcpt_to, "reason": reason})
    report.failed += 1
    log.error("%s %s to %s failed permanently: %s", ref, item.purpose if item else "mail", reason, reason)
