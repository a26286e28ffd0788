"""Staff work by e-mail, end to end: real Dovecot, real SMTP sink, real database, a controlled clock.

A handler replies to the task mail (its Reply-To carries the task token); the
reply goes back into the intake mailbox like any mail and ``run_once`` turns
it into an answer relayed to the customer, or into commands on the case.
"""

from __future__ import annotations

import base64
import email
import re
from datetime import datetime, timedelta
from email.policy import default as default_policy
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from intake.models import AuditEvent, Case, CaseClock, InboundMessage, Notice, Outbox
from tests.e2e.harness import FixedClock, make_env
from tests.e2e.test_foundation import decoded_subject, text_part

KST = ZoneInfo("Asia/Seoul")
WED_10 = datetime(2026, 11, 25, 10, 0, tzinfo=KST)
CUSTOMER = "hong.gildong@example.com"
STAFF = {"kim.minsu": "minsu.kim@example.org", "park.jiyoung": "jiyoung.park@example.org",
         "jung.hyunwoo": "hyunwoo.jung@example.org", "lee.seoyeon": "seoyeon.lee@example.org",
         "han.dohyun": "dohyun.han@example.org", "choi.junho": "junho.choi@example.org"}


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'intake.db'}"
    return request.getfixturevalue("fresh_postgres_url")


def utf8_mail(sender: str, to: str, subject: str, body: str, message_id: str, *, cc: str | None = None,
              in_reply_to: str | None = None) -> bytes:
    head = [f"From: {sender}", f"To: {to}"] + ([f"Cc: {cc}"] if cc else []) + [
        f"Subject: =?utf-8?B?{base64.b64encode(subject.encode()).decode()}?=",
        f"Message-ID: {message_id}", "Date: Wed, 25 Nov 2026 10:00:00 +0900", "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 8bit"]
    if in_reply_to:
        head += [f"In-Reply-To: {in_reply_to}", f"References: {in_reply_to}"]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body.replace("\n", "\r\n").encode()


class Desk:
    """One intake installation under a controlled clock, with helpers to act as customer and staff."""

    def __init__(self, env, sink):
        self.env, self.sink, self.n = env, sink, 0

    def run(self, at: datetime):
        report = self.env.run_once(clock=FixedClock(at))
        assert report.process.failed == 0, report.process.summaries
        return report

    def request(self, subject: str, body: str, at: datetime, sender: str = CUSTOMER) -> Case:
        self.n += 1
        self.env.append(utf8_mail(sender, "consulting@sonosa.or.kr", subject, body, f"<req-{self.n}@example.com>"),
                        internaldate=at)
        self.run(at)
        with self.env.session() as s:
            return s.exec(select(Case).order_by(Case.id.desc())).first()

    def task_mail(self, case: Case) -> email.message.EmailMessage:
        handler_mail = STAFF[case.handler_id]
        tasks = [m for m in self.sink.messages()
                 if m.rcpt_to == [handler_mail] and decoded_subject(m.raw).startswith(
                     (f"[업무 {case.ref}]", f"[전화 요청 {case.ref}]"))]
        assert tasks, f"no task mail for {case.ref}"
        return email.message_from_bytes(tasks[-1].raw, policy=default_policy)

    def reply_to_task(self, case: Case, body: str, at: datetime, *, sender: str | None = None,
                      quote_token: bool = True, use_reply_to: bool = True, run: bool = True) -> None:
        task = self.task_mail(case)
        quoted = "\n".join("> " + line for line in text_part(task.as_bytes()).splitlines()) if quote_token else ""
        self.n += 1
        to = str(task["Reply-To"]) if use_reply_to else "consulting@sonosa.or.kr"
        raw = utf8_mail(sender or STAFF[case.handler_id], to, "Re: " + decoded_subject(task.as_bytes()),
                        f"{body}\n\n2026년 11월 25일 (수) 오전 10:00, 민원 접수 <consulting@sonosa.or.kr>님이 작성:\n{quoted}\n",
                        f"<staff-{self.n}@example.org>", in_reply_to=str(task["Message-ID"]))
        self.env.append(raw, internaldate=at)
        if run:
            self.run(at)

    def to(self, address: str) -> list:
        return [m for m in self.sink.messages() if m.rcpt_to == [address]]

    def case(self, ref: str) -> Case:
        with self.env.session() as s:
            return s.exec(select(Case).where(Case.ref == ref)).one()

    def clocks(self, ref: str) -> dict[str, CaseClock]:
        with self.env.session() as s:
            case = s.exec(select(Case).where(Case.ref == ref)).one()
            return {c.policy: c for c in s.exec(select(CaseClock).where(CaseClock.case_id == case.id)).all()}

    def events(self, ref: str) -> list[AuditEvent]:
        with self.env.session() as s:
            case = s.exec(select(Case).where(Case.ref == ref)).one()
            return s.exec(select(AuditEvent).where(AuditEvent.case_id == case.id).order_by(AuditEvent.id)).all()


@pytest.fixture
def desk(tmp_path, dovecot, smtp_sink):
    return Desk(make_env(tmp_path, dovecot, smtp_sink, f"sqlite:///{tmp_path / 'intake.db'}"), smtp_sink)


def test_task_mail_carries_the_token_in_reply_to_and_footer(desk):
    case = desk.request("방북증명서 발급 문의", "방북증명서 발급 절차를 알려 주십시오.", WED_10)
    task = desk.task_mail(case)
    token = desk.case(case.ref).task_token
    assert token and str(task["Reply-To"]) == f"consulting+{token}@sonosa.or.kr"
    assert f"intake-token:{token}" in text_part(task.as_bytes())


def test_plain_reply_is_relayed_to_the_customer_signed_and_stops_the_clock(tmp_path, dovecot, smtp_sink, db_url):
    desk = Desk(make_env(tmp_path, dovecot, smtp_sink, db_url), smtp_sink)
    case = desk.request("교육 프로그램 일정 문의", "역량강화 교육 일정을 알려 주십시오.", WED_10)
    answer_at = WED_10 + timedelta(hours=3)   # 10:00 → 13:00 is 2 working hours (lunch)
    desk.reply_to_task(case, "안녕하십니까. 다음 교육은 12월 10일에 열립니다.\n신청은 홈페이지에서 하실 수 있습니다.",
                       answer_at)

    relays = [m for m in desk.to(CUSTOMER) if "답변드립니다" in decoded_subject(m.raw)]
    assert len(relays) == 1
    text = text_part(relays[0].raw)
    assert "다음 교육은 12월 10일에 열립니다." in text and "intake-token" not in text and "> " not in text
    staff_id = case.handler_id
    from intake.settings import load_settings
    member = load_settings(desk.env.config).roster.member(staff_id)
    dept = load_settings(desk.env.config).roster.department(member.department)
    for value in (member.name, dept.name, member.email):
        assert value in text, f"{value!r} missing from the signature"
    assert re.sub(r"\D", "", member.phone) in re.sub(r"\D", "", text)
    msg = email.message_from_bytes(relays[0].raw, policy=default_policy)
    assert msg["In-Reply-To"] == "<req-1@example.com>", "the answer threads under the customer's request"

    after = desk.case(case.ref)
    assert after.status == "answered" and after.answered_at is not None
    assert desk.clocks(case.ref)["reply"].state == "met"
    answered = [e for e in desk.events(case.ref) if e.event == "answered"]
    assert len(answered) == 1 and answered[0].actor == staff_id and '"working_hours_to_answer": 2.0' in answered[0].detail

    # The same reply fetched again (re-delivery) does nothing more.
    before = len(smtp_sink.messages())
    desk.run(answer_at + timedelta(minutes=5))
    assert len(smtp_sink.messages()) == before


def test_forged_and_foreign_commands_are_refused(desk, smtp_sink):
    case = desk.request("교육 프로그램 일정 문의", "역량강화 교육 일정을 알려 주십시오.", WED_10)
    handler = case.handler_id
    other = next(s for s in STAFF if s != handler)
    at = WED_10 + timedelta(hours=1)

    # Another staff member replying with the handler's token: refused, told at their own address.
    desk.reply_to_task(case, "#close 제가 처리했습니다", at, sender=STAFF[other])
    errors = [m for m in desk.to(STAFF[other]) if "처리하지 못했습니다" in decoded_subject(m.raw)]
    assert len(errors) == 1 and "not the handler" in text_part(errors[0].raw)

    # The handler's address without the token (plain To: intake, no quote): refused too.
    desk.reply_to_task(case, "#close 토큰 없음", at + timedelta(minutes=1), quote_token=False, use_reply_to=False)
    errors = [m for m in desk.to(STAFF[handler]) if "처리하지 못했습니다" in decoded_subject(m.raw)]
    assert len(errors) == 1 and "without its task token" in text_part(errors[0].raw)

    # The customer quoting a token (say, a forwarded task mail): never a command, just a follow-up.
    desk.reply_to_task(case, "#close 고객이 보낸 명령", at + timedelta(minutes=2), sender=CUSTOMER)
    after = desk.case(case.ref)
    assert after.status == "open" and after.closed_at is None
    assert desk.clocks(case.ref)["reply"].state == "running"
    refused = [e for e in desk.events(case.ref) if e.event == "command-refused"]
    assert len(refused) == 2
    assert not [m for m in desk.to(CUSTOMER) if "답변드립니다" in decoded_subject(m.raw)]


def test_unknown_command_gets_an_error_and_nothing_reaches_the_customer(desk):
    case = desk.request("교육 프로그램 일정 문의", "역량강화 교육 일정을 알려 주십시오.", WED_10)
    acks = len(desk.to(CUSTOMER))
    desk.reply_to_task(case, "#frobnicate 지금\n#hold", WED_10 + timedelta(hours=1))
    errors = [m for m in desk.to(STAFF[case.handler_id]) if "처리하지 못했습니다" in decoded_subject(m.raw)]
    assert len(errors) == 1
    text = text_part(errors[0].raw)
    assert "unknown command #frobnicate" in text and "#hold needs a reason" in text
    assert len(desk.to(CUSTOMER)) == acks
    assert desk.case(case.ref).status == "open"


def test_hold_resume_extend_on_a_review_case(desk):
    case = desk.request("반출승인 예비검토 신청", "물품 반출승인 신청서와 인보이스를 보내 드립니다. 예비검토 부탁드립니다.",
                        WED_10)
    assert case.category == "trade-approval-review"
    clocks = desk.clocks(case.ref)
    assert set(clocks) == {"review"}, "the review period is the promise from receipt"
    review_due = clocks["review"].due_at.astimezone(KST)
    assert review_due == datetime(2026, 12, 3, 18, 0, tzinfo=KST)     # 7 business days, day 1 = Wed 25th

    # The review clock is held for the government consultation.
    hold_at = datetime(2026, 11, 26, 11, 0, tzinfo=KST)
    desk.reply_to_task(case, "#hold 통일부 협의 중", hold_at)
    clocks = desk.clocks(case.ref)
    assert clocks["review"].state == "paused" and clocks["review"].due_at is None
    notices = [m for m in desk.to(CUSTOMER) if "진행 상황" in decoded_subject(m.raw)]
    assert len(notices) == 1 and "통일부 협의 중" in text_part(notices[0].raw)

    # A second #hold while held is refused; resume two business days later moves the due by two days.
    desk.reply_to_task(case, "#hold 다시", hold_at + timedelta(hours=1))
    assert any("already on hold" in text_part(m.raw) for m in desk.to(STAFF[case.handler_id])
               if "처리하지 못했습니다" in decoded_subject(m.raw))
    resume_at = datetime(2026, 11, 30, 11, 0, tzinfo=KST)          # Thu 11:00 → Mon 11:00: 2 business days held
    desk.reply_to_task(case, "#resume", resume_at)
    clocks = desk.clocks(case.ref)
    assert clocks["review"].state == "running"
    assert clocks["review"].due_at.astimezone(KST) == datetime(2026, 12, 7, 18, 0, tzinfo=KST)
    assert len([m for m in desk.to(CUSTOMER) if "진행 상황" in decoded_subject(m.raw)]) == 2

    # Extend once, with a reason; the customer is told; a second extension is refused.
    desk.reply_to_task(case, "#extend 2026-12-11 관계기관 추가 협의", resume_at + timedelta(hours=1))
    ext = [m for m in desk.to(CUSTOMER) if "연장" in decoded_subject(m.raw)]
    assert len(ext) == 1 and "관계기관 추가 협의" in text_part(ext[0].raw)
    desk.reply_to_task(case, "#extend 2026-12-14 또 연장", resume_at + timedelta(hours=2))
    assert any("already extended once" in text_part(m.raw) for m in desk.to(STAFF[case.handler_id]))
    assert len([m for m in desk.to(CUSTOMER) if "연장" in decoded_subject(m.raw)]) == 1
    events = [e.event for e in desk.events(case.ref)]
    assert {"paused", "resumed", "extended"} <= set(events)


def test_reply_clock_cannot_be_held(desk):
    case = desk.request("교육 프로그램 일정 문의", "역량강화 교육 일정을 알려 주십시오.", WED_10)
    desk.reply_to_task(case, "#hold 자료 확인 중", WED_10 + timedelta(hours=1))
    errors = [m for m in desk.to(STAFF[case.handler_id]) if "처리하지 못했습니다" in decoded_subject(m.raw)]
    assert len(errors) == 1 and "use #extend instead" in text_part(errors[0].raw)
    assert desk.clocks(case.ref)["reply"].state == "running"


def test_note_reassign_and_close(desk):
    case = desk.request("교육 프로그램 일정 문의", "역량강화 교육 일정을 알려 주십시오.", WED_10)
    at = WED_10 + timedelta(hours=1)
    desk.reply_to_task(case, "#note 전화로 먼저 안내함", at)
    assert any(e.event == "note" and "전화로 먼저 안내함" in e.detail for e in desk.events(case.ref))

    target = "choi.junho"
    desk.reply_to_task(case, f"#reassign {target} 조사연구부 소관", at + timedelta(minutes=5))
    moved = desk.case(case.ref)
    assert moved.handler_id == target and moved.due_at == case.due_at
    assert [m for m in desk.to(STAFF[target]) if case.ref in decoded_subject(m.raw)]

    # The new handler's token is the case's: their reply closes it; the old handler no longer can.
    desk.reply_to_task(moved, "#close 안내 완료", at + timedelta(minutes=10))
    closed = desk.case(case.ref)
    assert closed.status == "closed" and closed.closed_at is not None
    assert all(c.state in ("met", "cancelled") for c in desk.clocks(case.ref).values())


def test_postal_call_then_written_reply_clock(desk):
    # A scanned letter is a post-channel case with a phone-call clock (the scanner is configured in channels.toml).
    case = desk.request("스캔 문서", "교육 신청 관련 문의입니다. 연락처 010-2345-6789", WED_10,
                        sender="scanner@sonosa.or.kr")
    if case.channel != "post":
        pytest.skip("scanner sender pattern not configured for post")
    assert set(desk.clocks(case.ref)) == {"phone-call"}
    desk.reply_to_task(case, "#called 서면 회신을 원하심", WED_10 + timedelta(hours=2))
    clocks = desk.clocks(case.ref)
    assert clocks["phone-call"].state == "met"
    assert clocks["reply"].state == "running"
    assert clocks["reply"].due_at.astimezone(KST) == datetime(2026, 11, 27, 12, 0, tzinfo=KST)   # 16 working h from 12:00


def test_approved_starts_issuance_and_error_starts_both_error_clocks(desk):
    case = desk.request("방북증명서 발급 문의", "방북증명서 발급 신청합니다.", WED_10)
    assert case.category == "visit-certificate"
    approval = datetime(2026, 11, 27, 14, 0, tzinfo=KST)
    desk.reply_to_task(case, "#approved", approval)
    clocks = desk.clocks(case.ref)
    assert clocks["issuance"].due_at.astimezone(KST) == datetime(2026, 12, 2, 14, 0, tzinfo=KST)   # 24 working h
    desk.reply_to_task(case, "#approved", approval + timedelta(minutes=1))
    assert any("already recorded" in text_part(m.raw) for m in desk.to(STAFF[case.handler_id]))

    desk.reply_to_task(case, "#error 증명서 성명 오기", datetime(2026, 11, 27, 17, 0, tzinfo=KST))
    clocks = desk.clocks(case.ref)
    # 24 business hours from Fri 17:00: Saturday and Sunday do not count → Mon 17:00.
    assert clocks["error-contact"].due_at.astimezone(KST) == datetime(2026, 11, 30, 17, 0, tzinfo=KST)
    # 3 days = 24 working hours: Fri 17-18, Mon, Tue, Wed 09-17 (lunch excluded).
    assert clocks["error-fix"].due_at.astimezone(KST) == datetime(2026, 12, 2, 17, 0, tzinfo=KST)


def test_handler_answering_directly_with_intake_in_cc_is_recorded(desk):
    case = desk.request("교육 프로그램 일정 문의", "역량강화 교육 일정을 알려 주십시오.", WED_10)
    desk.n += 1
    raw = utf8_mail(STAFF[case.handler_id], CUSTOMER, "Re: 교육 프로그램 일정 문의", "12월 10일입니다.",
                    "<direct-1@example.org>", cc="consulting@sonosa.or.kr", in_reply_to="<req-1@example.com>")
    sent_before = len(desk.sink.messages())
    desk.env.append(raw, internaldate=WED_10 + timedelta(hours=2))
    desk.run(WED_10 + timedelta(hours=2))
    after = desk.case(case.ref)
    assert after.status == "answered"
    assert [e for e in desk.events(case.ref) if e.event == "answered" and "Cc" in e.detail]
    assert len(desk.sink.messages()) == sent_before, "nothing is sent: the customer already has the answer"


def test_handler_vacation_auto_reply_is_never_an_answer(desk):
    case = desk.request("교육 프로그램 일정 문의", "역량강화 교육 일정을 알려 주십시오.", WED_10)
    task = desk.task_mail(case)
    raw = (f"From: {STAFF[case.handler_id]}\r\nTo: {task['Reply-To']}\r\nSubject: Automatic reply: x\r\n"
           "Auto-Submitted: auto-replied\r\nX-Autoreply: yes\r\nMessage-ID: <vac-1@example.org>\r\n"
           f"In-Reply-To: {task['Message-ID']}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
           "I am out of the office until Monday.\r\n").encode()
    desk.env.append(raw, internaldate=WED_10 + timedelta(hours=1))
    desk.run(WED_10 + timedelta(hours=1))
    assert desk.case(case.ref).status == "open"
    assert not [m for m in desk.to(CUSTOMER) if "답변드립니다" in decoded_subject(m.raw)]


def test_the_same_actions_on_the_command_line(desk, tmp_path):
    case = desk.request("반출승인 예비검토 신청", "물품 반출승인 신청서와 인보이스를 보내 드립니다. 예비검토 부탁드립니다.",
                        WED_10)
    env = desk.env

    def cli(*args):
        return env.run_cli("cases", *args, "--actor", "admin.kim")

    held = cli("hold", case.ref, "--reason", "통일부 협의")
    assert held.returncode == 0, held.stderr
    assert desk.clocks(case.ref)["review"].state == "paused"
    again = cli("hold", case.ref, "--reason", "또")
    assert again.returncode == 1 and "already on hold" in again.stderr and "nothing changed" in again.stderr
    assert cli("resume", case.ref).returncode == 0
    assert desk.clocks(case.ref)["review"].state == "running"

    bad_date = cli("extend", case.ref, "--date", "2027-13-01", "--reason", "x")
    assert bad_date.returncode == 2 and "is not a date" in bad_date.stderr
    ext = cli("extend", case.ref, "--date", "2027-01-15", "--reason", "관계기관 추가 협의")
    assert ext.returncode == 0, ext.stderr
    assert desk.clocks(case.ref)["review"].due_at.astimezone(KST) == datetime(2027, 1, 15, 18, 0, tzinfo=KST)
    twice = cli("extend", case.ref, "--date", "2027-01-18", "--reason", "또")
    assert twice.returncode == 1 and "already extended once" in twice.stderr

    not_post = cli("called", case.ref)
    assert not_post.returncode == 1 and "phone-call" in not_post.stderr
    assert cli("note", case.ref, "--text", "담당 과장 확인").returncode == 0

    answer_file = tmp_path / "answer.txt"
    answer_file.write_text("예비검토 결과 반출승인 신청 요건을 갖추었습니다.\n", encoding="utf-8")
    answered = cli("answer", case.ref, "--text-file", str(answer_file))
    assert answered.returncode == 0, answered.stderr
    desk.run(datetime.now(KST))        # the send pass delivers the relayed answer
    relays = [m for m in desk.to(CUSTOMER) if "답변드립니다" in decoded_subject(m.raw)]
    assert len(relays) == 1 and "요건을 갖추었습니다" in text_part(relays[0].raw)

    assert cli("close", case.ref, "--note", "검토 완료").returncode == 0
    shown = env.run_cli("cases", "show", case.ref)
    assert shown.returncode == 0
    assert "clock review [met]" in shown.stdout and "[closed" in shown.stdout
    actors = {e.actor for e in desk.events(case.ref) if e.event in ("paused", "resumed", "extended", "note",
                                                                    "answered", "closed")}
    assert actors == {"admin.kim"}


FAX_ONLY_PAGE = ("방북증명서 발급 신청\n"
                 "신청인: 김철수\n"
                 "방북증명서 발급 절차와 구비 서류를 알려 주십시오.\n"
                 "팩스 번호: 02-3471-2290")


def test_answer_to_a_fax_customer_goes_back_by_fax(tmp_path, dovecot, smtp_sink):
    from tests.e2e.test_fax_post import _ocr_missing, attachments, paper_mail, pdf_text
    from tests.fixtures.pages import fax_tiff

    if _ocr_missing():
        pytest.skip(_ocr_missing())

    env = make_env(tmp_path, dovecot, smtp_sink, f"sqlite:///{tmp_path / 'intake.db'}",
                   extra='\n[fax]\ngateway_address = "{number}@fax.example"\n')
    desk = Desk(env, smtp_sink)
    env.append(paper_mail("fax-noreply@cloudfax-relay.kr", "팩스 수신 알림 - 02-3471-2290",
                          [(fax_tiff([FAX_ONLY_PAGE]), "image/tiff", "fax_0234712290.tif")],
                          "<fax-9@cloudfax-relay.kr>"),
               internaldate=WED_10)
    desk.run(WED_10)
    with env.session() as s:
        case = s.exec(select(Case)).one()
    # No e-mail address on the fax: the answer can only go back by fax.
    assert case.channel == "fax" and case.customer_fax == "02-3471-2290" and case.customer_address is None
    desk.reply_to_task(case, "신청서를 잘 받았습니다. 발급까지 3일이 걸립니다.", WED_10 + timedelta(hours=1))

    faxed = [m for m in desk.to("0234712290@fax.example") if "답변드립니다" in decoded_subject(m.raw)]
    assert len(faxed) == 1
    [(name, ctype, pdf)] = attachments(faxed[0].raw)
    assert ctype == "application/pdf" and name == f"answer-{case.ref}.pdf"
    text = pdf_text(pdf, tmp_path)
    assert "발급까지 3일이 걸립니다" in text
    from intake.settings import load_settings
    member = load_settings(env.config).roster.member(case.handler_id)
    assert member.name in text and member.email in text
    assert desk.case(case.ref).status == "answered"
    assert any(e.event == "answered" and "fax" in e.detail for e in desk.events(case.ref))
    assert not [m for m in desk.to("fax-noreply@cloudfax-relay.kr")], "never to the gateway's sender"


def test_staff_reply_to_a_mail_about_no_case_is_not_registered_as_a_request(desk):
    case = desk.request("교육 프로그램 일정 문의", "역량강화 교육 일정을 알려 주십시오.", WED_10)
    other = next(s for s in STAFF if s != case.handler_id)
    desk.reply_to_task(case, "#close 남의 업무", WED_10 + timedelta(minutes=30), sender=STAFF[other])
    [error] = [m for m in desk.to(STAFF[other]) if "처리하지 못했습니다" in decoded_subject(m.raw)]
    error_msg = email.message_from_bytes(error.raw, policy=default_policy)
    assert "intake-token" not in text_part(error.raw), "a refusal never hands out the case's token"
    # The staff member answers the error notice itself: no new case, one more error notice.
    desk.env.append(utf8_mail(STAFF[other], "consulting@sonosa.or.kr", "Re: 처리 오류", "왜 안 되나요?",
                              "<why-1@example.org>", in_reply_to=str(error_msg["Message-ID"])),
                    internaldate=WED_10 + timedelta(hours=1))
    desk.run(WED_10 + timedelta(hours=1))
    with desk.env.session() as s:
        assert len(s.exec(select(Case)).all()) == 1
    assert len([m for m in desk.to(STAFF[other]) if "처리하지 못했습니다" in decoded_subject(m.raw)]) == 2
