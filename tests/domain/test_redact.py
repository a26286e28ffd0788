"""masked_message: the original.eml staff receive holds no readable 주민등록번호."""

from __future__ import annotations

import email
from email.policy import default as default_policy

import pytest

from intake.domain.records import RenderedMail
from intake.domain.redact import masked_message, masked_rendered

RRN = "800101-1234567"


def _texts(raw: bytes) -> str:
    msg = email.message_from_bytes(raw, policy=default_policy)
    out = [str(v) for v in msg.values()]
    for part in msg.walk():
        if not part.is_multipart():
            out.append((part.get_payload(decode=True) or b"").decode(part.get_content_charset() or "utf-8", "replace"))
    return "\n".join(out)


CP949_8BIT = ("Subject: 신청 " + RRN + "\r\nContent-Type: text/plain; charset=ks_c_5601-1987\r\n"
              "Content-Transfer-Encoding: 8bit\r\n\r\n주민등록번호 " + RRN + " 입니다\r\n").encode("cp949")
BASE64 = (b"Subject: =?UTF-8?B?" + __import__("base64").b64encode(f"신청 {RRN}".encode()) + b"?=\r\n"
          b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
          + __import__("base64").encodebytes(f"번호 {RRN}\n".encode()))
QP_SPLIT = (b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
            b"=EB=B2=88=ED=98=B8 800101-12=\r\n34567\r\n")


@pytest.mark.parametrize("raw", [CP949_8BIT, BASE64, QP_SPLIT], ids=["8bit-cp949", "base64", "qp-soft-break"])
def test_masked_wherever_readable(raw):
    out = masked_message(raw)
    text = _texts(out)
    assert "1234567" not in text and "######-*******" in text
    assert "1234567" not in out.decode("latin-1")


def test_message_without_numbers_is_unchanged_byte_for_byte():
    raw = "Subject: 문의\r\nContent-Type: text/plain; charset=cp949\r\n\r\n전화 010-1234-5678\r\n".encode("cp949")
    assert masked_message(raw) is raw


def test_binary_attachment_passes_and_rendered_mail_masked():
    raw = (b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n"
           b"see scan " + RRN.encode() + b"\r\n--b\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64"
           b"\r\n\r\nJVBERi0xLjQK\r\n--b--\r\n")
    out = masked_message(raw)
    assert b"JVBERi0xLjQK" in out and b"1234567" not in out
    r = masked_rendered(RenderedMail("staff-task", "v", f"건 {RRN}", f"본문 {RRN}", f"<p>{RRN}</p>"))
    assert "1234567" not in r.subject + r.text + r.html
