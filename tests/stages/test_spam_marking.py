"""A case marked as spam by staff (one code path for #spam, the console and ``intake cases spam``),
against real SQLite and PostgreSQL: closed, customer mail cancelled, message quarantined, a correction
that ``intake train`` reads as a spam example."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlmodel import select

from intake.db import transaction
from intake.domain.textmodel import SPAM
from intake.models import AuditEvent, CaseClock, Correction, InboundMessage, Outbox
from intake.stages.case_actions import ActionError
from intake.stages.corrections import find_case
from intake.stages.spam_marking import CANCELLED, mark_spam
from intake.stages.training import corrected_case_examples
from tests.stages.test_corrections import NOW, app, config, db_url, register_sample  # noqa: F401  (fixtures)


def test_marking_a_case_as_spam(app):  # noqa: F811
    ref = register_sample(app, "sample-005.eml", 1)
    other = register_sample(app, "sample-001.eml", 2)
    with transaction(app.engine) as s:
        case = find_case(s, ref)
        pending = {o.purpose: o.rcpt_to for o in s.exec(select(Outbox).where(Outbox.case_id == case.id,
                                                                              Outbox.status == "pending"))}
        assert "acknowledgement" in pending and "staff-task" in pending      # not sent yet
        category = case.category
        summary = mark_spam(s, app, case, "검색 순위 광고", "park.jiyoung", NOW)
    assert summary.startswith(f"{ref} closed as spam (1 pending mail cancelled, 1 message(s) quarantined)")
    with transaction(app.engine) as s:
        case = find_case(s, ref)
        assert case.status == "closed" and case.closed_at == NOW
        clocks = s.exec(select(CaseClock).where(CaseClock.case_id == case.id)).all()
        assert clocks and {c.state for c in clocks} == {"cancelled"}
        mails = {o.purpose: o for o in s.exec(select(Outbox).where(Outbox.case_id == case.id))}
        assert mails["acknowledgement"].status == CANCELLED
        assert "marked as spam by park.jiyoung" in mails["acknowledgement"].last_error
        assert mails["staff-task"].status == "pending"                     # staff mail is not the sender's
        rows = s.exec(select(InboundMessage).where(InboundMessage.case_id == case.id)).all()
        assert [r.stage for r in rows] == ["quarantine"]
        corr = s.exec(select(Correction).where(Correction.case_id == case.id)).one()
        assert (corr.kind, corr.from_value, corr.to_value, corr.actor, corr.reason) == (
            "spam", category, "spam", "park.jiyoung", "검색 순위 광고")
        event = s.exec(select(AuditEvent).where(AuditEvent.case_id == case.id,
                                                AuditEvent.event == "marked-spam")).one()
        assert event.actor == "park.jiyoung" and json.loads(event.detail)["reason"] == "검색 순위 광고"
        examples = {e.source.split()[0]: e.label for e in corrected_case_examples(s)}
        assert examples == {f"case:{ref}": SPAM}                          # intake train learns it as spam
        assert find_case(s, other).status == "open"                       # nothing else touched
        assert s.exec(select(Outbox).where(Outbox.case_id == find_case(s, other).id,
                                           Outbox.status == CANCELLED)).first() is None
    with transaction(app.engine) as s, pytest.raises(ActionError, match="already marked as spam"):
        mark_spam(s, app, find_case(s, ref), "", "park.jiyoung", NOW + timedelta(minutes=1))


def test_a_closed_case_can_still_be_marked_and_a_reason_is_optional(app):  # noqa: F811
    from intake.stages.case_actions import close

    ref = register_sample(app, "sample-005.eml", 1)
    with transaction(app.engine) as s:
        close(s, app, find_case(s, ref), "답변 완료", "park.jiyoung", NOW)
    with transaction(app.engine) as s:
        mark_spam(s, app, find_case(s, ref), "  ", "park.jiyoung", NOW + timedelta(hours=1))
    with transaction(app.engine) as s:
        case = find_case(s, ref)
        assert case.closed_at == NOW                                       # the first closing time stays
        assert s.exec(select(Correction.reason).where(Correction.case_id == case.id)).one() == "담당자가 스팸으로 표시"
