"""Admins' alerts: one mail per condition, once, until it clears (rows, not memory).

``check_alerts(app, now, ops)`` runs from the sweep (``daily_duties``). Each condition found is
compared with the open ``alert_condition`` rows: a new one is raised (a ``notice`` ledger row,
the mails to ``[processing] admin_addresses`` through the outbox and the audit event, in one
transaction); one that is gone is marked cleared; one that cleared less than ``[alerts]
repeat_minutes`` ago is not raised again (a flapping server sends one mail, not one per sweep).

Conditions: messages set aside for a human; the IMAP fetch loop without a completed cycle, or
mail the SMTP server keeps refusing, for more than ``outage_minutes``; the oldest pending
message or unsent mail older than ``backlog_minutes``; an overdue case whose handler is away.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, select

from intake.db import transaction
from intake.domain import replies
from intake.domain.workdays import to_seoul
from intake.models import AlertCondition, Case, InboundMessage, Notice, Outbox
from intake.stages.outbox import enqueue
from intake.stages.rows import audit

log = logging.getLogger("intake.alerts")


@dataclass(frozen=True)
class Condition:
    key: str
    title: str
    details: tuple[str, ...] = ()


def current_conditions(app, now: datetime, ops=None) -> list[Condition]:
    a = app.settings.alerts
    out: list[Condition] = []
    with Session(app.engine) as s:
        aside = s.exec(select(InboundMessage.id).where(InboundMessage.stage == "set-aside")
                       .order_by(InboundMessage.id)).all()
        if aside:
            out.append(Condition("set-aside", f"처리하지 못하여 따로 보관한 메시지가 {len(aside)}건 있습니다",
                                 (f"메시지 번호: {', '.join(map(str, aside[:20]))}", "intake messages list 로 확인하십시오")))
        refused = s.exec(select(func.min(Outbox.created_at), func.count()).where(
            Outbox.status == "pending", Outbox.attempts > 0, Outbox.last_error.is_not(None))).one()
        if refused[0] is not None and now - refused[0] > timedelta(minutes=a.outage_minutes):
            out.append(Condition("smtp-unreachable", "메일 발송 서버(SMTP)로 메일을 보내지 못하고 있습니다",
                                 (f"재시도 중인 메일 {refused[1]}건",)))
        pending = s.exec(select(func.min(InboundMessage.fetched_at)).where(
            InboundMessage.stage.in_(("received", "ocr", "ocr-done")))).one()
        unsent = s.exec(select(func.min(Outbox.created_at)).where(Outbox.status.in_(("pending", "sending")),
                                                                 Outbox.next_attempt_at <= now)).one()
        limit = now - timedelta(minutes=a.backlog_minutes)
        late = [f"{label}: {to_seoul(t):%Y-%m-%d %H:%M}부터" for label, t in
                (("처리 대기 메시지", pending), ("미발송 메일", unsent)) if t is not None and t < limit]
        if late:
            out.append(Condition("backlog", f"{a.backlog_minutes}분 넘게 처리되지 않은 일이 밀려 있습니다", tuple(late)))
        out += _overdue_away(app, s, now)
    if ops is not None:
        stale = ops.progress.stale(a.outage_minutes * 60)
        if "fetch" in stale:
            out.append(Condition("imap-unreachable", "메일 수신 서버(IMAP)에서 메일을 가져오지 못하고 있습니다",
                                 (f"마지막 성공 후 {stale['fetch'] or '(시작 후 한 번도 없음)'}초",)))
    return out


def _overdue_away(app, s: Session, now: datetime) -> list[Condition]:
    today = to_seoul(now).date()
    away = {staff for staff, spans in app.settings.roster.absences.items()
            if any(start <= today <= end for start, end in spans)}
    if not away:
        return []
    rows = s.exec(select(Case.id, Case.ref, Case.handler_id).where(
        Case.overdue.is_(True), Case.status == "open", Case.handler_id.in_(sorted(away)))).all()
    return [Condition(f"overdue-away:{case_id}", f"{ref} 민원이 기한을 넘겼으나 담당자가 부재 중입니다",
                      (f"담당자: {handler}", "다른 담당자에게 넘기시려면 intake cases reassign 을 쓰십시오"))
            for case_id, ref, handler in rows]


def check_alerts(app, now: datetime, ops=None) -> int:
    """Raise new conditions, clear gone ones; returns the number of mails queued."""
    found = {c.key: c for c in current_conditions(app, now, ops)}
    queued = 0
    with transaction(app.engine) as session:
        active = {r.key: r for r in session.exec(select(AlertCondition).where(AlertCondition.cleared_at.is_(None)))}
        for key, row in active.items():
            if key not in found:
                row.cleared_at = now
                session.add(row)
                audit(session, now, "alert-cleared", detail={"condition": key})
        recent = set(session.exec(select(AlertCondition.key).where(
            AlertCondition.cleared_at >= now - timedelta(minutes=app.settings.alerts.repeat_minutes))))
        for key, cond in found.items():
            if key not in active and key not in recent:
                queued += _raise(session, app, cond, now)
    return queued


def _raise(session: Session, app, cond: Condition, now: datetime) -> int:
    notice = Notice(key=f"alert:{cond.key}:{now.isoformat()}"[:255], kind="operator-alert", at=now)
    session.add(notice)
    session.flush()
    admins = app.settings.processing.admin_addresses
    for address in admins:
        member = app.settings.roster.member_by_email(address)
        ctx = replies.operator_alert_context(member.name if member else "관리자", app.org, cond.key, cond.title,
                                             f"{to_seoul(now):%Y-%m-%d %H:%M}", cond.details)
        notice.outbox_id = enqueue(session, app, None, "operator-alert", "operator-alert", ctx, language="ko",
                                   to=address, now=now, auto_submitted="auto-generated")
    notice.recipient = ", ".join(admins)[:320] or None
    session.add(AlertCondition(key=cond.key, raised_at=now, detail=json.dumps(cond.details, ensure_ascii=False),
                               notice_id=notice.id))
    audit(session, now, "alert-raised", detail={"condition": cond.key, "to": list(admins)})
    log.warning("- alert %s: %s (admins told: %s)", cond.key, cond.title, ", ".join(admins) or "none configured")
    return len(admins)
