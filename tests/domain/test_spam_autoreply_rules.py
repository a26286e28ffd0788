"""Spam as it arrives today and auto-replies without headers (issue 15 items 2 and 3): tables."""

import pytest

from intake.domain.autoreply_text import quotes_our_ack_only
from intake.domain.kinds import SpamRules, decide_kind
from intake.domain.records import Kind
from tests.domain._mail import make_mail

OWN = frozenset({"consulting@sonosa.or.kr", "intake@sonosa.or.kr"})
RULES = SpamRules.default()
AUTH_FAIL = "mx.sonosa.or.kr; spf=fail smtp.mailfrom=sonosa.or.kr; dkim=none; dmarc=fail header.from=sonosa.or.kr"
AUTH_PASS = "mx.sonosa.or.kr; spf=pass smtp.mailfrom=sonosa.or.kr; dkim=pass; dmarc=pass header.from=sonosa.or.kr"


def kind_of(**kw):
    return decide_kind(make_mail(**kw), own_addresses=OWN, spam_rules=RULES)


@pytest.mark.parametrize("kw,rule", [
    (dict(headers={"X-Spam": "Yes"}), "kind.spam.rspamd"),
    (dict(headers={"X-Rspamd-Action": "add header"}), "kind.spam.rspamd-action"),
    (dict(headers={"X-Rspamd-Action": "rewrite subject"}), "kind.spam.rspamd-action"),
    (dict(headers={"X-Spam-Status": "Yes, score=7.1 required=5.0"}), "kind.spam.header"),
    (dict(from_address="admin@sonosa.or.kr", headers={"Authentication-Results": AUTH_FAIL}),
     "kind.spam.forged-own-domain"),
    (dict(subject="Action required", text="Verify your mailbox within 24 hours or it will be suspended: http://x.example",
          from_address="it@example.com"), "kind.spam.family:account-reverification"),
    (dict(subject="[CJ대한통운] 배송 보류 안내", text="택배가 주소 불일치로 배송 보류 중입니다. 재배송: http://x.example",
          from_address="t@example.com"), "kind.spam.family:parcel-on-hold"),
    (dict(subject="Overdue invoice INV-1", text="Invoice is overdue, settle the balance: http://x.example",
          from_address="ar@example.com"), "kind.spam.family:overdue-invoice"),
    (dict(subject="네이버 상위노출", text="홈페이지 상위노출 보장, 효과 없으면 환불", from_address="m@example.com"),
     "kind.spam.family:search-ranking"),
    (dict(subject="급등", text="내일 상한가 종목 무료 공개, 수익 보장", from_address="v@example.com"),
     "kind.spam.family:stock-tips"),
    (dict(subject="Request for Quotation", text="Please quote your best price, RFQ at http://x.example",
          from_address="buyer@gmail.com"), "kind.spam.family:fake-quotation"),
])
def test_spam_rules(kw, rule):
    d = kind_of(**kw)
    assert d.kind is Kind.SPAM
    assert rule in [e.rule for e in d.evidence]


@pytest.mark.parametrize("kw", [
    dict(headers={"X-Spam-Status": "No, score=0.8 required=5.0", "X-Spam": "No"}, subject="교육 신청",
         text="교육 과정에 신청합니다."),
    dict(headers={"X-Rspamd-Action": "no action"}, subject="교육 신청", text="교육 과정에 신청합니다."),
    dict(from_address="staff@sonosa.or.kr", headers={"Authentication-Results": AUTH_PASS}, subject="고객 메일 전달",
         text="고객 문의를 전달합니다."),
    # one term of a family is not enough
    dict(subject="비밀번호 문의", text="정보제공플랫폼 비밀번호를 잊었습니다. 어떻게 해야 하나요?"),
    dict(subject="교역 상담", text="거래 대금 결제 방식과 송금 절차를 상담받고 싶습니다."),
    dict(subject="반출 물품 배송", text="반출 물품을 배송하기 전에 주소를 확인하고 싶습니다. 가능한지 알려 주십시오."),
])
def test_not_spam(kw):
    assert kind_of(**kw).kind is not Kind.SPAM


def test_lookalike_domain_adds_weight():
    d = kind_of(from_address="it@sonosa-mail-support.com", subject="Mailbox quota",
                text="Your mailbox is over quota. Verify now: http://x.example")
    assert d.kind is Kind.SPAM
    assert "kind.spam.lookalike-domain" in [e.rule for e in d.evidence]


ACK = ("고객님, 안녕하십니까.\n\n보내 주신 민원이 정상적으로 접수되었습니다.\n\n  접수번호  : 2026-001204\n\n"
       "이 메일에 회신하실 때에는 제목의 [접수 2026-001204] 표시를 지우지 말아 주십시오.\n")
ACK_SUBJECT = "Re: [접수 2026-001204] 남북교류협력지원협회 문의 접수 안내"


@pytest.mark.parametrize("subject,text", [
    ("부재 알림", "12월 8일까지 해외 출장 중이라 메일 확인이 어렵습니다.\n급한 용무는 02-2233-4410으로 연락 주시기 바랍니다."),
    (ACK_SUBJECT, "현재 휴가 중입니다. 12월 3일에 복귀하여 확인하겠습니다."),
    (ACK_SUBJECT, "Hello,\n\nI am currently travelling and will reply after 10 December.\n\nBest,\nAlice"),
    (ACK_SUBJECT, "귀하의 메일이 정상적으로 접수되었습니다.\n※ 본 메일은 발신 전용으로 회신되지 않습니다."),
    ("[Ticket #48211] " + ACK_SUBJECT, "This is an automated response confirming that we have received your message."),
    ("Away until Monday", "I'm away from my desk until Monday and will respond to your message when I return."),
    ("육아휴직 안내", "권세희는 육아휴직 중입니다(2027년 3월 복귀 예정)."),
    (ACK_SUBJECT, "\n\n-----Original Message-----\n" + ACK),
    (ACK_SUBJECT, "\n" + "\n".join("> " + line for line in ACK.splitlines())),
])
def test_header_less_auto_replies(subject, text):
    d = kind_of(subject=subject, text=text)
    assert d.kind is Kind.AUTO_REPLY
    assert d.evidence


@pytest.mark.parametrize("subject,text,kind", [
    (ACK_SUBJECT, "처리 기한 전에 받을 수 있을까요? 출국이 12월 9일입니다.\n\n" + "\n".join("> " + x for x in ACK.splitlines()),
     Kind.FOLLOW_UP),
    (ACK_SUBJECT, "신청서에 빠뜨린 차량등록증 사본을 추가로 보내드립니다.\n\n-----Original Message-----\n" + ACK,
     Kind.FOLLOW_UP),
    ("휴가 중 방북 신청 문의", "휴가 중에 방북증명서를 받을 수 있는지 궁금합니다. 가능한지 알려 주십시오.", Kind.CASE),
    ("교육 일정", "출장 중인 직원도 교육에 참가할 수 있을까요?", Kind.CASE),
])
def test_people_are_not_auto_replies(subject, text, kind):
    assert kind_of(subject=subject, text=text).kind is kind


def test_quotes_our_ack_only():
    assert quotes_our_ack_only("\n-----Original Message-----\n" + ACK)
    assert not quotes_our_ack_only("감사합니다.\n-----Original Message-----\n" + ACK)
    assert not quotes_our_ack_only("아무 인용 없는 본문")


@pytest.mark.parametrize("families,key", [
    ([{"id": "x", "terms": ["a", "b"], "need": 1}], "families[0].need"),
    ([{"id": "x", "terms": []}], "families[0].terms"),
    ([{"terms": ["a", "b"]}], "families[0].id"),
    ([{"id": "x", "terms": ["a", "b"], "colour": 1}], "families[0].colour"),
    ("nope", "families"),
])
def test_bad_family_config_names_the_key(families, key):
    from intake.domain.kinds import load_spam_rules
    from intake.errors import ConfigError

    with pytest.raises(ConfigError) as exc:
        load_spam_rules({"families": families}, "spam.toml")
    assert exc.value.key == key and exc.value.file == "spam.toml"
