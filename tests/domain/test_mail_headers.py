"""mail_headers: header words, raw 8-bit bytes and the subject, as tables."""

from __future__ import annotations

import pytest

from intake.domain.mail_headers import decode_header_value, decode_subject, single_message_id, unfold


def test_decode_header_value_keeps_plain_text_between_words():
    defects = []
    assert decode_header_value("RE: =?utf-8?B?66y47J2Y?= [접수]", defects) == "RE: 문의 [접수]"


# raw values as the parser hands them over (8-bit bytes as surrogates)
def _raw(data: bytes) -> str:
    return data.decode("utf-8", errors="surrogateescape")


@pytest.mark.parametrize("raw, hint, expected, defect", [
    ("=?ks_c_5601-1987?B?uea6z8H1uO28rQ==?=", None, "방북증명서", None),
    ("=?utf-8?B?7ZWc?= =?utf-8?B?6riA?=", None, "한글", None),          # words joined, space dropped
    ("=?utf-8?Q?=ED=95?= =?utf-8?Q?=9C?=", None, "한", None),           # a character split across words
    (_raw("문의 드립니다".encode("cp949")), "euc-kr", "문의 드립니다", "raw-8bit-header: subject"),
    ("=?utf-8?B?7ZWc?=\r\n =?utf-8?B?6riA?=", None, "한글", None),     # folded
    ("첫 줄 =?utf-8?Q?=0D=0ABcc:_x@example.com?=", None, "첫 줄", "subject-line-break-dropped"),
    (None, None, "", None),
])
def test_decode_subject(raw, hint, expected, defect):
    defects: list[str] = []
    assert decode_subject(raw, defects, hint) == expected
    if defect is None:
        assert defects == []
    else:
        assert any(d.startswith(defect) for d in defects), defects


@pytest.mark.parametrize("value, expected", [
    ("<a@b>", "<a@b>"),
    ("  a@b ", "<a@b>"),
    ("a b", None),
    (None, None),
])
def test_single_message_id(value, expected):
    assert single_message_id(value) == expected


def test_unfold_removes_folding_only():
    assert unfold("a\r\n b\n\tc") == "a b\tc"
