"""Retention: personal data of cases past their period is destroyed (개인정보 보호법 제21조).

``purge_due(app, now)`` (``intake purge`` and the daemon's daily sweep) finds every answered or
closed case whose retention period (``[retention]``, years per category) has run out and, one
transaction per case: removes its raw messages and attachments from the store, blanks the
personal fields (customer name, address, phone, fax, subject, text, evidence, mail bodies and
recipients, audit details, attachment names), and audits ``personal-data-purged`` with counts.
It keeps what the charter report needs: dates, category, channel, department, handler, clocks
and the kinds of audit events. Messages that became no case (spam, auto-replies) go after
``unregistered_years``. Periods count, as public records do (공공기록물 관리에 관한 법률
시행령 제26조), from 1 January of the year after the case ended.

Files are unlinked only after the commit (a crash between leaves an unreferenced file, which the
next run removes; never a row pointing at a missing file while its data is still promised).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, update
from sqlmodel import Session, select

from intake.db import transaction
from intake.domain.workdays import to_seoul
from intake.models import AuditEvent, Case, Correction, InboundMessage, Notice, Outbox, PurgeMark, StoredAttachment
from intake.stages.rows import audit

log = logging.getLogger("intake.purge")

PURGED_SUBJECT = "(보존기간 경과로 파기됨)"
ORPHAN_GRACE = timedelta(days=1)     # a file the fetcher wrote whose row is not committed yet is younger


@dataclass
class PurgeReport:
    dry_run: bool
    cases: int = 0
    messages: int = 0
    attachments: int = 0
    files: int = 0
    mails: int = 0
    audit_details: int = 0
    refs: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items()}


def purge_after(ended: datetime, years: int) -> datetime:
    """The first moment the data may go: 1 January (Seoul) of year(end) + 1 + ``years``."""
    local = to_seoul(ended)
    return local.replace(year=local.year + 1 + years, month=1, day=1, hour=0, minute=0, second=0, microsecond=0)


def retention_years(settings, category: str | None) -> int:
    r = settings.retention
    return r.unregistered_years if category is None else r.categories.get(category, r.default_years)


def purge_due(app, now: datetime, *, dry_run: bool = False) -> PurgeReport:
    report = PurgeReport(dry_run=dry_run)
    for case_id, ref, years in _due_cases(app, now):
        if dry_run:
            report.cases += 1
            report.refs.append(ref)
            continue
        _purge_case(app, case_id, years, now, report)
    for inbound_id in _due_unregistered(app, now):
        if not dry_run:
            _purge_inbound(app, inbound_id, now, report)
        else:
            report.messages += 1
    if not dry_run:
        report.files += remove_orphan_files(app, now)
    log.info("- purge%s: %d cases, %d messages, %d attachments, %d files, %d mails", " (dry run)" if dry_run else "",
             report.cases, report.messages, report.attachments, report.files, report.mails)
    return report


def _due_cases(app, now: datetime) -> list[tuple[int, str, int]]:
    shortest = min([app.settings.retention.default_years, *app.settings.retention.categories.values()])
    cutoff = now - timedelta(days=365 * (shortest + 1) - 2)
    last_mail = (select(InboundMessage.case_id, func.max(InboundMessage.received_at).label("last"))
                 .group_by(InboundMessage.case_id).subquery())
    with Session(app.engine) as session:
        rows = session.exec(
            select(Case.id, Case.ref, Case.category, Case.closed_at, Case.answered_at, Case.received_at, last_mail.c.last)
            .outerjoin(last_mail, last_mail.c.case_id == Case.id)
            .where(Case.status.in_(("answered", "closed")), Case.received_at < cutoff,
                   Case.id.not_in(select(PurgeMark.case_id).where(PurgeMark.case_id.is_not(None))))).all()
    due = []
    for case_id, ref, category, closed, answered, received, last in rows:
        ended = max(t for t in (closed, answered, received, last) if t is not None)
        years = retention_years(app.settings, category)
        if now >= purge_after(ended, years):
            due.append((case_id, ref, years))
    return due


def _due_unregistered(app, now: datetime) -> list[int]:
    years = app.settings.retention.unregistered_years
    with Session(app.engine) as session:
        rows = session.exec(select(InboundMessage.id, InboundMessage.received_at).where(
            InboundMessage.case_id.is_(None), InboundMessage.stage.in_(("done", "quarantine")),
            InboundMessage.received_at < now - timedelta(days=365 * years),
            InboundMessage.id.not_in(select(PurgeMark.inbound_id).where(PurgeMark.inbound_id.is_not(None))))).all()
    return [i for i, received in rows if now >= purge_after(received, years)]


def _blank_messages(session: Session, inbound_ids: list[int]) -> tuple[list[str], int]:
    """Blank the messages' personal columns and their attachments' names; their files' paths."""
    paths = [p for p in session.exec(select(InboundMessage.raw_path).where(InboundMessage.id.in_(inbound_ids))) if p]
    att_paths = [p for p in session.exec(select(StoredAttachment.path)
                                         .where(StoredAttachment.inbound_id.in_(inbound_ids))) if p]
    session.exec(update(InboundMessage).where(InboundMessage.id.in_(inbound_ids)).values(
        raw_path="", subject=None, from_address=None, message_id=None, decision=None, page_text=None,
        ocr_report=None, last_error=None))
    session.exec(update(StoredAttachment).where(StoredAttachment.inbound_id.in_(inbound_ids)).values(
        filename="", original_filename="", path=""))
    session.exec(update(AuditEvent).where(AuditEvent.inbound_id.in_(inbound_ids)).values(detail=None))
    return paths + att_paths, len(att_paths)


def _purge_case(app, case_id: int, years: int, now: datetime, report: PurgeReport) -> None:
    with transaction(app.engine) as session:
        case = session.get(Case, case_id)
        inbound_ids = list(session.exec(select(InboundMessage.id).where(InboundMessage.case_id == case_id)))
        paths, attachments = _blank_messages(session, inbound_ids) if inbound_ids else ([], 0)
        mails = session.exec(update(Outbox).where(Outbox.case_id == case_id, Outbox.status.in_(("sent", "failed")))
                             .values(raw=b"", rcpt_to="", attach_raw_path=None)).rowcount
        details = session.exec(update(AuditEvent).where(AuditEvent.case_id == case_id, AuditEvent.detail.is_not(None))
                               .values(detail=None)).rowcount
        session.exec(update(Notice).where(Notice.case_id == case_id).values(recipient=None))
        session.exec(update(Correction).where(Correction.case_id == case_id).values(reason=""))
        for name in ("customer_address", "customer_phone", "customer_fax", "evidence", "task_token"):
            setattr(case, name, None)
        case.subject, case.customer_name, case.text = PURGED_SUBJECT, "", ""
        session.add(case)
        counts = {"messages": len(inbound_ids), "attachments": attachments, "files": len(paths), "mails": mails,
                  "audit_details": details}
        session.add(PurgeMark(case_id=case_id, purged_at=now, retention_years=years, counts=json.dumps(counts)))
        audit(session, now, "personal-data-purged", case_id=case_id,
              detail={**counts, "retention_years": years, "category": case.category})
        ref = case.ref
    report.cases += 1
    report.refs.append(ref)
    report.messages += len(inbound_ids)
    report.attachments += attachments
    report.mails += mails
    report.audit_details += details
    report.files += _unlink_unreferenced(app, paths)


def _purge_inbound(app, inbound_id: int, now: datetime, report: PurgeReport) -> None:
    years = app.settings.retention.unregistered_years
    with transaction(app.engine) as session:
        paths, attachments = _blank_messages(session, [inbound_id])
        counts = {"messages": 1, "attachments": attachments, "files": len(paths)}
        session.add(PurgeMark(inbound_id=inbound_id, purged_at=now, retention_years=years, counts=json.dumps(counts)))
        audit(session, now, "personal-data-purged", inbound_id=inbound_id, detail={**counts, "retention_years": years})
    report.messages += 1
    report.attachments += attachments
    report.files += _unlink_unreferenced(app, paths)


def _unlink_unreferenced(app, paths: list[str]) -> int:
    """Remove the files no other row still refers to (attachments are shared by content)."""
    removed = 0
    with Session(app.engine) as session:
        for path in set(paths):
            used = session.exec(select(func.count()).select_from(StoredAttachment)
                                .where(StoredAttachment.path == path)).one() + \
                session.exec(select(func.count()).select_from(InboundMessage)
                             .where(InboundMessage.raw_path == path)).one()
            if not used and Path(path).exists():
                Path(path).unlink()
                removed += 1
    return removed


def remove_orphan_files(app, now: datetime) -> int:
    """Store files older than a day that no row refers to (a purge interrupted after its commit)."""
    with Session(app.engine) as session:
        # By name (the content hash), not by path: a store restored elsewhere keeps its files.
        known = {Path(p).name for p in session.exec(select(InboundMessage.raw_path)) if p} | \
            {Path(p).name for p in session.exec(select(StoredAttachment.path)) if p}
    limit = (now - ORPHAN_GRACE).timestamp()
    removed = 0
    for path in app.store.files():
        if path.name not in known and path.stat().st_mtime < limit:
            path.unlink()
            removed += 1
    return removed
