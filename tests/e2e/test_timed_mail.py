"""The charter clocks on time, end to end: real Dovecot, real SMTP sink, real database, a fixed clock.

A request arrives Wed 2026-11-25 10:00 (reply policy, 16 working hours): half the period is
Thu 10:00, the morning of the due day Fri 09:00, the due Fri 10:00. ``run --once`` (which
sweeps before its last send pass) is run at chosen moments and the assertions read what the
SMTP sink received and what the database holds.
"""

from __future__ import annotations

import base64
import email
import signal
import threading
from datetime import datetime, timedelta
from email.header import decode_header, make_header
from email.policy import default as default_policy
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from intake.db import make_engine
from intake.models import AuditEvent, Case, CaseClock, Notice, Outbox
from intake.stages.sweep import sweep
from tests.e2e.harness import FixedClock, make_env

KST = ZoneInfo("Asia/Seoul")
WED_10 = datetime(2026, 11, 25, 10, 0, tzinfo=KST)
CUSTOMER = "hong.gildong@example.com"


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'intake.db'}"
    return request.getfixturevalue("fresh_postgres_url")


def request_mail(n: int, subject: str = "교육 프로그램 일정 문의", sender: str = CUSTOMER) -> bytes:
    head = [f"From: {sender}", "To: consulting@sonosa.or.kr",
            f"Subject: =?utf-8?B?{base64.b64encode(subject.encode()).decode()}?=",
            f"Message-ID: <timed-{n}@example.com>", "Date: Wed, 25 Nov 2026 10:00:00 +0900", "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 8bit"]
    body = "역량강화 교육 프로그램 일정과 신청 방법을 알려 주시기 바랍니다.\r\n홍길동 드림\r\n"
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body.encode()


def subject(raw: bytes) -> str:
    return str(make_header(decode_header(email.message_from_bytes(raw, policy=default_policy)["Subject"])))


def body(raw: bytes) -> str:
    return email.message_from_bytes(raw, policy=default_policy).get_body(("plain",)).get_content()


class Mailbox:
    """What the SMTP sink received, by recipient and subject prefix."""

    def __init__(self, sink):
        self.sink = sink

    def to(self, address: str, prefix: str) -> list:
        return [m for m in self.sink.messages() if m.rcpt_to == [address] and subject(m.raw).startswith(prefix)]

    def count(self) -> int:
        return len(self.sink.messages())


def staff_email(env, staff_id: str) -> str:
    from intake.settings import load_settings

    return load_settings(env.config).roster.member(staff_id).email


def head_of(env, department: str):
    from intake.settings import load_settings

    roster = load_settings(env.config).roster
    return roster.member(roster.department(department).head)


def test_reminders_overdue_escalation_progress_and_digest_once_each(tmp_path, dovecot, smtp_sink, db_url):
    env = make_env(tmp_path, dovecot, smtp_sink, db_url)
    box = Mailbox(smtp_sink)
    env.append(request_mail(1), internaldate=WED_10)
    env.run_once(clock=FixedClock(WED_10 + timedelta(minutes=5)))
    with env.session() as s:
        case = s.exec(select(Case)).one()
        clock = s.exec(select(CaseClock).where(CaseClock.case_id == case.id)).one()
        assert clock.policy == "reply"
        assert clock.due_at.astimezone(KST) == datetime(2026, 11, 27, 10, 0, tzinfo=KST)
        assert clock.next_check_at.astimezone(KST) == datetime(2026, 11, 26, 10, 0, tzinfo=KST)   # the half point
    handler = staff_email(env, case.handler_id)
    head = head_of(env, case.department)
    ref = case.ref

    # Wed 10:05 is after 09:00 on a business day: the handler's digest for Wednesday, once.
    assert len(box.to(handler, "[민원 현황]")) == 1
    env.run_once(clock=FixedClock(WED_10 + timedelta(hours=3)))
    assert len(box.to(handler, "[민원 현황]")) == 1, "one digest per handler per day"
    assert not box.to(handler, f"[기한 알림 {ref}]"), "no reminder before half the period"

    # Thu 20:00 would be past the half point, but never at night.
    env.run_once(clock=FixedClock(datetime(2026, 11, 26, 9, 59, tzinfo=KST)))
    assert not box.to(handler, f"[기한 알림 {ref}]")
    env.run_once(clock=FixedClock(datetime(2026, 11, 26, 10, 0, tzinfo=KST)))
    reminders = box.to(handler, f"[기한 알림 {ref}]")
    assert len(reminders) == 1 and "마감 1일 전" in subject(reminders[0].raw)
    assert "2026년 11월 27일(금) 10:00" in body(reminders[0].raw)
    assert len(box.to(handler, "[민원 현황]")) == 2, "Thursday's digest"
    env.run_once(clock=FixedClock(datetime(2026, 11, 26, 10, 30, tzinfo=KST)))
    assert len(box.to(handler, f"[기한 알림 {ref}]")) == 1, "run again: no second reminder"

    before = box.count()
    env.run_once(clock=FixedClock(datetime(2026, 11, 26, 20, 0, tzinfo=KST)))
    assert box.count() == before, "nothing at 20:00"

    # Fri 09:00: the morning of the due day.
    env.run_once(clock=FixedClock(datetime(2026, 11, 27, 9, 0, tzinfo=KST)))
    reminders = box.to(handler, f"[기한 알림 {ref}]")
    assert len(reminders) == 2 and "오늘 마감" in subject(reminders[1].raw)

    # Fri 10:00: the clock runs out: marked overdue, the head told, the customer told; once each.
    for minutes in (0, 1, 30):
        env.run_once(clock=FixedClock(datetime(2026, 11, 27, 10, minutes, tzinfo=KST)))
    escalations = box.to(head.email, f"[기한 경과 {ref}]")
    progress = box.to(CUSTOMER, f"[접수 {ref}] 처리 진행 상황")
    assert len(escalations) == 1 and len(progress) == 1
    text = body(progress[0].raw)
    for value in ("처리 기한까지 답변을 드리지 못하여", "처리 예정 일시 : 2026년 11월 30일(월) 18:00",
                  "2026년 11월 27일(금) 10:00"):
        assert value in text, value
    assert "부서장님께" in body(escalations[0].raw) and head.name in body(escalations[0].raw)
    with env.session() as s:
        case = s.exec(select(Case)).one()
        assert case.overdue is True
        events = [e.event for e in s.exec(select(AuditEvent).where(AuditEvent.case_id == case.id)
                                          .order_by(AuditEvent.id)).all()]
        assert events.count("reminded") == 2 and events.count("overdue") == 1
        assert events.count("escalated") == 1 and events.count("progress-notice-queued") == 1
        system = {e.actor for e in s.exec(select(AuditEvent).where(AuditEvent.event.in_(
            ["reminded", "overdue", "escalated", "progress-notice-queued", "digest"]))).all()}
        assert system == {"system"}
        assert s.exec(select(CaseClock)).one().next_check_at is None, "nothing more owed"

    # Sunday: nothing at all (no digest either); Monday 09:00 the digest lists the case as overdue.
    before = box.count()
    env.run_once(clock=FixedClock(datetime(2026, 11, 29, 11, 0, tzinfo=KST)))
    assert box.count() == before, "nothing on a Sunday"
    env.run_once(clock=FixedClock(datetime(2026, 11, 30, 9, 0, tzinfo=KST)))
    digests = box.to(handler, "[민원 현황]")
    assert len(digests) == 4 and "기한 경과 1건" in subject(digests[-1].raw) and ref in body(digests[-1].raw)


def test_digest_starts_late_and_not_on_holidays(tmp_path, dovecot, smtp_sink):
    env = make_env(tmp_path, dovecot, smtp_sink, f"sqlite:///{tmp_path / 'intake.db'}")
    box = Mailbox(smtp_sink)
    env.append(request_mail(1), internaldate=WED_10)
    env.run_once(clock=FixedClock(datetime(2026, 11, 24, 20, 0, tzinfo=KST)))      # registered at night
    with env.session() as s:
        handler = staff_email(env, s.exec(select(Case)).one().handler_id)
    assert not box.to(handler, "[민원 현황]"), "no digest at night"
    env.run_once(clock=FixedClock(datetime(2026, 12, 25, 10, 0, tzinfo=KST)))      # Christmas
    assert not box.to(handler, "[민원 현황]"), "no digest on a public holiday"
    env.run_once(clock=FixedClock(datetime(2026, 12, 28, 8, 59, tzinfo=KST)))
    assert not box.to(handler, "[민원 현황]"), "not before 09:00"
    env.run_once(clock=FixedClock(datetime(2026, 12, 28, 15, 0, tzinfo=KST)))      # started at 15:00
    assert len(box.to(handler, "[민원 현황]")) == 1, "a daemon started at 15:00 still sends that day's digest"


def test_calendar_review_warning_once_a_month(tmp_path, dovecot, smtp_sink):
    env = make_env(tmp_path, dovecot, smtp_sink, f"sqlite:///{tmp_path / 'intake.db'}")
    cal = env.config.parent / "calendar.toml"
    cal.write_text(cal.read_text(encoding="utf-8").replace("reviewed_years = []", "reviewed_years = [2026]"),
                   encoding="utf-8")
    box = Mailbox(smtp_sink)
    admin = "minsu.kim@example.org"
    env.run_once(clock=FixedClock(datetime(2026, 11, 25, 10, 0, tzinfo=KST)))
    assert not box.to(admin, "[달력 점검]"), "2026 is reviewed and it is not December"
    for day in (1, 2, 15):
        env.run_once(clock=FixedClock(datetime(2026, 12, day, 10, 0, tzinfo=KST)))
    warnings = box.to(admin, "[달력 점검]")
    assert len(warnings) == 1 and "2027년" in subject(warnings[0].raw)
    env.run_once(clock=FixedClock(datetime(2027, 1, 4, 10, 0, tzinfo=KST)))
    assert len(box.to(admin, "[달력 점검]")) == 2, "January: 2027 still unreviewed, a new month"
    cal.write_text(cal.read_text(encoding="utf-8").replace("reviewed_years = [2026]", "reviewed_years = [2026, 2027]"),
                   encoding="utf-8")
    env.run_once(clock=FixedClock(datetime(2027, 2, 1, 10, 0, tzinfo=KST)))
    assert len(box.to(admin, "[달력 점검]")) == 2, "reviewed: no more warnings"


def test_temporary_holiday_in_calendar_toml_moves_an_open_case(tmp_path, dovecot, smtp_sink, db_url):
    env = make_env(tmp_path, dovecot, smtp_sink, db_url)
    env.append(request_mail(1), internaldate=WED_10)
    env.run_once(clock=FixedClock(WED_10 + timedelta(minutes=5)))
    app = env.app(FixedClock(WED_10 + timedelta(hours=1)))
    try:
        sweep(app)        # this process's first sweep: nothing has moved
        with env.session() as s:
            assert s.exec(select(Case)).one().due_at.astimezone(KST) == datetime(2026, 11, 27, 10, 0, tzinfo=KST)
            assert not s.exec(select(AuditEvent).where(AuditEvent.event == "due-recomputed")).all()
        cal = env.config.parent / "calendar.toml"
        cal.write_text(cal.read_text(encoding="utf-8")
                       + '\n[[closed]]\ndate = 2026-11-26\nname = "임시공휴일"\n', encoding="utf-8")
        report = sweep(app)
        assert report.recomputed == 1
        with env.session() as s:
            case = s.exec(select(Case)).one()
            # Without Thursday: Wed 7 h, Fri 8 h (15), Mon 11-30 09:00-10:00 -> Mon 10:00.
            assert case.due_at.astimezone(KST) == datetime(2026, 11, 30, 10, 0, tzinfo=KST)
            clock = s.exec(select(CaseClock)).one()
            assert clock.due_at == case.due_at
            # the half reminder moved with it: Wed 7 h + Fri 09:00-10:00
            assert clock.next_check_at.astimezone(KST) == datetime(2026, 11, 27, 10, 0, tzinfo=KST)
            moved = s.exec(select(AuditEvent).where(AuditEvent.event == "due-recomputed")).all()
            assert len(moved) == 1 and moved[0].actor == "system"
            assert "2026-11-27T10:00:00+09:00" in moved[0].detail and "2026-11-30T10:00:00+09:00" in moved[0].detail
        assert sweep(app).recomputed == 0, "recomputed once"
        # A second process starting now finds nothing to move either.
        other = env.app(FixedClock(WED_10 + timedelta(hours=2)))
        try:
            assert sweep(other).recomputed == 0
        finally:
            other.engine.dispose()
    finally:
        app.engine.dispose()


def test_two_instances_sweeping_concurrently_send_everything_once(tmp_path, dovecot, smtp_sink, fresh_postgres_url):
    env = make_env(tmp_path, dovecot, smtp_sink, fresh_postgres_url)
    n = 8
    for i in range(n):
        env.append(request_mail(i, sender=f"customer{i}@example.com"), internaldate=WED_10)
    env.run_once(clock=FixedClock(WED_10 + timedelta(minutes=5)))
    with env.session() as s:
        assert len(s.exec(select(Case)).all()) == n

    def race(at: datetime) -> list:
        apps = [env.app(FixedClock(at)) for _ in range(2)]
        barrier = threading.Barrier(len(apps))
        reports, errors = [], []

        def go(app):
            try:
                barrier.wait()
                reports.append(sweep(app))
            except BaseException as exc:   # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=go, args=(a,)) for a in apps]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        for a in apps:
            a.engine.dispose()
        assert not errors, errors
        return reports

    for at in (datetime(2026, 11, 26, 10, 0, tzinfo=KST),    # half reminders and Thursday's digests
               datetime(2026, 11, 27, 10, 0, tzinfo=KST)):   # overdue: escalations and progress notices
        reports = race(at)
        taken: dict[str, int] = {}
        for r in reports:
            for kind, count in r.actions.items():
                taken[kind] = taken.get(kind, 0) + count
        expected = {"remind-half": n} if at.day == 26 else {"overdue": n, "escalate": n, "progress": n}
        assert taken == expected, "each action committed by exactly one instance"
    with env.session() as s:
        purposes = {}
        for row in s.exec(select(Outbox)).all():
            purposes.setdefault(row.purpose, []).append(row)
        assert len(purposes["reminder"]) == n, "one reminder per case, none twice, none skipped"
        assert len(purposes["overdue-escalation"]) == n and len(purposes["progress-notice"]) == n
        assert len({r.rcpt_to for r in purposes["progress-notice"]}) == n
        handlers = {c.handler_id for c in s.exec(select(Case)).all()}
        thursday = [r for r in purposes["daily-digest"] if r.created_at.astimezone(KST).day == 26]
        assert len(thursday) == len(handlers), "one digest per handler per day"
        assert all(c.overdue for c in s.exec(select(Case)).all())
        keys = s.exec(select(Notice.key)).all()
        assert len(keys) == len(set(keys))
        assert len([k for k in keys if k.startswith("overdue:")]) == n
    # and the mail really goes out once each
    env.run_once(clock=FixedClock(datetime(2026, 11, 27, 10, 5, tzinfo=KST)))
    assert len([m for m in smtp_sink.messages() if subject(m.raw).startswith("[기한 경과")]) == n


THU_10 = datetime(2026, 11, 26, 10, 0, 30, tzinfo=KST)


def skew_to(at: datetime) -> str:
    """The CLI's clock runs at the real time plus a skew: set it to ``at`` (give or take seconds)."""
    return str((at - datetime.now(KST)).total_seconds())


def test_sweep_after_a_crash_before_commit_sends_once(tmp_path, dovecot, smtp_sink):
    """A sweep killed after writing its ledger row and mail but before commit left nothing:
    the restart sends the reminder exactly once."""
    env = make_env(tmp_path, dovecot, smtp_sink, f"sqlite:///{tmp_path / 'intake.db'}")
    env.append(request_mail(1), internaldate=WED_10)
    env.run_once(clock=FixedClock(WED_10 + timedelta(minutes=5)))
    crashed = env.run_cli("run", "--once", env={"INTAKE_CRASH_AT": "sweep-before-commit",
                                                "INTAKE_TEST_CLOCK_SKEW_SECONDS": skew_to(THU_10)})
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr[-2000:]
    with env.session() as s:
        assert not s.exec(select(Notice).where(Notice.kind == "remind-half")).all()
        assert not s.exec(select(Outbox).where(Outbox.purpose == "reminder")).all()
    rerun = env.run_cli("run", "--once", env={"INTAKE_TEST_CLOCK_SKEW_SECONDS": skew_to(THU_10)})
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    env.run_once(clock=FixedClock(datetime(2026, 11, 26, 10, 2, tzinfo=KST)))
    assert len([m for m in smtp_sink.messages() if subject(m.raw).startswith("[기한 알림")]) == 1
