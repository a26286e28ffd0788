"""Broken header blocks decoded as the sender meant (issue 15 item 5)."""

from datetime import datetime, timezone

import pytest

from intake.domain.header_repair import refold_bare_continuations
from intake.domain.mailparse import parse_message

NOW = datetime(2026, 12, 4, tzinfo=timezone.utc)


@pytest.mark.parametrize("raw,subject,sender", [
    # a long base64 header folded without whitespace: Subject and From come after it
    (b"Return-Path: <a@example.com>\r\nX-Tracker: AAAA\r\nBBBBCCCC/DDDD+\r\nEEEE\r\nFrom: A <a@example.com>\r\n"
     b"Subject: AW: One Net Business\r\n\r\nbody\r\n", "AW: One Net Business", "a@example.com"),
    # a SpamAssassin tests= list folded without whitespace
    (b"X-Spam-Status: No, hits=0.0\r\ntests=BAYES_00: -1.665,\r\nMIME_HTML_ONLY: 0.723\r\nTo: h@example.cz\r\n"
     b"Subject: Contact from Server\r\nFrom: x@example.cz\r\n\r\nhi\r\n", "Contact from Server", "x@example.cz"),
    # raw Shift_JIS subject in a message whose other headers say ISO-2022-JP
    (b"To: =?ISO-2022-JP?B?GyRCJUYlOSVIGyhC?= <foo@example.com>\r\nSubject: \x83c\x81[\x83\x8b\r\nFrom: b@example.org\r\n"
     b"Content-Type: text/plain; charset=iso-2022-jp\r\n\r\nhi\r\n", "ツール", "b@example.org"),
    # raw cp949 stays Korean
    ("Subject: 방북증명서 문의\r\nFrom: c@example.kr\r\n\r\n본문\r\n".encode("cp949"), "방북증명서 문의", "c@example.kr"),
])
def test_broken_headers(raw, subject, sender):
    mail = parse_message(raw, NOW)
    assert mail.subject == subject
    assert mail.from_address == sender


def test_well_formed_headers_are_untouched():
    raw = b"From: a@example.com\r\nSubject: hello\r\n  world\r\n\r\nbody line\r\nnot: a header\r\n"
    defects: list[str] = []
    assert refold_bare_continuations(raw, defects) == raw and not defects


def test_refold_records_a_defect():
    defects: list[str] = []
    out = refold_bare_continuations(b"A: 1\nbroken\nB: 2\n\nbody\n", defects)
    assert out == b"A: 1\n broken\nB: 2\n\nbody\n"
    assert defects and defects[0].startswith("header-refolded")
