"""Staff replies: tokens, own text, and the command grammar (pure tables)."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from intake.domain.records import ParsedMail
from intake.domain.staff_commands import (
    Command, parse_command, parse_staff_reply, reply_address, staff_footer, tokens_in,
)

TOKEN = "0123456789abcdef.a1b2c3"


def mail(text: str = "", to=("consulting@sonosa.or.kr",), cc=(), headers=()) -> ParsedMail:
    return ParsedMail(message_id="<r@x>", in_reply_to=None, references=(), from_address="a@example.org",
                      from_name="", reply_to=None, to=tuple(to), cc=tuple(cc), subject="Re: x", text=text,
                      html=None, date=None, received_at=datetime(2026, 11, 25, tzinfo=timezone.utc),
                      content_type="text/plain", headers=tuple(headers))


@pytest.mark.parametrize("m, expected", [
    (mail(to=(f"consulting+{TOKEN}@sonosa.or.kr",)), (TOKEN,)),
    (mail(to=(f"Consulting+{TOKEN.upper()}@SONOSA.OR.KR",)), (TOKEN,)),
    (mail(text=f"네\n\n> 원문\n> intake-token:{TOKEN}\n"), (TOKEN,)),
    (mail(headers=(("delivered-to", f"consulting+{TOKEN}@sonosa.or.kr"),)), (TOKEN,)),
    (mail(text="intake-token:notatoken"), ()),
    (mail(to=("consulting+other@sonosa.or.kr",)), ()),
    (mail(to=(f"consulting+{TOKEN}@sonosa.or.kr",), text=f"intake-token:{TOKEN}"), (TOKEN,)),   # once
])
def test_tokens_in(m, expected):
    assert tokens_in(m) == expected


def test_reply_address_and_footer_carry_the_token():
    assert reply_address("consulting@sonosa.or.kr", TOKEN) == f"consulting+{TOKEN}@sonosa.or.kr"
    footer = staff_footer(TOKEN)
    assert footer.endswith(f"intake-token:{TOKEN}") and "#extend" in footer
    assert tokens_in(mail(text="> " + footer.replace("\n", "\n> "))) == (TOKEN,)


@pytest.mark.parametrize("line, expected", [
    ("hold 보완 서류 요청", Command("hold", "보완 서류 요청")),
    ("resume", Command("resume")),
    ("extend 2026-12-04 관계기관 협의", Command("extend", "관계기관 협의", date=date(2026, 12, 4))),
    ("reassign han.dohyun 업무 조정", Command("reassign", "업무 조정", target="han.dohyun")),
    ("reassign research", Command("reassign", "", target="research")),
    ("close 답변 완료", Command("close", "답변 완료")),
    ("close", Command("close", "")),
    ("called 서면 회신 원하심", Command("called", "회신 원하심", written=True)),
    ("called written", Command("called", "", written=True)),
    ("called 통화 완료", Command("called", "통화 완료")),
    ("approved", Command("approved")),
    ("error 접수번호 중복 발급", Command("error", "접수번호 중복 발급")),
    ("note 내부 메모", Command("note", "내부 메모")),
    ("HOLD 사유", Command("hold", "사유")),
    ("decision 채택 다음 달부터 반영합니다", Command("decision", "다음 달부터 반영합니다", outcome="채택")),
    ("decision 불채택 예산이 없습니다", Command("decision", "예산이 없습니다", outcome="불채택")),
    ("decision Rejected out of scope", Command("decision", "out of scope", outcome="불채택")),
    ("spam", Command("spam", "")),
    ("spam 택배 보관 안내를 사칭한 피싱", Command("spam", "택배 보관 안내를 사칭한 피싱")),
    ("스팸", Command("spam", "")),
    ("스팸 광고 메일입니다", Command("spam", "광고 메일입니다")),
    ("SPAM", Command("spam", "")),
])
def test_parse_command(line, expected):
    name, _, rest = line.partition(" ")
    assert parse_command(name, rest) == expected


@pytest.mark.parametrize("line, message", [
    ("hold", "needs a reason"),
    ("extend 2026-13-01 사유", "is not a date"),
    ("extend 2026-12-04", "needs a date and a reason"),
    ("resume now", "takes no argument"),
    ("approved yes", "takes no argument"),
    ("reassign", "needs a staff id"),
    ("error", "needs a description"),
    ("note", "needs a text"),
    ("frobnicate x", "unknown command #frobnicate"),
    ("decision 채택", "needs 채택 or 불채택 and a reason"),
    ("decision 보류 나중에", "needs 채택 or 불채택 and a reason"),
])
def test_malformed_commands_are_refused(line, message):
    name, _, rest = line.partition(" ")
    with pytest.raises(ValueError, match=message):
        parse_command(name, rest)


def test_plain_reply_is_an_answer_without_quotes_or_token():
    text = (f"안녕하십니까. 발급 절차는 다음과 같습니다.\n1. 신청서 제출\n\n"
            f"-----Original Message-----\nFrom: consulting@sonosa.or.kr\n#hold 인용된 명령\nintake-token:{TOKEN}\n")
    reply = parse_staff_reply(text)
    assert not reply.is_command_mail
    assert reply.answer == "안녕하십니까. 발급 절차는 다음과 같습니다.\n1. 신청서 제출"


def test_command_mail_keeps_commands_and_collects_errors():
    reply = parse_staff_reply("#hold 보완 요청\n#bogus\n설명 문장\n> #close 인용\n")
    assert reply.commands == (Command("hold", "보완 요청"),)
    assert reply.errors and "unknown command #bogus" in reply.errors[0]
    assert reply.is_command_mail


def test_hash_inside_text_is_not_a_command():
    reply = parse_staff_reply("문의하신 #3 항목은 처리되었습니다.\n# 제목처럼 쓴 줄\n")
    assert not reply.is_command_mail


@pytest.mark.parametrize("text, commands", [
    ("#스팸 광고\n", (Command("spam", "광고"),)),
    ("#spam\n", (Command("spam", ""),)),
    ("  #스팸\n", (Command("spam", ""),)),
    ("#스팸메일이 아닙니다\n", ()),        # a Korean word that only begins with 스팸 is text, not a command
    ("#공지 드립니다\n", ()),              # other Korean words after # are text
])
def test_spam_command_in_a_reply(text, commands):
    reply = parse_staff_reply(text)
    assert reply.commands == commands and not reply.errors
