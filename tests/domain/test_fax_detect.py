"""Faxes from gateways not in channels.toml, and the caller-number parser (issue 15 item 1)."""

import tomllib
from pathlib import Path

import pytest

from intake.domain.channel import caller_id_status, decide_channel, load_channel_rules
from intake.domain.fax_detect import config_line, detect_fax_gateway, normalise_caller, parse_caller_number
from intake.domain.records import Channel
from tests.domain._mail import att, make_mail

CONFIG = Path(__file__).resolve().parents[2] / "config" / "channels.toml"
RULES = load_channel_rules(tomllib.loads(CONFIG.read_text(encoding="utf-8")))
TIF = (att("FAX20261102091200.tif", "image/tiff"),)
PDF = (att("fax_20261102_091200.pdf", "application/pdf"),)


@pytest.mark.parametrize("raw,expected", [
    ("02-588-1204", "02-588-1204"),
    ("0231427780", "02-3142-7780"),
    ("031 752 9031", "031-752-9031"),
    ("(032) 427-1186", "032-427-1186"),
    ("+82-51-808-3321", "051-808-3321"),
    ("+82 70 4012 7733", "070-4012-7733"),
    ("+82 (0)2 3471 2291", "02-3471-2291"),
    ("064.752.3318", "064-752-3318"),
    ("0505-301-7788", "0505-301-7788"),
    ("0507 1322 9040", "0507-1322-9040"),
    ("1588-3355", "1588-3355"),
    ("16442270", "1644-2270"),
    ("12345", None),
    ("099-123-4567", None),
])
def test_normalise_caller(raw, expected):
    assert normalise_caller(raw) == expected


@pytest.mark.parametrize("text,number,no_caller", [
    ("발신번호 : 02-588-1204\n수신일시 : 2026-11-02 09:12", "02-588-1204", False),
    ("보낸 팩스번호: 0312547719", "031-254-7719", False),
    ("발신 번호 | 1588-3355", "1588-3355", False),
    ("- 발신자번호 : (042) 861-2205", "042-861-2205", False),
    ("[팩스수신] 070 4012 7733 에서 2장의 팩스가 왔습니다", "070-4012-7733", False),
    ('eFax message from "0505-301-7788" - 1 page(s), Caller-ID: 0505-301-7788', "0505-301-7788", False),
    ("New Fax Message from +82 31 752 9031 on 11/02/2026 at 09:12 AM", "031-752-9031", False),
    ("Sender fax number: 02 3142 7780", "02-3142-7780", False),
    ("ANI: 1644-2270\nPages: 3", "1644-2270", False),
    ("발신번호 : 발신번호 없음", None, True),
    ("보낸 팩스번호: 알 수 없음", None, True),
    ('eFax message from "Unknown" - 2 page(s), Caller-ID: Unknown', None, True),
    ("Fax received from No Caller ID", None, True),
    ("New Fax Message from Anonymous on 11/02/2026", None, True),
    ("수신 매수: 2\n감사합니다", None, False),
    # a date or a page count is not a caller number
    ("수신일시 : 2026-11-02 09:12\n매수: 1", None, False),
])
def test_parse_caller_number(text, number, no_caller):
    found = parse_caller_number(text)
    assert found.number == number
    assert found.no_caller_id is no_caller


GATEWAYS = [
    # sender, subject, body, headers, attachments, number
    ("noreply@mobilefax.co.kr", "[모바일팩스] 팩스가 도착했습니다 (발신: 02-588-1204)",
     "모바일팩스로 팩스가 수신되었습니다.\n발신번호 : 02-588-1204\n수신 페이지 : 1장", {}, TIF, "02-588-1204"),
    ("fax@enfax.co.kr", "엔팩스 팩스 수신 안내", "새 팩스가 도착했습니다.\n보낸 팩스번호: 070-8830-1102\n매수: 1",
     {}, PDF, "070-8830-1102"),
    ("no-reply@bizfax.kt-fax.co.kr", "[KT팩스] 수신 팩스 도착 안내 (11/02 09:12)", "발신 번호 | 1588-3355\n페이지 수 | 2",
     {"X-Fax-CSID": "15883355"}, TIF, "1588-3355"),
    ("message@inbound.efax.com", 'eFax message from "0212345678" - 1 page(s), Caller-ID: 0212345678',
     "You have received a 1 page fax at 2026-11-02.", {}, PDF, "02-1234-5678"),
    ("vfax@nextiva.com", "vFAX: New fax from unknown caller (2 pages)", "A new fax has arrived.\nANI: unavailable\nPages: 2",
     {"X-Fax-Caller-ID": "unknown"}, PDF, None),
    ("noreply@hellofax.com", "You've received a fax", "You've received a 1-page fax.\nSender fax number: 0505-301-7788",
     {}, PDF, "0505-301-7788"),
]


@pytest.mark.parametrize("sender,subject,body,headers,attachments,number", GATEWAYS)
def test_unconfigured_gateway_is_fax(sender, subject, body, headers, attachments, number):
    mail = make_mail(from_address=sender, subject=subject, text=body, headers=headers, attachments=attachments)
    d = decide_channel(mail, RULES)
    assert d.channel is Channel.FAX
    assert d.fax_number == number
    rules = [e.rule for e in d.evidence]
    assert "channel.fax-any.unconfigured" in rules
    assert "channel.fax-any.pages" in rules
    if number is None:
        assert "channel.fax-number.none" in rules


@pytest.mark.parametrize("sender,subject,body,attachments", [
    # a customer sending a fax-related PDF by e-mail is e-mail
    ("customer@naver.com", "팩스로 보낸 신청서 사본입니다",
     "안녕하십니까. 어제 팩스로 보낸 방북증명서 신청서를 다시 첨부합니다. " * 30, PDF),
    ("customer@naver.com", "팩스 번호 문의", "협회 팩스 번호를 알려 주십시오.", ()),
    ("customer@naver.com", "신청서 첨부", "신청서를 첨부합니다.", PDF),
    # fax wording but no pages
    ("noreply@mobilefax.co.kr", "[모바일팩스] 팩스가 도착했습니다", "발신번호 : 02-588-1204", ()),
])
def test_not_a_fax(sender, subject, body, attachments):
    mail = make_mail(from_address=sender, subject=subject, text=body, attachments=attachments)
    assert detect_fax_gateway(mail) is None
    assert decide_channel(mail, RULES).channel is Channel.EMAIL


def test_configured_gateway_keeps_priority():
    mail = make_mail(from_address="fax-noreply@cloudfax-relay.kr", subject="팩스 수신 알림 - 02-992-4418",
                     text="팩스 수신 안내\n보낸 번호: 02-992-4418", attachments=TIF)
    d = decide_channel(mail, RULES)
    assert d.channel is Channel.FAX and d.fax_number == "02-992-4418"
    assert [e.rule for e in d.evidence][0] == "channel.cloudfax-relay.sender"
    assert not any(e.rule.startswith("channel.fax-any") for e in d.evidence)


def test_page_header_line_gives_the_number_when_the_gateway_does_not():
    mail = make_mail(from_address="noreply@hellofax.com", subject="You've received a fax",
                     text="You've received a 1-page fax.\nThe fax is attached.", attachments=PDF)
    d = decide_channel(mail, RULES, page_text="2026/11/02 09:12  FROM: 1588 3355  ACME  P.001/001\n본문")
    assert d.fax_number == "1588-3355"
    assert "channel.fax-number.page-header" in [e.rule for e in d.evidence]


def test_config_line_is_valid_channels_toml():
    line = config_line("noreply@mobilefax.co.kr")
    rules = load_channel_rules(tomllib.loads(line))
    mail = make_mail(from_address="noreply@mobilefax.co.kr", subject="x", attachments=TIF)
    assert decide_channel(mail, rules).channel is Channel.FAX


@pytest.mark.parametrize("sender,subject,body,headers,attachments,status,rule", [
    # the gateway says the caller withheld the number
    ("vfax@nextiva.com", "vFAX: New fax from unknown caller (2 pages)", "A new fax has arrived.\nANI: unavailable",
     {"X-Fax-Caller-ID": "unknown"}, PDF, "withheld", "channel.fax-number.none"),
    ("noreply@mobilefax.co.kr", "[모바일팩스] 팩스가 도착했습니다", "팩스가 수신되었습니다.\n발신번호 : 발신번호 없음",
     {}, TIF, "withheld", "channel.fax-number.none"),
    # a configured gateway (cloudfax-relay) whose notice names no number at all
    ("fax-noreply@cloudfax-relay.kr", "팩스 수신 알림", "팩스 수신 안내\n수신 페이지: 1", {},
     (att("scan.tif", "image/tiff"),), "not-found", "channel.fax-number.not-found"),
    ("noreply@hellofax.com", "You've received a fax", "You've received a 1-page fax.", {},
     (att("document.pdf", "application/pdf"),), "not-found", "channel.fax-number.not-found"),
    # the number is known: nothing to say
    ("noreply@mobilefax.co.kr", "[모바일팩스] 팩스가 도착했습니다", "발신번호 : 02-588-1204", {}, TIF, "",
     "channel.fax-number.gateway"),
    # not a fax
    ("customer@naver.com", "신청서 첨부", "신청서를 첨부합니다.", {}, PDF, "", "channel.email"),
])
def test_caller_id_status_for_the_task_mail(sender, subject, body, headers, attachments, status, rule):
    mail = make_mail(from_address=sender, subject=subject, text=body, headers=headers, attachments=attachments)
    d = decide_channel(mail, RULES)
    assert caller_id_status(d) == status
    assert rule in [e.rule for e in d.evidence]
    if status:
        assert d.channel is Channel.FAX and d.fax_number is None
