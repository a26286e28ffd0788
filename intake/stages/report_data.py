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
from collections.abc import Iterator
from datetime import date, datetime
from sys import intern
from typing import Any

from sqlalchemy import String, and_, or_, select, type_coerce
from sqlalchemy.engine import Engine

from intake.db import read_connection
from intake.domain.calendar_config import calendar_from_config
from intake.domain.clocks import decode_pauses
from intake.domain.report import build_report, period_window, template_names_handler
from intake.domain.report_records import (
    CUSTOMER_REPLY_PURPOSES, AnswerEvent, CaseRow, ClockRow, DecisionEvent, MailRow, Period, Report, ReportInput,
    SurveyRow,
)
from intake.models import AuditEvent, Case, CaseClock, Outbox, Survey, TemplateVersion

CASE, CLOCK, EVENT, OUTBOX = Case.__table__, CaseClock.__table__, AuditEvent.__table__, Outbox.__table__
SURVEY, VERSION = Survey.__table__, TemplateVersion.__table__


def _utc(value) -> datetime | None:
    """A time read by ``_at``: SQLite's stored text (UTC, see ``models.UtcDateTime``) or the driver's
    aware datetime (PostgreSQL)."""
    if value.__class__ is str:
        return _fromiso(value + "+00:00")
    return value


_fromiso = datetime.fromisoformat


def _at(column):
    """The column read without the model type's per-value hook (about a million values in a year's
    report): as SQLite stores it, text, parsed by ``_utc`` in one C call."""
    return type_coerce(column, String()).label(column.name)


BATCH = {"yield_per": 5000}     # fetchmany in batches, not a round trip per row


def report_input(conn, period: Period) -> ReportInput:
    """The rows of ``period``: cases (and surveys) read at once; clocks, answers, mails and decisions
    as iterators over the open connection ``conn`` (``build_report`` reads each once)."""
    lo, hi = period_window(period)
    clock_cases = select(CLOCK.c.case_id).where(CLOCK.c.started_at >= lo, CLOCK.c.started_at < hi)
    cases = tuple(CaseRow(i, ref, intern(ch), intern(cat), intern(dep), intern(st), _utc(rec), None, _utc(closed))
                  for i, ref, ch, cat, dep, st, rec, closed in conn.execute(select(
                      CASE.c.id, CASE.c.ref, CASE.c.channel, CASE.c.category, CASE.c.department, CASE.c.status,
                      _at(CASE.c.received_at), _at(CASE.c.closed_at),
                  ).where(or_(and_(CASE.c.received_at >= lo, CASE.c.received_at < hi), CASE.c.id.in_(clock_cases)))))
    surveys = tuple(SurveyRow(cid, _utc(sent), state, score, comment or "", _utc(answered))
                    for cid, sent, state, score, comment, answered in conn.execute(select(
                        SURVEY.c.case_id, _at(SURVEY.c.sent_at), SURVEY.c.state, SURVEY.c.score, SURVEY.c.comment,
                        _at(SURVEY.c.answered_at)).where(SURVEY.c.sent_at >= lo, SURVEY.c.sent_at < hi)))
    return ReportInput(cases, _clocks(conn, lo, hi), _answers(conn), _mails(conn), surveys, _decisions(conn))


def _clocks(conn, lo: datetime, hi: datetime) -> Iterator[ClockRow]:
    for case_id, policy, state, started, due, stopped, pauses, ext_date, ext_reason in conn.execute(select(
            CLOCK.c.case_id, CLOCK.c.policy, CLOCK.c.state, _at(CLOCK.c.started_at), _at(CLOCK.c.due_at),
            _at(CLOCK.c.stopped_at), CLOCK.c.pauses, CLOCK.c.extension_date, CLOCK.c.extension_reason,
    ).where(CLOCK.c.started_at >= lo, CLOCK.c.started_at < hi).order_by(CLOCK.c.id), execution_options=BATCH):
        yield ClockRow(case_id, intern(policy), intern(state), _utc(started), _utc(due), _utc(stopped),
                       decode_pauses(pauses) if pauses and pauses != "[]" else (),
                       date.fromisoformat(ext_date) if ext_date else None, ext_reason)


def _answers(conn) -> Iterator[AnswerEvent]:
    for case_id, at, detail in conn.execute(select(EVENT.c.case_id, _at(EVENT.c.at), EVENT.c.detail)
                                            .where(EVENT.c.event == "answered"), execution_options=BATCH):
        yield AnswerEvent(case_id, _utc(at), (json.loads(detail) if detail else {}).get("working_hours_to_answer"))


def _decisions(conn) -> Iterator[DecisionEvent]:
    for case_id, at, detail in conn.execute(select(EVENT.c.case_id, _at(EVENT.c.at), EVENT.c.detail)
                                            .where(EVENT.c.event == "decided")):
        d = json.loads(detail) if detail else {}
        yield DecisionEvent(case_id, _utc(at), d.get("outcome", ""), d.get("reason", ""))


def _mails(conn) -> Iterator[MailRow]:
    names = {(n, v): template_names_handler(c) for n, v, c in conn.execute(
        select(VERSION.c.name, VERSION.c.version, VERSION.c.content))}
    for cid, purpose, tpl, ver, at, status in conn.execute(select(
            OUTBOX.c.case_id, OUTBOX.c.purpose, OUTBOX.c.template, OUTBOX.c.template_version, _at(OUTBOX.c.created_at),
            OUTBOX.c.status).where(OUTBOX.c.purpose.in_(CUSTOMER_REPLY_PURPOSES)), execution_options=BATCH):
        yield MailRow(cid, intern(purpose), _utc(at), intern(status), names.get((tpl, ver), False))


def load_report_input(engine: Engine, period: Period) -> ReportInput:
    """All of ``period``'s rows, read into memory (for tests and tools; reports stream)."""
    with read_connection(engine) as conn:
        data = report_input(conn, period)
        return ReportInput(data.cases, tuple(data.clocks), tuple(data.answers), tuple(data.mails), data.surveys,
                           tuple(data.decisions))


def compute_report(app, start: date, end: date, *, department: str | None = None, channel: str | None = None,
                   now: datetime | None = None, engine: Engine | None = None) -> Report:
    period = Period(start, end)
    calendar = calendar_from_config(app.calendar_config, range(start.year - 1, end.year + 3))
    with read_connection(engine or app.engine) as conn:
        return build_report(report_input(conn, period), period, now or app.now(), calendar, app.policies,
                            department=department, channel=channel)


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
