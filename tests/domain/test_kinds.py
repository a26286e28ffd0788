import pytest

from intake.domain.kinds import SpamRules, decide_kind, load_spam_rules, parse_delivery_status
from intake.domain.records import Kind
from intake.errors import ConfigError
from tests.domain._mail import att, make_mail

OWN = frozenset({"consulting@sonosa.or.kr", "noreply@sonosa.or.kr"})
RULES = SpamRules.default()
KNOWN = {"<ack1@intake.sonosa.or.kr>": "2026-000812"}

DSN = (
    b"Reporting-MTA: dns; relay.example\n\n"
    b"Final-Recipient: rfc822; gone@customer.co.kr\n"
    b"Original-Recipient: rfc822;gone@customer.co.kr\n"
    b"Action: failed\nStatus: 5.1.1\nDiagnostic-Code: smtp; 550 5.1.1 User unknown\n"
)
RETURNED = (
    "From: consulting@sonosa.or.kr\nTo: gone@customer.co.kr\n"
    "Subject: =?UTF-8?B?W+ygkeyImCAyMDI2LTAwMDgxOV0g7JWI64K0?=\n"
    "Message-ID: <ack1@intake.sonosa.or.kr>\n\nbody\n"
).encode()
RETURNED_NO_ID = "From: consulting@sonosa.or.kr\nSubject: [접수 2026-000819] 안내\n\n".encode()


def kind(**kw):
    return decide_kind(make_mail(**kw), own_addresses=OWN, spam_rules=RULES, known_message_ids=KNOWN.get)


# --- bounces -------------------------------------------------------------------------

def test_dsn_bounce_with_returned_message_id():
    d = kind(
        from_address="MAILER-DAEMON@relay.example", subject="Returned mail: see transcript for details",
        content_type="multipart/report",
        headers={"Content-Type": "multipart/report; report-type=delivery-status; boundary=x", "Return-Path": "<>"},
        attachments=(att("delivery-status.txt", "message/delivery-status", DSN), att("m.eml", "message/rfc822", RETURNED)),
        text="The following addresses had permanent fatal errors",
    )
    assert d.kind is Kind.BOUNCE
    assert d.failed_recipient == "gone@customer.co.kr"
    assert d.bounce_status == "5.1.1"
    assert d.case_ref == "2026-000812"
    assert any(e.rule == "kind.bounce.dsn" for e in d.evidence)


def test_dsn_bounce_ref_from_returned_subject_rfc822_headers():
    d = kind(
        from_address="postmaster@example.com", subject="Undeliverable: 안내",
        content_type="multipart/report",
        headers={"Content-Type": "multipart/report; report-type=delivery-status"},
        attachments=(att("d.txt", "message/delivery-status", DSN), att("h.txt", "text/rfc822-headers", RETURNED_NO_ID)),
    )
    assert (d.kind, d.case_ref) == (Kind.BOUNCE, "2026-000819")


@pytest.mark.parametrize("sender,subject,text,headers,recipient", [
    ("MAILER-DAEMON@mx.example", "failure notice",
     "Hi. This is the qmail-send program at mx.example.\nI'm afraid I wasn't able to deliver your message to the "
     "following addresses.\nThis is a permanent error; I've given up. Sorry it didn't work out.\n\n"
     "<nobody@customer.example>:\n550 5.1.1 user unknown\n", {"Return-Path": "<>"}, "nobody@customer.example"),
    ("Mail Delivery System <mailer-daemon@mx.example>".split("<")[1].rstrip(">"), "Mail delivery failed: returning message to sender",
     "This message was created automatically by mail delivery software.\n\nA message that you sent could not be "
     "delivered to one or more of its recipients. This is a permanent error. The following address(es) failed:\n\n"
     "  lost@customer.example\n    SMTP error from remote mail server after RCPT TO:<lost@customer.example>:\n"
     "    550 5.1.1 No such user\n", {"X-Failed-Recipients": "lost@customer.example"}, "lost@customer.example"),
    ("postmaster@naver.com", "[발송실패 안내] 메일이 반송되었습니다",
     "받는 사람 없음@naver.com 에게 메일이 배달되지 않았습니다. 수신자를 찾을 수 없습니다. 550 5.1.1",
     {}, None),
])
def test_text_only_bounces(sender, subject, text, headers, recipient):
    d = kind(from_address=sender, subject=subject, text=text, headers=headers)
    assert d.kind is Kind.BOUNCE
    if recipient:
        assert d.failed_recipient == recipient


def test_successful_dsn_is_not_a_bounce():
    ok = DSN.replace(b"Action: failed", b"Action: delivered").replace(b"5.1.1", b"2.0.0")
    d = kind(from_address="mailer-daemon@x", subject="Delivery Status Notification (Success)",
             content_type="multipart/report", headers={"Content-Type": "multipart/report; report-type=delivery-status"},
             attachments=(att("d", "message/delivery-status", ok),))
    assert d.kind is Kind.AUTO_REPLY


def test_customer_mentioning_returned_mail_is_a_case():
    d = kind(subject="보내주신 서류 관련 문의", text="지난번 메일이 반송되었다고 들었습니다. 다시 보내 주실 수 있을까요?")
    assert d.kind is Kind.CASE


def test_parse_delivery_status_folded():
    dsn = parse_delivery_status("Final-Recipient: rfc822;\n  a@b.example\nAction: failed\nStatus: 5.2.2 (mailbox full)\n")
    assert dsn.recipients == ["a@b.example"] and dsn.statuses == ["5.2.2"] and dsn.actions == ["failed"]


# --- auto-replies ----------------------------------------------------------------------

@pytest.mark.parametrize("headers", [
    {"Auto-Submitted": "auto-replied"},
    {"Auto-Submitted": "auto-generated"},
    {"X-Autoreply": "yes"},
    {"X-Autorespond": "yes"},
    {"Precedence": "auto_reply"},
    {"Content-Type": "multipart/report; report-type=disposition-notification"},
])
def test_auto_reply_headers(headers):
    ct = "multipart/report" if "Content-Type" in headers else "text/plain"
    d = kind(subject="회신: [접수 2026-000838] 안내", text="교육 참석으로 확인이 어렵습니다.", headers=headers,
             content_type=ct, in_reply_to="<ack1@intake.sonosa.or.kr>")
    assert d.kind is Kind.AUTO_REPLY
    assert d.case_ref == "2026-000812"


def test_auto_submitted_no_is_not_auto():
    d = kind(subject="문의", text="방북증명서 발급 절차 문의드립니다.", headers={"Auto-Submitted": "no"})
    assert d.kind is Kind.CASE


@pytest.mark.parametrize("subject,text,expected", [
    ("휴가 중 자동 응답입니다", "4월 3일까지 휴가입니다. 복귀 후 답장 드릴게요.", Kind.AUTO_REPLY),
    ("[부재] 3월 첫째 주 휴가입니다", "3월 6일까지 휴가라 메일 답장이 늦습니다. 9일부터 확인하겠습니다.", Kind.AUTO_REPLY),
    ("Out of Office", "I am out of the office until 12 May with limited access to email. I will be back on 13 May.", Kind.AUTO_REPLY),
    ("Automatic reply: inquiry", "I am currently away and will return on Monday.", Kind.AUTO_REPLY),
    ("자동 회신: 문의", "출장 중입니다. 3월 20일에 복귀합니다.", Kind.AUTO_REPLY),
    # customers writing about their holidays are not out-of-office replies
    ("휴가 중 문의", "휴가 중이라 메일로 문의드립니다. 방북증명서 발급에 필요한 서류가 무엇인지 알려 주시기 바랍니다.", Kind.CASE),
    ("휴가 기간 교육 일정 문의", "8월 휴가 기간에도 교육이 진행되나요? 복귀 후 참석하고 싶습니다.", Kind.CASE),
    ("출장 관련 운행승인서 문의", "다음 주 출장 중에 차량 운행승인서를 받을 수 있는지 궁금합니다.", Kind.CASE),
])
def test_auto_reply_text(subject, text, expected):
    assert kind(subject=subject, text=text).kind is expected


# --- spam ----------------------------------------------------------------------------

@pytest.mark.parametrize("kw", [
    dict(subject="문의", text="hello", headers={"X-Spam-Flag": "YES"}),
    dict(subject="문의", text="hello", headers={"X-Spam-Status": "Yes, score=9.1"}),
    dict(subject="(광고) 웹접근성 인증 특가", text="수신거부: 080-555-0177"),
    dict(subject="[광고] 신제품 안내", text="안녕하세요"),
    dict(subject="[전자세금계산서] 미확인 세금계산서가 있습니다", text="확인하기", from_address="etax@naver.com"),
    dict(subject="Invitation to speak at the World Summit", from_address="invite@summit.example",
         text="We are pleased to invite you as a speaker. A registration fee of USD 1,450 applies."),
])
def test_spam(kw):
    assert kind(**kw).kind is Kind.SPAM


@pytest.mark.parametrize("kw", [
    dict(subject="세금계산서 발행 문의", text="교육비 세금계산서를 발행해 주실 수 있나요?", from_address="acct@company.co.kr"),
    dict(subject="포럼 광고 게재 문의", text="협회 포럼 자료집에 광고를 실을 수 있는지 문의드립니다."),
    dict(subject="Forum registration", text="Is there a registration fee for the April forum?"),
])
def test_not_spam(kw):
    assert kind(**kw).kind is Kind.CASE


def test_spam_rules_config_errors():
    with pytest.raises(ConfigError) as e:
        load_spam_rules({"regexes": [["(unclosed", 1.0]]})
    assert e.value.key == "regexes[0]"
    with pytest.raises(ConfigError) as e:
        load_spam_rules({"threshold": "high"})
    assert e.value.key == "threshold"
    with pytest.raises(ConfigError) as e:
        load_spam_rules({"keyword": []})
    assert e.value.key == "keyword"


def test_custom_spam_rule():
    rules = load_spam_rules({"senders": [[r"@spammy\.example$", 5.0]]})
    d = decide_kind(make_mail(from_address="a@spammy.example", subject="hi", text="hi"),
                    own_addresses=OWN, spam_rules=rules)
    assert d.kind is Kind.SPAM


# --- follow-ups and loops -----------------------------------------------------------

@pytest.mark.parametrize("kw,ref", [
    (dict(subject="[접수 2026-000817] 교육 신청 취소", text="취소하려고 합니다."), "2026-000817"),
    (dict(subject="Re: 세미나 참가자 추가", in_reply_to="<ack1@intake.sonosa.or.kr>", text="추가 신청합니다."), "2026-000812"),
    (dict(subject="상담 일정 관련", text="접수번호 2026-000829로 상담 신청했던 사람입니다."), "2026-000829"),
])
def test_follow_up(kw, ref):
    d = kind(**kw)
    assert (d.kind, d.case_ref) == (Kind.FOLLOW_UP, ref)


def test_own_address_loop_is_never_a_case():
    d = kind(from_address="consulting@sonosa.or.kr", subject="[접수 2026-000812] 문의 접수 안내", text="접수하였습니다")
    assert d.kind is not Kind.CASE and d.kind is not Kind.FOLLOW_UP
    assert d.evidence[0].rule == "kind.loop.own-address"
    assert d.case_ref == "2026-000812"


def test_web_form_relay_from_own_noreply_is_a_case():
    d = kind(from_address="noreply@sonosa.or.kr", reply_to="customer@example.org",
             subject="[온라인상담] 교육 과정 문의", text="문의유형 교육")
    assert d.kind is Kind.CASE


def test_every_decision_has_evidence():
    for kw in [dict(subject="문의", text="방북증명서 문의"), dict(subject="(광고) x"), dict(subject="[접수 2026-000001]")]:
        assert kind(**kw).evidence
