"""A fax is acknowledged by fax: a one-page PDF to the email-to-fax gateway, else by the handler by hand."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from sqlmodel import Session

from intake.domain import replies
from intake.domain.fax_gateway import gateway_address, same_number
from intake.domain.outgoing import FileAttachment
from intake.domain.records import CaseFacts, Department, MessageDecision, StaffMember
from intake.models import Case
from intake.stages.outbox import ack_skip_reason, enqueue, record_template_version
from intake.stages.rows import audit

if TYPE_CHECKING:
    from intake.app import App

log = logging.getLogger("intake.register")

Outcome = tuple[dict, tuple[FileAttachment, ...]]
"""The ``fax_acknowledgement`` status for the task mail, and the files to attach to the task."""


def acknowledge_by_fax(session: Session, app: App, case: Case, facts: CaseFacts, handler: StaffMember,
                       department: Department, decision: MessageDecision, now: datetime) -> Outcome:
    """The fax acknowledgement: a one-page PDF to the gateway address built from the caller's number.

    Returns the status for the task mail and the files to attach to the task (the PDF when the
    handler must fax it by hand). The same loop guards as the e-mail acknowledgement apply
    (``ack_skip_reason`` on the gateway address), and our own fax numbers are never faxed.
    """
    number = case.customer_fax
    if number and any(same_number(number, own) for own in app.settings.fax.own_numbers):
        reason = f"{number} is one of our own fax numbers (loop protection)"
        audit(session, now, "fax-acknowledgement-skipped", case_id=case.id, detail={"reason": reason})
        return replies.fax_acknowledgement_status("not-sent", number, reason=f"우리 기관의 팩스번호입니다 ({reason})"), ()
    ctx = replies.fax_acknowledgement_context(facts, handler, department, app.org)
    rendered = app.templates.render("fax-acknowledgement", ctx, language=case.language)
    pdf = _render_pdf(session, case, rendered, now)
    if pdf is None:
        return replies.fax_acknowledgement_status(
            "by-hand", number, reason="PDF를 만들지 못했습니다(한글 글꼴 없음). "
            f"'intake templates preview fax-acknowledgement --case {case.ref}'로 본문을 출력하여 보내 주십시오"), ()
    pattern = app.settings.fax.gateway_address
    address = gateway_address(pattern, number) if pattern else None
    if address is None:
        why, reason = _no_gateway_reason(pattern, number)
        record_template_version(session, app, rendered, case.language, now)
        audit(session, now, "fax-acknowledgement-by-hand", case_id=case.id,
              detail={"reason": why, "number": number, "template_version": rendered.template_version})
        return replies.fax_acknowledgement_status("by-hand", number, reason=reason), (pdf,)
    skip = ack_skip_reason(app, address, decision, session, now, purpose="fax-acknowledgement")
    if skip is not None:
        audit(session, now, "fax-acknowledgement-skipped", case_id=case.id, detail={"reason": skip, "to": address})
        return replies.fax_acknowledgement_status("not-sent", number, address, reason=f"반복 발송 방지: {skip}"), ()
    enqueue(session, app, case, "fax-acknowledgement", "fax-acknowledgement", ctx, language=case.language,
            to=address, now=now, attachments=(pdf,))
    audit(session, now, "fax-acknowledgement-queued", case_id=case.id, detail={"to": address, "number": number})
    return replies.fax_acknowledgement_status("gateway", number, address), ()


def _render_pdf(session: Session, case: Case, rendered, now: datetime) -> FileAttachment | None:
    from intake.adapters.pdf_render import FontNotFoundError, render_mail_pdf   # loaded only for a fax

    try:
        return FileAttachment(f"fax-acknowledgement-{case.ref}.pdf", "application/pdf", render_mail_pdf(rendered))
    except FontNotFoundError as exc:
        log.error("%s fax acknowledgement PDF not rendered: %s", case.ref, exc)
        audit(session, now, "fax-acknowledgement-skipped", case_id=case.id, detail={"reason": str(exc)})
        return None


def _no_gateway_reason(pattern: str | None, number: str | None) -> tuple[str, str]:
    """(log/audit reason in English, the handler's reason in Korean) when no gateway address can be built."""
    if not pattern:
        return "no fax gateway configured ([fax] gateway_address)", "팩스 게이트웨이가 설정되어 있지 않습니다"
    if not number:
        return "the caller's fax number is not known", "발신 팩스번호를 알 수 없습니다. 팩스 원본에서 확인하여 주십시오"
    return (f"{number} is not a Korean number the gateway can dial",
            f"팩스번호 {number}은(는) 게이트웨이로 보낼 수 있는 국내 번호가 아닙니다")
