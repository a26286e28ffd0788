"""The report's rows, read from the database, and the functions other front ends call.

Reads only what the figures need (Core selects, no ORM objects, no mail bodies), so a year of
100,000 cases is read in a few seconds. ``intake.domain.report`` computes; this reads.

API for the web console (``/reports``):

    from intake.stages.report_data import report_html, report_json
    html_text = report_html(app, date(2026, 1, 1), date(2026, 12, 31), department=None, channel=None)
    data      = report_json(app, date(2026, 1, 1), date(2026, 12, 31), channel="email")

``app`` is an ``intake.app.App`` (its engine, calendar config and policies are used); ``engine``
may be given to read from another engine; ``now`` (default ``app.now()``) is the report's "as of".
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.engine import Engine

from intake.domain.calendar_config import calendar_from_config
from intake.domain.clocks import decode_pauses
from intake.domain.report import build_report, template_names_handler
from intake.domain.report_records import (
    CUSTOMER_REPLY_PURPOSES, AnswerEvent, CaseRow, ClockRow, DecisionEvent, MailRow, Period, Report, ReportInput,
    SurveyRow,
)
from intake.domain.workdays import SEOUL
from intake.models import AuditEvent, Case, CaseClock, Outbox, Survey, TemplateVersion

CASE, CLOCK, EVENT, OUTBOX = Case.__table__, CaseClock.__table__, AuditEvent.__table__, Outbox.__table__
SURVEY, VERSION = Survey.__table__, TemplateVersion.__table__


def period_bounds(period: Period) -> tuple[datetime, datetime]:
    """[start, end) as aware moments: Seoul midnight of the first day, and of the day after the last."""
    return (datetime.combine(period.start, time(0), SEOUL),
            datetime.combine(period.end + timedelta(days=1), time(0), SEOUL))


def load_report_input(engine: Engine, period: Period) -> ReportInput:
    """Cases received in the period or with a clock started in it, and what the figures need of them."""
    lo, hi = period_bounds(period)
    with engine.connect() as conn:
        clock_cases = select(CLOCK.c.case_id).where(CLOCK.c.started_at >= lo, CLOCK.c.started_at < hi)
        case_rows = conn.execute(select(
            CASE.c.id, CASE.c.ref, CASE.c.channel, CASE.c.category, CASE.c.department, CASE.c.status,
            CASE.c.received_at, CASE.c.answered_at, CASE.c.closed_at,
        ).where(or_(and_(CASE.c.received_at >= lo, CASE.c.received_at < hi), CASE.c.id.in_(clock_cases)))).all()
        cases = tuple(CaseRow(*r) for r in case_rows)
        ids = {c.id for c in cases}
        first_id = min(ids) if ids else 0
        clocks = tuple(_clock(r) for r in conn.execute(select(
            CLOCK.c.case_id, CLOCK.c.policy, CLOCK.c.state, CLOCK.c.started_at, CLOCK.c.due_at, CLOCK.c.stopped_at,
            CLOCK.c.pauses, CLOCK.c.extension_date, CLOCK.c.extension_reason,
        ).where(CLOCK.c.started_at >= lo, CLOCK.c.started_at < hi).order_by(CLOCK.c.id)))
        events = conn.execute(select(EVENT.c.case_id, EVENT.c.at, EVENT.c.event, EVENT.c.detail).where(
            EVENT.c.event.in_(("answered", "decided")), EVENT.c.case_id >= first_id)).all()
        names = {(n, v): template_names_handler(c) for n, v, c in conn.execute(
            select(VERSION.c.name, VERSION.c.version, VERSION.c.content))}
        mails = tuple(MailRow(cid, purpose, at, status, names.get((tpl, ver), False)) for cid, purpose, tpl, ver, at, status
                      in conn.execute(select(OUTBOX.c.case_id, OUTBOX.c.purpose, OUTBOX.c.template,
                                             OUTBOX.c.template_version, OUTBOX.c.created_at, OUTBOX.c.status)
                                      .where(OUTBOX.c.purpose.in_(CUSTOMER_REPLY_PURPOSES),
                                             OUTBOX.c.case_id >= first_id))
                      if cid in ids)
        surveys = tuple(SurveyRow(*r) for r in conn.execute(select(
            SURVEY.c.case_id, SURVEY.c.sent_at, SURVEY.c.state, SURVEY.c.score, SURVEY.c.comment, SURVEY.c.answered_at,
        ).where(SURVEY.c.sent_at >= lo, SURVEY.c.sent_at < hi)))
    answers, decisions = _events(events, ids)
    return ReportInput(cases, clocks, answers, mails,
                       tuple(s if s.comment is not None else _no_comment(s) for s in surveys), decisions)


def _no_comment(s: SurveyRow) -> SurveyRow:
    return SurveyRow(s.case_id, s.sent_at, s.state, s.score, "", s.answered_at)


def _clock(r) -> ClockRow:
    case_id, policy, state, started, due, stopped, pauses, ext_date, ext_reason = r
    return ClockRow(case_id, policy, state, started, due, stopped, decode_pauses(pauses),
                    date.fromisoformat(ext_date) if ext_date else None, ext_reason)


def _events(rows: Iterable, ids: set[int]) -> tuple[tuple[AnswerEvent, ...], tuple[DecisionEvent, ...]]:
    answers, decisions = [], []
    for case_id, at, event, detail in rows:
        if case_id not in ids:
            continue
        d = json.loads(detail) if detail else {}
        if event == "answered":
            answers.append(AnswerEvent(case_id, at, d.get("working_hours_to_answer")))
        else:
            decisions.append(DecisionEvent(case_id, at, d.get("outcome", ""), d.get("reason", "")))
    return tuple(answers), tuple(decisions)


def compute_report(app, start: date, end: date, *, department: str | None = None, channel: str | None = None,
                   now: datetime | None = None, engine: Engine | None = None) -> Report:
    period = Period(start, end)
    calendar = calendar_from_config(app.calendar_config, range(start.year - 1, end.year + 3))
    data = load_report_input(engine or app.engine, period)
    return build_report(data, period, now or app.now(), calendar, app.policies, department=department,
                        channel=channel)


def report_json(app, start: date, end: date, **kw) -> dict[str, Any]:
    """The report as the json contract (``intake report --format json``)."""
    from intake.domain.report_formats import report_to_json

    return report_to_json(compute_report(app, start, end, **kw), labels(app))


def report_html(app, start: date, end: date, **kw) -> str:
    """The report as one self-contained, printable html page (charts inline as SVG)."""
    from intake.adapters.report_html import render_report_html

    return render_report_html(compute_report(app, start, end, **kw), labels(app), app.org.name)


def labels(app) -> dict[str, str]:
    """Korean labels of categories and departments for display (ids stay in json)."""
    out = {c.id: c.label for c in app.rules.category_rules.categories}
    out.update({d.id: d.name for d in app.settings.roster.departments})
    return out
