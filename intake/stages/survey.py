"""The satisfaction survey (만족도 조사): one per case, sent by the sweep, answered by reply or link.

- ``send_due_surveys`` (called by the sweep): cases answered or closed ``[survey] delay_hours`` ago
  (and not longer ago than ``expire_days`` more, so switching surveys on does not mail the past)
  get one survey each, in working hours. The ledger key ``survey:<case id>`` is written in the
  same transaction as the survey row and its outbox row: exactly once, even with two sweepers.
  No survey to robots or our own addresses, bounced addresses, customers without e-mail (fax or
  post only), customers who opted out, or anyone surveyed in the last ``min_days_between`` days:
  the ledger row records the skip and its reason, so it is decided once.
- ``apply_reply``: a mail to ``consulting+<survey token>@…`` is the survey's answer (pure parser
  ``intake.domain.survey_answers``); an ambiguous one goes to the handler, nothing guessed;
  "수신 거부" opts the address out.
- ``answer_by_link``: the web console's ``/survey/<link token>`` (``intake.domain.survey_tokens``).
- A score of 1 or 2 opens a service-recovery clock (policy ``correction``, 3 days) on the case and
  mails the department head (``survey-recovery``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from intake.db import transaction
from intake.domain import replies
from intake.domain.staff_commands import reply_address, tokens_in
from intake.domain.survey_answers import SCORE_LABELS, parse_survey_reply
from intake.domain.survey_tokens import check_link_token, survey_links
from intake.domain.workdays import is_working_moment
from intake.models import Case, InboundMessage, Notice, Outbox, Survey, SurveyOptOut
from intake.stages.clocks import start_clock
from intake.stages.outbox import customer_skip_reason, enqueue, new_token
from intake.stages.rows import audit
from intake.stages.suggestions import customer_context_parts

log = logging.getLogger("intake.survey")

RECOVERY_POLICY = "correction"


def skip_reason(session: Session, app, case: Case, now: datetime) -> str | None:
    """Why this case's customer gets no survey, or None."""
    if case.channel == "post":
        return "postal request: no e-mail to survey"
    reason = customer_skip_reason(app, case.customer_address)
    if reason is not None:
        return reason
    address = case.customer_address.lower()
    if session.exec(select(SurveyOptOut.id).where(SurveyOptOut.address == address)).first() is not None:
        return f"{address} opted out of surveys"
    if session.exec(select(Outbox.id).where(Outbox.rcpt_to == case.customer_address,
                                            Outbox.status == "undeliverable")).first() is not None:
        return f"mail to {address} bounced"
    since = now - timedelta(days=app.settings.survey.min_days_between)
    if session.exec(select(Survey.id).where(Survey.recipient == address, Survey.sent_at > since)).first() is not None:
        return f"{address} was surveyed in the last {app.settings.survey.min_days_between} days"
    return None


def due_case_ids(session: Session, app, now: datetime) -> list[int]:
    cfg = app.settings.survey
    newest, oldest = now - timedelta(hours=cfg.delay_hours), now - timedelta(hours=cfg.delay_hours,
                                                                             days=cfg.expire_days)
    done = select(Notice.case_id).where(Notice.kind == "survey", Notice.case_id.is_not(None))
    answered = Case.answered_at.between(oldest, newest)
    closed = Case.answered_at.is_(None) & Case.closed_at.between(oldest, newest)
    return list(session.exec(select(Case.id).where(Case.status.in_(("answered", "closed")), or_(answered, closed),
                                                   Case.id.not_in(done)).order_by(Case.id)).all())


def send_due_surveys(app, now: datetime) -> int:
    """The sweep's hook: queue every survey now due; returns how many went out."""
    if not app.settings.survey.enabled or not is_working_moment(app.calendar(now), now):
        return 0
    with Session(app.engine) as session:
        ids = due_case_ids(session, app, now)
    sent = 0
    for case_id in ids:
        try:
            with transaction(app.engine) as session:
                sent += send_survey(session, app, session.get(Case, case_id), now)
        except IntegrityError:
            log.info("- survey for case %s: another sweeper wrote it first", case_id)
        except Exception as exc:   # one case must not stop the others; retried next sweep
            log.error("- survey for case %s not sent: %s", case_id, exc, exc_info=True)
    return sent


def send_survey(session: Session, app, case: Case, now: datetime) -> int:
    notice = Notice(key=f"survey:{case.id}", kind="survey", case_id=case.id, at=now)
    session.add(notice)
    session.flush()                     # a second sweeper fails here, before any effect
    reason = skip_reason(session, app, case, now)
    if reason is not None:
        audit(session, now, "survey-skipped", case_id=case.id, detail={"reason": reason})
        return 0
    token = new_token()
    expires = now + timedelta(days=app.settings.survey.expire_days)
    web = app.settings.web
    links = [(score, SCORE_LABELS[score], url) for score, url in survey_links(web.base_url, web.secret, token)] \
        if web.base_url and web.secret else []
    facts, handler, department = customer_context_parts(app, case)
    ctx = replies.survey_context(facts, handler, department, app.org, links, expires)
    outbox_id = enqueue(session, app, case, "survey", "survey", ctx, language=case.language, to=case.customer_address,
                        now=now, reply_to=reply_address(app.settings.organization.intake_address, token),
                        auto_submitted="auto-generated")
    session.add(Survey(case_id=case.id, token=token, recipient=case.customer_address.lower(), state="sent",
                       sent_at=now, expires_at=expires, outbox_id=outbox_id))
    notice.recipient, notice.outbox_id = case.customer_address, outbox_id
    session.add(notice)
    audit(session, now, "survey-sent", case_id=case.id, detail={"to": case.customer_address, "links": bool(links)})
    return 1


@dataclass(frozen=True)
class Answered:
    ok: bool
    message: str                      # for the customer (web page) or the log


def answer_survey(session: Session, app, survey: Survey, score: int, comment: str, via: str,
                  now: datetime) -> Answered:
    if survey.state == "answered":
        return Answered(False, "이미 응답하신 조사입니다. 참여하여 주셔서 감사합니다.")
    if now > survey.expires_at:
        return Answered(False, "응답 기한이 지난 조사입니다.")
    survey.state, survey.score, survey.comment = "answered", score, (comment or None)
    survey.answered_at, survey.answered_via = now, via
    session.add(survey)
    case = session.get(Case, survey.case_id)
    audit(session, now, "survey-answered", case_id=case.id, actor="customer",
          detail={"score": score, "via": via, "comment": comment or ""})
    if score <= 2:
        open_recovery(session, app, case, score, comment, now)
    return Answered(True, "응답하여 주셔서 감사합니다. 주신 의견은 서비스 개선에 반영하겠습니다.")


def open_recovery(session: Session, app, case: Case, score: int, comment: str, now: datetime) -> None:
    """The charter's 시정 promise: a clock of its own and a task to the department head."""
    clock = start_clock(session, app, case, RECOVERY_POLICY, now, now, actor="survey")
    case.status = "open"
    session.add(case)
    facts, handler, department = customer_context_parts(app, case)
    head = app.settings.roster.member(department.head)
    if head is None or not head.email:
        audit(session, now, "survey-recovery-unsent", case_id=case.id, detail={"reason": "no department head e-mail"})
        return
    ctx = replies.survey_recovery_context(facts, handler, department, app.org, score, SCORE_LABELS[score], comment,
                                          clock.due_at)
    enqueue(session, app, case, "survey-recovery", "survey-recovery", ctx, language="ko", to=head.email, now=now,
            auto_submitted="auto-generated")
    audit(session, now, "survey-recovery", case_id=case.id,
          detail={"score": score, "to": head.email, "due": clock.due_at.isoformat() if clock.due_at else None})


def answer_by_link(app, link_token: str, now: datetime, comment: str = "") -> Answered:
    """For the web console's ``/survey/<link token>``: a signed, single-use answer."""
    web = app.settings.web
    checked = check_link_token(web.secret, link_token)
    if checked is None:
        return Answered(False, "올바르지 않은 주소입니다.")
    survey_token, score = checked
    with transaction(app.engine) as session:
        survey = session.exec(select(Survey).where(Survey.token == survey_token).with_for_update()).first()
        if survey is None:
            return Answered(False, "올바르지 않은 주소입니다.")
        return answer_survey(session, app, survey, score, comment, "link", now)


def link_state(app, link_token: str, now: datetime) -> str:
    """What a survey link stands for now, before anything is recorded: ``open`` (may be answered),
    ``answered`` (a survey takes one answer), ``expired`` or ``unknown`` (forged or no such survey)."""
    checked = check_link_token(app.settings.web.secret, link_token)
    if checked is None:
        return "unknown"
    with Session(app.engine) as session:
        survey = session.exec(select(Survey).where(Survey.token == checked[0])).first()
    if survey is None:
        return "unknown"
    if survey.state == "answered":
        return "answered"
    return "expired" if now > survey.expires_at else "open"


def apply_reply(session: Session, app, row: InboundMessage, mail, now: datetime) -> str | None:
    """A customer's reply to a survey (its token in To/Cc); None when the mail is not one."""
    tokens = tokens_in(mail)
    if not tokens:
        return None
    survey = session.exec(select(Survey).where(Survey.token.in_(tokens))).first()
    if survey is None:
        return None
    row.case_id, row.kind = survey.case_id, "survey-reply"
    answer = parse_survey_reply(mail.text)
    if answer.opt_out and session.exec(select(SurveyOptOut.id).where(
            SurveyOptOut.address == survey.recipient)).first() is None:
        session.add(SurveyOptOut(address=survey.recipient, at=now, reason="수신 거부 reply"))
        audit(session, now, "survey-opt-out", case_id=survey.case_id, inbound_id=row.id)
    if answer.score is not None:
        done = answer_survey(session, app, survey, answer.score, answer.comment, "reply", now)
        return f"survey of case {survey.case_id}: score {answer.score} ({done.message if not done.ok else 'recorded'})"
    if answer.ambiguous:
        to_staff(session, app, survey, row, mail, answer.ambiguous, now)
        return f"survey of case {survey.case_id}: not understood ({answer.ambiguous}); sent to the handler"
    return f"survey of case {survey.case_id}: opted out"


def to_staff(session: Session, app, survey: Survey, row: InboundMessage, mail, why: str, now: datetime) -> None:
    survey.state = "staff"
    session.add(survey)
    case = session.get(Case, survey.case_id)
    facts, handler, department = customer_context_parts(app, case)
    ctx = replies.follow_up_notice_context(facts, handler, department, app.org, sender=mail.from_address,
                                           subject=mail.subject, text=mail.text, received_at=row.received_at,
                                           reopened=False)
    enqueue(session, app, case, "follow-up-notice", "follow-up-notice", ctx, language="ko", to=handler.email, now=now)
    audit(session, now, "survey-reply-for-staff", case_id=case.id, inbound_id=row.id, detail={"why": why})
