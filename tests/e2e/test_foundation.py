"""End to end through a real Dovecot, a real SMTP server and a real database.

No mocks: messages are APPENDed over IMAP, `run_once` (the code behind
`intake run --once`) fetches, registers and sends, and the assertions read
what the SMTP server received and what the database holds.
"""

from __future__ import annotations

import email
from datetime import datetime, timedelta
from email.header import decode_header, make_header
from email.policy import default as default_policy
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from intake.models import AuditEvent, Case, InboundMessage, Outbox, TemplateVersion
from tests.e2e.harness import FixedClock, make_env, sample_bytes
from tests.fixtures.mailbuild import HANGUL_CP949_ONLY

KST = ZoneInfo("Asia/Seoul")
NOW = datetime(2026, 11, 25, 19, 45, tzinfo=KST)


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'intake.db'}"
    return request.getfixturevalue("fresh_postgres_url")


def ks_c_request(subject: str, body: str, sender: str = "hong.gildong@example.com",
                 message_id: str = "<req-1@example.com>") -> bytes:
    """An Outlook-style ks_c_5601-1987 message (cp949 bytes, base64 subject)."""
    import base64

    enc = base64.b64encode(subject.encode("cp949")).decode()
    name = base64.b64encode("홍길동".encode("cp949")).decode()
    head = (f"From: =?ks_c_5601-1987?B?{name}?= <{sender}>\r\n"
            f"To: consulting@sonosa.or.kr\r\n"
            f"Subject: =?ks_c_5601-1987?B?{enc}?=\r\n"
            f"Date: Wed, 25 Nov 2026 19:30:00 +0900\r\n"
            f"Message-ID: {message_id}\r\n"
            f"MIME-Version: 1.0\r\n"
            f"Content-Type: text/plain; charset=\"ks_c_5601-1987\"\r\n"
            f"Content-Transfer-Encoding: 8bit\r\n\r\n")
    return head.encode("ascii") + body.encode("cp949").replace(b"\n", b"\r\n")


def utf8_reply(subject: str, body: str, message_id: str, in_reply_to: str | None = None) -> bytes:
    """A customer's UTF-8 reply; ``in_reply_to`` also goes into References."""
    import base64

    threading = f"In-Reply-To: {in_reply_to}\r\nReferences: {in_reply_to}\r\n" if in_reply_to else ""
    return ("From: hong.gildong@example.com\r\nTo: consulting@sonosa.or.kr\r\n"
            f"Subject: =?utf-8?B?{base64.b64encode(subject.encode()).decode()}?=\r\n"
            f"Message-ID: {message_id}\r\n{threading}MIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
            f"{body}\r\n").encode()


def decoded_subject(raw: bytes) -> str:
    msg = email.message_from_bytes(raw, policy=default_policy)
    return str(make_header(decode_header(msg["Subject"])))


def text_part(raw: bytes) -> str:
    msg = email.message_from_bytes(raw, policy=default_policy)
    return msg.get_body(("plain",)).get_content()


def test_core_end_to_end(tmp_path, dovecot, smtp_sink, db_url):
    env = make_env(tmp_path, dovecot, smtp_sink, db_url)
    subject = f"방북증명서 발급 문의드립니다 ({HANGUL_CP949_ONLY})"
    body = ("안녕하십니까. 다음 달 방북 예정이라 방북증명서 발급 절차를 문의드립니다.\n"
            "연락처: 010-2345-6789\n홍길동 드림\n")
    received = datetime(2026, 11, 25, 19, 30, tzinfo=KST)
    env.append(ks_c_request(subject, body), internaldate=received)
    env.append(sample_bytes("sample-004.eml"), internaldate=received)   # out-of-office
    env.append(sample_bytes("sample-011.eml"), internaldate=received)   # bounce (DSN)
    env.append(sample_bytes("sample-070.eml"), internaldate=received)   # spam

    report = env.run_once(clock=FixedClock(NOW))
    assert report.fetch.registered == 4 and report.process.failed == 0

    with env.session() as s:
        cases = s.exec(select(Case)).all()
        assert len(cases) == 1
        case = cases[0]
        assert case.ref == "2026-000001"
        assert case.category == "visit-certificate" and case.department == "support-center"
        assert case.subject == subject            # 똠/햏/뷁/됬 survived ks_c_5601-1987
        assert case.customer_address == "hong.gildong@example.com"
        assert case.customer_phone == "010-2345-6789"
        assert case.due_at.astimezone(KST) == datetime(2026, 11, 27, 18, 0, tzinfo=KST)
        assert case.received_at.astimezone(KST) == received
        kinds = sorted(m.kind for m in s.exec(select(InboundMessage)).all())
        assert kinds == ["auto-reply", "bounce", "case", "spam"]
        events = {e.event for e in s.exec(select(AuditEvent).where(AuditEvent.case_id == case.id)).all()}
        assert {"registered", "classified", "routed", "deadline", "sent:acknowledgement"} <= events
        assert s.exec(select(TemplateVersion)).all(), "the template versions used are recorded"
        handler_id = case.handler_id

    mails = smtp_sink.messages()
    to_customer = [m for m in mails if m.rcpt_to == ["hong.gildong@example.com"]]
    assert len(to_customer) == 1, "exactly one acknowledgement to the customer"
    ack = email.message_from_bytes(to_customer[0].raw, policy=default_policy)
    assert decoded_subject(to_customer[0].raw) == f"[접수 2026-000001] {subject}"
    assert ack["Auto-Submitted"] == "auto-replied"
    assert ack["In-Reply-To"] == "<req-1@example.com>"
    assert "<req-1@example.com>" in ack["References"]
    assert ack["Message-ID"].endswith("@intake.sonosa.or.kr>")
    text = text_part(to_customer[0].raw)
    handler = {"han.dohyun": ("한도현", "02-6000-1202", "dohyun.han@example.org"),
               "lee.seoyeon": ("이서연", "02-6000-1201", "seoyeon.lee@example.org")}[handler_id]
    for value in (*handler, "종합지원센터", "2026-000001", "2026년 11월 27일(금) 18:00"):
        assert value in text, f"{value!r} missing from the acknowledgement"
    assert ack.get_body(("html",)) is not None

    task = [m for m in mails if m.rcpt_to == [handler[2]]]
    assert len(task) == 1
    task_msg = email.message_from_bytes(task[0].raw, policy=default_policy)
    attachments = [p.get_filename() for p in task_msg.iter_attachments()]
    assert attachments == ["original.eml"], "the original is attached to the task"
    assert "방북증명서" in text_part(task[0].raw) and "분류 근거" in text_part(task[0].raw)

    # Nothing was sent to the out-of-office, the bounce or the spam senders.
    robots = {"swbyun@seoul-it.co.kr", "mailer-daemon@relay.sonosa.or.kr", "invite@globalsummit-events.org"}
    assert not [m for m in mails if set(r.lower() for r in m.rcpt_to) & robots]
    assert len(mails) == 2

    # Every message is flagged on the server only after its row was committed.
    c = dovecot.client("ssl")
    try:
        c.select_folder("INBOX")
        assert len(c.search(["KEYWORD", "$IntakeDone"])) == 4
    finally:
        c.logout()

    # A second pass is a no-op: no new case, no new mail.
    again = env.run_once(clock=FixedClock(NOW + timedelta(minutes=5)))
    assert again.fetch.fetched == 0 and again.send.sent == 0
    assert len(smtp_sink.messages()) == 2


def test_follow_up_is_attached_not_registered(tmp_path, dovecot, smtp_sink):
    env = make_env(tmp_path, dovecot, smtp_sink, f"sqlite:///{tmp_path / 'intake.db'}")
    env.append(ks_c_request("교육 프로그램 신청 문의", "역량강화 교육 일정을 알려 주십시오.\n"))
    env.run_once(clock=FixedClock(NOW))
    ack = [m for m in smtp_sink.messages() if m.rcpt_to == ["hong.gildong@example.com"]][0]
    ack_id = email.message_from_bytes(ack.raw, policy=default_policy)["Message-ID"]

    env.append(utf8_reply("RE: [접수 2026-000001] 교육 프로그램 신청 문의", "추가로 참가 인원은 3명입니다.",
                          "<req-2@example.com>", in_reply_to=ack_id))
    env.run_once(clock=FixedClock(NOW + timedelta(minutes=10)))
    with env.session() as s:
        assert len(s.exec(select(Case)).all()) == 1
        follow = s.exec(select(InboundMessage).where(InboundMessage.kind == "follow-up")).one()
        case = s.exec(select(Case)).one()
        assert follow.case_id == case.id
    mails = smtp_sink.messages()
    assert len([m for m in mails if m.rcpt_to == ["hong.gildong@example.com"]]) == 1, "no second acknowledgement"
    notices = [m for m in mails if "[추가 2026-000001]" in decoded_subject(m.raw)]
    assert len(notices) == 1 and "참가 인원은 3명" in text_part(notices[0].raw)


def test_uidvalidity_change_resyncs_without_duplicates(tmp_path, dovecot, smtp_sink):
    env = make_env(tmp_path, dovecot, smtp_sink, f"sqlite:///{tmp_path / 'intake.db'}")
    raws = [sample_bytes(n) for n in ("sample-001.eml", "sample-002.eml", "sample-003.eml")]
    for raw in raws:
        env.append(raw)
    env.run_once(clock=FixedClock(NOW))
    dovecot.recreate_mailbox("INBOX")               # the server lost its UID state
    for raw in raws + [sample_bytes("sample-005.eml")]:
        env.append(raw)
    report = env.run_once(clock=FixedClock(NOW + timedelta(minutes=1)))
    assert report.fetch.resynced and report.fetch.duplicates == 3 and report.fetch.registered == 1
    with env.session() as s:
        assert len(s.exec(select(Case)).all()) == 4
    acks = [m for m in smtp_sink.messages() if "[접수 " in decoded_subject(m.raw)]
    assert len(acks) == 4


def test_failing_message_is_kept_retried_and_set_aside(tmp_path, dovecot, smtp_sink):
    # staff.toml without the research department's staff: routing an 'information' request fails.
    env = make_env(tmp_path, dovecot, smtp_sink, f"sqlite:///{tmp_path / 'intake.db'}")
    staff = (env.config.parent / "staff.toml").read_text(encoding="utf-8")
    cut = staff.index('[[department]]\nid = "research"')
    staff = staff[:cut] + staff[cut:].replace('id = "research"', 'id = "research-unused"', 1)
    staff = staff.replace('department = "research"', 'department = "research-unused"')
    staff = staff.replace('id = "research-unused"\nname = "조사연구부"', 'id = "research-unused"\nname = "조사연구부"')
    (env.config.parent / "staff.toml").write_text(staff, encoding="utf-8")

    env.append(sample_bytes("sample-005.eml"))    # information → research: will fail
    env.append(sample_bytes("sample-001.eml"))    # humanitarian → business: fine
    clock = FixedClock(NOW)
    first = env.run_once(clock=clock)
    assert first.process.failed == 1 and first.process.processed == 1
    for i in range(1, 4):                         # retries with backoff (1 s base in the test config)
        clock.now = NOW + timedelta(minutes=i)
        env.run_once(clock=clock)
    with env.session() as s:
        bad = s.exec(select(InboundMessage).where(InboundMessage.stage == "set-aside")).one()
        assert bad.attempts == 3 and "research" in bad.last_error
        assert (tmp_path / "store").exists() and env.app().store.read(bad.raw_path) == sample_bytes("sample-005.eml")
        assert len(s.exec(select(Case)).all()) == 1
    listing = env.run_cli("messages", "list", "--stage", "set-aside")
    assert listing.returncode == 0 and "set-aside" in listing.stdout


def test_smtp_temporary_failure_is_retried_once_delivered(tmp_path, dovecot, smtp_sink):
    env = make_env(tmp_path, dovecot, smtp_sink, f"sqlite:///{tmp_path / 'intake.db'}")
    env.append(sample_bytes("sample-001.eml"))
    smtp_sink.fail_next(2, code=451)
    clock = FixedClock(NOW)
    first = env.run_once(clock=clock)
    assert first.send.deferred == 2 and first.send.sent == 0
    clock.now = NOW + timedelta(seconds=10)
    assert env.run_once(clock=clock).send.sent == 0, "not due before its backoff"
    clock.now = NOW + timedelta(minutes=5)
    assert env.run_once(clock=clock).send.sent == 2
    assert len(smtp_sink.messages()) == 2
    with env.session() as s:
        assert {o.status for o in s.exec(select(Outbox)).all()} == {"sent"}


def test_permanent_smtp_failure_is_recorded(tmp_path, dovecot, smtp_sink):
    env = make_env(tmp_path, dovecot, smtp_sink, f"sqlite:///{tmp_path / 'intake.db'}")
    env.append(sample_bytes("sample-001.eml"))
    smtp_sink.fail_next(1, code=550)
    report = env.run_once(clock=FixedClock(NOW))
    assert report.send.failed == 1 and report.send.sent == 1
    with env.session() as s:
        failed = s.exec(select(Outbox).where(Outbox.status == "failed")).one()
        assert "550" in failed.last_error


def test_header_injection_in_subject_does_not_reach_headers(tmp_path, dovecot, smtp_sink):
    env = make_env(tmp_path, dovecot, smtp_sink, f"sqlite:///{tmp_path / 'intake.db'}")
    env.append(sample_bytes("sample-061.eml"))    # CRLF + Cc inside an RFC 2047 subject
    env.run_once(clock=FixedClock(NOW))
    mails = smtp_sink.messages()
    assert mails
    for m in mails:
        msg = email.message_from_bytes(m.raw, policy=default_policy)
        assert msg["Cc"] is None and msg["Bcc"] is None
        assert "\n" not in decoded_subject(m.raw)
        assert all("collector" not in r for r in m.rcpt_to)


def test_processed_mailbox_moves_after_commit(tmp_path, dovecot, smtp_sink):
    env = make_env(tmp_path, dovecot, smtp_sink, f"sqlite:///{tmp_path / 'intake.db'}",
                   processed_mailbox="처리완료")
    env.append(sample_bytes("sample-001.eml"))
    env.append(sample_bytes("sample-002.eml"))
    env.run_once(clock=FixedClock(NOW))
    c = dovecot.client("ssl")
    try:
        assert c.select_folder("INBOX")[b"EXISTS"] == 0
        assert c.select_folder("처리완료")[b"EXISTS"] == 2
    finally:
        c.logout()
    with env.session() as s:
        assert len(s.exec(select(Case)).all()) == 2


def test_same_sender_same_subject_on_open_case_is_a_follow_up(tmp_path, dovecot, smtp_sink):
    env = make_env(tmp_path, dovecot, smtp_sink, f"sqlite:///{tmp_path / 'intake.db'}")
    env.append(ks_c_request("운행승인서 발급 문의", "자동차 운행승인서 발급 절차를 알려 주십시오.\n"))
    env.run_once(clock=FixedClock(NOW))
    # The customer writes again, no reference, no In-Reply-To, same subject: not a second case.
    env.append(ks_c_request("운행승인서 발급 문의", "차량 번호를 빠뜨려 다시 보냅니다. 12가 3456\n",
                            message_id="<req-again@example.com>"))
    env.run_once(clock=FixedClock(NOW + timedelta(hours=1)))
    # A different subject from the same sender is a new request.
    env.append(ks_c_request("교육 프로그램 일정 문의", "역량강화 교육 일정을 알려 주십시오.\n",
                            message_id="<req-other@example.com>"))
    env.run_once(clock=FixedClock(NOW + timedelta(hours=2)))
    with env.session() as s:
        assert [c.ref for c in s.exec(select(Case).order_by(Case.ref)).all()] == ["2026-000001", "2026-000002"]
        again = s.exec(select(InboundMessage).where(InboundMessage.message_id == "<req-again@example.com>")).one()
        assert again.kind == "follow-up" and "thread.same-sender-subject" in again.decision


def test_template_preview_with_a_real_case(tmp_path, dovecot, smtp_sink):
    env = make_env(tmp_path, dovecot, smtp_sink, f"sqlite:///{tmp_path / 'intake.db'}")
    # Arrived at NOW (the due date shown depends on the arrival, the server's INTERNALDATE)
    env.append(ks_c_request("방북증명서 발급 문의", "방북증명서 발급 절차를 알려 주십시오.\n"), internaldate=NOW)
    env.run_once(clock=FixedClock(NOW))
    shown = env.run_cli("templates", "preview", "acknowledgement", "--case", "2026-000001",
                        "--html", str(tmp_path / "ack.html"))
    assert shown.returncode == 0, shown.stderr
    assert "[접수 2026-000001] 방북증명서 발급 문의" in shown.stdout and "종합지원센터" in shown.stdout
    assert "2026년 11월 27일(금) 18:00" in shown.stdout
    assert "종합지원센터" in (tmp_path / "ack.html").read_text(encoding="utf-8")
    missing = env.run_cli("templates", "preview", "acknowledgement", "--case", "2026-999999")
    assert missing.returncode == 2 and "no such case" in missing.stderr


def _dsn_for(ack_raw: bytes, failed: str) -> bytes:
    """A sendmail-style DSN returning the headers of one of our acknowledgements."""
    head = ack_raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    return ("From: Mail Delivery Subsystem <MAILER-DAEMON@relay.example.net>\r\n"
            "To: consulting@sonosa.or.kr\r\nSubject: Returned mail: see transcript for details\r\n"
            "Message-ID: <dsn-1@relay.example.net>\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
            'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"\r\n\r\n'
            "--b1\r\nContent-Type: text/plain\r\n\r\nThe original message was not delivered.\r\n"
            "--b1\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; relay.example.net\r\n\r\n"
            f"Final-Recipient: rfc822; {failed}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
            "Diagnostic-Code: smtp; 550 5.1.1 User unknown\r\n"
            f"--b1\r\nContent-Type: text/rfc822-headers\r\n\r\n{head}\r\n--b1--\r\n").encode()


def test_bounce_marks_our_mail_undeliverable_and_tasks_the_handler(tmp_path, dovecot, smtp_sink):
    env = make_env(tmp_path, dovecot, smtp_sink, f"sqlite:///{tmp_path / 'intake.db'}")
    env.append(ks_c_request("방북증명서 발급 문의", "방북증명서 발급 절차를 알려 주십시오.\n"))
    env.run_once(clock=FixedClock(NOW))
    ack = [m for m in smtp_sink.messages() if m.rcpt_to == ["hong.gildong@example.com"]][0]
    env.append(_dsn_for(ack.raw, "hong.gildong@example.com"))
    env.run_once(clock=FixedClock(NOW + timedelta(minutes=3)))
    with env.session() as s:
        bounced = s.exec(select(Outbox).where(Outbox.purpose == "acknowledgement")).one()
        assert bounced.status == "undeliverable" and "5.1.1" in bounced.last_error
        dsn = s.exec(select(InboundMessage).where(InboundMessage.kind == "bounce")).one()
        assert dsn.case_id == s.exec(select(Case)).one().id
        assert len(s.exec(select(Case)).all()) == 1
    tasks = [m for m in smtp_sink.messages() if "hong.gildong@example.com" in text_part(m.raw)
             and m.rcpt_to != ["hong.gildong@example.com"] and "반송" in decoded_subject(m.raw)]
    assert len(tasks) == 1, "the handler is asked to reach the customer another way"
    assert not [m for m in smtp_sink.messages() if "mailer-daemon" in m.rcpt_to[0].lower()]


def test_acknowledgements_per_sender_are_capped(tmp_path, dovecot, smtp_sink):
    env = make_env(tmp_path, dovecot, smtp_sink, f"sqlite:///{tmp_path / 'intake.db'}")
    topics = ["방북증명서 발급 문의", "운행승인서 발급 문의", "교육 일정 문의", "세미나 참가 신청", "반출 예비검토 신청"]
    for i, topic in enumerate(topics):
        env.append(ks_c_request(topic, f"{topic}에 관하여 여쭙니다.\n", message_id=f"<burst-{i}@example.com>"))
    env.run_once(clock=FixedClock(NOW))
    with env.session() as s:
        assert len(s.exec(select(Case)).all()) == 5, "every request is still registered"
        skipped = s.exec(select(AuditEvent).where(AuditEvent.event == "acknowledgement-skipped")).all()
        assert len(skipped) == 2 and "loop protection" in skipped[0].detail
    acks = [m for m in smtp_sink.messages() if m.rcpt_to == ["hong.gildong@example.com"]]
    assert len(acks) == 3, "at most 3 acknowledgements per sender per 24 h (config default)"


def test_follow_up_reopens_a_closed_case(tmp_path, dovecot, smtp_sink):
    env = make_env(tmp_path, dovecot, smtp_sink, f"sqlite:///{tmp_path / 'intake.db'}")
    env.append(ks_c_request("교육 프로그램 신청 문의", "역량강화 교육 일정을 알려 주십시오.\n"))
    env.run_once(clock=FixedClock(NOW))
    with env.session() as s:
        case = s.exec(select(Case)).one()
        case.status = "closed"
        s.add(case)
    env.append(utf8_reply("회신: [접수 2026-000001] 추가 문의", "한 가지 더 여쭙니다.", "<req-3@example.com>"))
    env.run_once(clock=FixedClock(NOW + timedelta(days=1)))
    with env.session() as s:
        assert s.exec(select(Case)).one().status == "open"
        assert len(s.exec(select(Case)).all()) == 1


def test_low_confidence_goes_to_the_triage_person_as_general(tmp_path, dovecot, smtp_sink):
    env = make_env(tmp_path, dovecot, smtp_sink, f"sqlite:///{tmp_path / 'intake.db'}")
    env.append(ks_c_request("안녕하세요", "확인 부탁드립니다.\n"))
    env.run_once(clock=FixedClock(NOW))
    with env.session() as s:
        case = s.exec(select(Case)).one()
        assert case.category == "general" and case.handler_id == "park.jiyoung"
        assert '"low_confidence": true' in case.evidence
    assert [m for m in smtp_sink.messages() if m.rcpt_to == ["hong.gildong@example.com"]], "still acknowledged"
