import pytest

from intake.domain.threading_ import extract_refs, find_case_ref, strip_reply_prefixes, subject_matches
from tests.domain._mail import make_mail


@pytest.mark.parametrize("subject,expected", [
    ("Re: [접수 2026-000123] 안내", "[접수 2026-000123] 안내"),
    ("RE: RE: 회신: 문의", "문의"),
    ("답장: Fwd: FW: 전달: 자료", "자료"),
    ("회신 : [접수 2026-000123] 안내", "[접수 2026-000123] 안내"),
    ("Re[2]: 세미나", "세미나"),
    ("자동 회신: [접수 2026-000808] 안내", "[접수 2026-000808] 안내"),
    ("Reply about training", "Reply about training"),
    ("", ""),
])
def test_strip_reply_prefixes(subject, expected):
    assert strip_reply_prefixes(subject) == expected


@pytest.mark.parametrize("subject,refs", [
    ("[접수 2026-000123] 안내", ["2026-000123"]),
    ("회신: [ 접수  2026 - 000812 ] 안내", ["2026-000812"]),
    ("(접수번호: 2026-000001)", ["2026-000001"]),
    ("【접수 2026-000777】", ["2026-000777"]),
    ("[2026-000555] 보완 서류", ["2026-000555"]),
    ("접수2026-000123", ["2026-000123"]),
    ("견적 2026-000123", []),            # not labelled, not bracketed
    ("[접수 2026-00012] 짧음", []),       # six digits required
    ("[접수 2026-0001234]", []),          # seven digits: not a ref
])
def test_extract_refs_subject(subject, refs):
    assert extract_refs(subject) == refs


@pytest.mark.parametrize("text,refs", [
    ("안녕하세요. 접수번호 2026-000829로 상담 신청했던", ["2026-000829"]),
    ("접수 번호: 2026-000100 건 관련", ["2026-000100"]),
    ("My case no. 2026-000321 please", ["2026-000321"]),
    ("전화 02-2026-0001", []),
    ("2026-000829", []),                   # body needs a label
])
def test_extract_refs_body(text, refs):
    assert extract_refs(text, body=True) == refs


@pytest.mark.parametrize("a,b,same", [
    ("세미나 참가 신청", "Re: 세미나 참가 신청", True),
    ("RE: [접수 2026-000123] 세미나 참가 신청", "세미나 참가신청", True),
    ("세미나 참가 신청", "운행승인서 발급", False),
    ("", "", False),
    ("문의", "Re: 문의!", True),
])
def test_subject_matches(a, b, same):
    assert subject_matches(a, b) is same


KNOWN = {"<ack1@intake.sonosa.or.kr>": "2026-000812", "<ack2@intake.sonosa.or.kr>": "2026-000900"}


@pytest.mark.parametrize("kw,ref,rule", [
    (dict(in_reply_to="<ack1@intake.sonosa.or.kr>", subject="Re: 세미나"), "2026-000812", "thread.in-reply-to"),
    (dict(references=("<x@y>", "<ack2@intake.sonosa.or.kr>"), subject="세미나"), "2026-000900", "thread.references"),
    (dict(subject="회신: [접수 2026-000111] 안내"), "2026-000111", "thread.subject-ref"),
    (dict(subject="상담 일정", text="접수번호 2026-000829로 신청했던"), "2026-000829", "thread.body-ref"),
    (dict(subject="새 문의", text="안녕하세요"), None, None),
    (dict(in_reply_to="<unknown@x>", subject="Re: 문의"), None, None),
])
def test_find_case_ref(kw, ref, rule):
    got, ev = find_case_ref(make_mail(**kw), KNOWN.get)
    assert got == ref
    if rule:
        assert ev[0].rule == rule


def test_header_wins_and_conflict_noted():
    mail = make_mail(in_reply_to="<ack1@intake.sonosa.or.kr>", subject="Re: [접수 2026-000999] 안내")
    ref, ev = find_case_ref(mail, KNOWN.get)
    assert ref == "2026-000812"
    assert any(e.rule == "thread.subject-ref-conflict" for e in ev)


def test_no_lookup_still_uses_subject():
    ref, _ = find_case_ref(make_mail(subject="RE: [접수 2026-000111]"), None)
    assert ref == "2026-000111"
