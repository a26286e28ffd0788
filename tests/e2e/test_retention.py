"""Retention purge on SQLite and PostgreSQL: personal data of cases past their period goes, the
charter figures stay, the purge is audited, a dry run changes nothing."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import select

from intake.errors import IntakeError
from intake.models import AuditEvent, Case, CaseClock, InboundMessage, Outbox, PurgeMark, StoredAttachment
from intake.stages.privacy import reveal_original
from intake.stages.purge import PURGED_SUBJECT, purge_after, purge_due
from tests.e2e.harness import FixedClock, make_env
from tests.e2e.test_privacy import NOW, rrn_mail


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'intake.db'}"
    return request.getfixturevalue("fresh_postgres_url")


def test_purge_after_counts_from_the_next_january():
    ended = datetime(2026, 12, 31, 16, 0, tzinfo=timezone.utc)          # 2027-01-01 01:00 in Seoul
    assert purge_after(ended, 3).isoformat() == "2031-01-01T00:00:00+09:00"
    assert purge_after(datetime(2026, 3, 1, tzinfo=timezone.utc), 10).year == 2037


def _second_mail() -> bytes:
    return rrn_mail().replace(b"<rrn-1@example.net>", b"<rrn-2@example.net>").replace(
        b"hong@example.net", b"lee@example.net")


def test_purge_removes_personal_data_keeps_figures(tmp_path, dovecot, smtp_sink, db_url):
    env = make_env(tmp_path, dovecot, smtp_sink, db_url)
    env.append(rrn_mail(), internaldate=NOW)
    env.append(_second_mail(), internaldate=NOW)
    assert env.run_once(clock=FixedClock(NOW)).process.failed == 0
    with env.session() as s:
        old, kept = s.exec(select(Case).order_by(Case.id)).all()
        old.status, old.closed_at = "closed", NOW + timedelta(days=2)     # closed in 2026: 10 years (visit cert.)
        s.add(old)
        old_id, kept_id, ref, category = old.id, kept.id, old.ref, old.category
        clocks_before = len(s.exec(select(CaseClock).where(CaseClock.case_id == old_id)).all())
        [raw_path] = s.exec(select(InboundMessage.raw_path).where(InboundMessage.case_id == old_id)).all()
    years = env.app().settings.retention.categories.get(category, 5)
    too_soon = datetime(2026 + years, 12, 31, 12, tzinfo=timezone.utc)    # 21:00 in Seoul
    later = datetime(2027 + years, 1, 2, tzinfo=timezone.utc)
    assert purge_due(env.app(), too_soon).cases == 0

    dry = env.run_cli("purge", "--dry-run", "--json", env={"INTAKE_TEST_CLOCK_SKEW_SECONDS": str(
        (later - datetime.now(timezone.utc)).total_seconds())})
    assert dry.returncode == 0, dry.stderr
    assert json.loads(dry.stdout)["cases"] == 1 and json.loads(dry.stdout)["refs"] == [ref]
    with env.session() as s:
        assert s.get(Case, old_id).customer_address == "hong@example.net", "a dry run changes nothing"

    report = purge_due(env.app(), later)
    assert (report.cases, report.messages, report.attachments, report.refs) == (1, 1, 1, [ref])
    assert report.files == 1 and report.mails >= 2, "the attachment is shared with the open case: kept"
    with env.session() as s:
        case = s.get(Case, old_id)
        assert (case.subject, case.customer_name, case.customer_address, case.text) == (PURGED_SUBJECT, "", None, "")
        assert case.category == category and case.channel == "email" and case.received_at and case.closed_at
        assert len(s.exec(select(CaseClock).where(CaseClock.case_id == old_id)).all()) == clocks_before
        msg = s.exec(select(InboundMessage).where(InboundMessage.case_id == old_id)).one()
        assert (msg.raw_path, msg.subject, msg.from_address, msg.decision) == ("", None, None, None)
        att = s.exec(select(StoredAttachment).where(StoredAttachment.inbound_id == msg.id)).one()
        assert (att.filename, att.original_filename, att.path) == ("", "", "")
        assert all(o.raw == b"" and o.rcpt_to == "" for o in s.exec(select(Outbox).where(Outbox.case_id == old_id)))
        events = s.exec(select(AuditEvent).where(AuditEvent.case_id == old_id)).all()
        assert {"received", "personal-data-purged"} <= {e.event for e in events} or len(events) > 3
        purged = [e for e in events if e.event == "personal-data-purged"]
        assert len(purged) == 1 and json.loads(purged[0].detail)["files"] == 2
        assert all(e.detail is None for e in events if e.event != "personal-data-purged")
        mark = s.exec(select(PurgeMark).where(PurgeMark.case_id == old_id)).one()
        assert mark.retention_years == years
        other = s.get(Case, kept_id)
        assert other.customer_address == "lee@example.net", "an open case is never purged"
        with pytest.raises(IntakeError, match="no longer kept"):
            reveal_original(s, ref, "kim.minsu", store=env.app().store)
    assert not __import__("os").path.exists(raw_path)
    with env.session() as s:
        [shared] = s.exec(select(StoredAttachment.path).where(StoredAttachment.path != "")).all()
    assert env.app().store.read(shared).startswith("신청서".encode()), "still read for the open case"
    assert purge_due(env.app(), later).cases == 0, "done once"
