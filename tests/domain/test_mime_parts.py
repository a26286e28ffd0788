"""mime_parts: parameters and file names of MIME parts, as tables."""

from __future__ import annotations

import email
import email.policy

import pytest

from intake.domain.mime_parts import part_filename, split_params


@pytest.mark.parametrize("value, expected", [
    ('attachment; filename="a;b.pdf"', [("filename", '"a;b.pdf"')]),
    ("inline", []),
    ("attachment; FileName = x.txt ; size=3", [("filename", "x.txt"), ("size", "3")]),
    ('attachment;\r\n filename*0="a"; filename*1="b"', [("filename*0", '"a"'), ("filename*1", '"b"')]),
])
def test_split_params(value, expected):
    assert split_params(value) == expected


def _part(header: bytes):
    raw = b"Content-Type: application/pdf\r\n" + header + b"\r\n\r\nx"
    return email.message_from_bytes(raw, policy=email.policy.compat32)


@pytest.mark.parametrize("header, expected", [
    (b"Content-Disposition: attachment; filename*=ks_c_5601-1987''%B1%B8%C3%BC.pdf", "구체.pdf"),
    (b'Content-Disposition: attachment; filename="=?utf-8?B?7ZWc6riA?=.pdf"', "한글.pdf"),
    ('Content-Disposition: attachment; filename="신청서.pdf"'.encode("cp949"), "신청서.pdf"),
    (b"Content-Disposition: attachment", ""),
])
def test_part_filename(header, expected):
    assert part_filename(_part(header), []) == expected
