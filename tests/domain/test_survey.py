"""Survey replies understood (or handed to staff), and the signed one-click links."""

from __future__ import annotations

import pytest

from intake.domain.survey_answers import parse_survey_reply
from intake.domain.survey_tokens import check_link_token, link_token, survey_links

TOKEN = "0123456789abcdef.a1b2c3"
SECRET = b"s3cret-for-tests"


@pytest.mark.parametrize("text, score, comment", [
    ("5", 5, ""),
    ("④", 4, ""),
    ("만족", 4, ""),
    ("매우 만족", 5, ""),
    ("매우만족합니다", 5, "합니다"),
    ("보통", 3, ""),
    ("불만족", 2, ""),
    ("매우 불만족 답변이 너무 늦었습니다", 1, "답변이 너무 늦었습니다"),
    ("매우 불만족\n답변이 늦었고 담당자와 통화가 안 됐습니다", 1, "답변이 늦었고 담당자와 통화가 안 됐습니다"),
    ("4/5", 4, ""),
    ("4 / 5 친절했어요", 4, "친절했어요"),
    ("very satisfied", 5, ""),
    ("Very Satisfied - quick answer", 5, "quick answer"),
    ("satisfied", 4, ""),
    ("Dissatisfied", 2, ""),
    ("very dissatisfied: nobody called", 1, "nobody called"),
    ("neutral", 3, ""),
    ("  ⑤  감사합니다\n\n> 원문 인용\n> 1 매우 불만족", 5, "감사합니다"),
    ("점수: 3", 3, ""),
])
def test_understood(text, score, comment):
    a = parse_survey_reply(text)
    assert (a.score, a.comment, a.ambiguous, a.opt_out) == (score, comment, "", False)


@pytest.mark.parametrize("text, why", [
    ("", "empty"),
    ("잘 모르겠습니다", "no score"),
    ("4 아니면 5", "several scores"),
    ("만족 또는 불만족", "several scores"),
    ("2026-12-04에 받았습니다", "no score"),
    ("10", "no score"),
])
def test_ambiguous_goes_to_staff(text, why):
    a = parse_survey_reply(text)
    assert a.score is None and why in (a.ambiguous or "empty")


@pytest.mark.parametrize("text, score", [("수신 거부", None), ("수신거부합니다", None), ("unsubscribe", None),
                                         ("3\n앞으로는 수신 거부", 3)])
def test_opt_out(text, score):
    a = parse_survey_reply(text)
    assert a.opt_out and a.score == score and a.ambiguous == ""


def test_link_tokens_are_signed_per_score():
    tok = link_token(SECRET, TOKEN, 4)
    assert check_link_token(SECRET, tok) == (TOKEN, 4)
    assert check_link_token(b"another secret", tok) is None
    forged = tok.replace(".4.", ".1.")
    assert check_link_token(SECRET, forged) is None
    assert check_link_token(SECRET, tok[:-1] + ("0" if tok[-1] != "0" else "1")) is None
    assert check_link_token(SECRET, "garbage") is None
    links = survey_links("https://intake.example.org/", SECRET, TOKEN)
    assert [s for s, _ in links] == [5, 4, 3, 2, 1]
    assert links[1][1] == f"https://intake.example.org/survey/{tok}"
    with pytest.raises(ValueError):
        link_token(b"", TOKEN, 3)
