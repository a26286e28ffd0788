"""A masked copy of a received message: what staff mail attaches as ``original.eml``.

Resident registration numbers (주민등록번호) are masked (``intake.domain.pii``) wherever they can be
read in the message: raw headers and 7-bit/8-bit bodies directly in the bytes (an RRN is ASCII
digits in every charset a Korean mail uses, so the bytes are masked without decoding, and
everything else is kept byte for byte), then base64 and quoted-printable text parts and encoded
header words after decoding them. Binary attachments (scans, PDFs) pass unchanged: their numbers
are pixels, which the clear view in the console is no worse than.
"""

from __future__ import annotations

import base64
import quopri
import re
from dataclasses import replace
from email import message_from_bytes
from email.header import Header, decode_header, make_header
from email.message import Message
from email.policy import compat32

from intake.domain.charsets import codec_for
from intake.domain.pii import contains_rrn, mask_rrn
from intake.domain.records import RenderedMail

_ENCODED_WORD = re.compile(r"=\?[^?]+\?[bBqQ]\?")


def masked_message(raw: bytes) -> bytes:
    """``raw`` with every readable 주민등록번호 masked; unchanged where it holds none."""
    flat = raw.decode("latin-1")
    masked = mask_rrn(flat).encode("latin-1") if contains_rrn(flat) else raw
    try:
        msg = message_from_bytes(masked, policy=compat32)
    except Exception:  # noqa: BLE001 - the byte pass above is all a broken message gets
        return masked
    changed = _mask_encoded_headers(msg)
    for part in msg.walk():
        if not part.is_multipart():
            changed = _mask_encoded_text(part) or changed
    return msg.as_bytes() if changed else masked


def _mask_encoded_headers(msg: Message) -> bool:
    changed = False
    for part in msg.walk():
        for name, value in part.items():
            if not isinstance(value, str) or not _ENCODED_WORD.search(value):
                continue
            try:
                text = str(make_header(decode_header(value)))
            except (LookupError, UnicodeError, ValueError):
                continue
            if contains_rrn(text):
                part.replace_header(name, Header(mask_rrn(text), "utf-8").encode())
                changed = True
    return changed


def _mask_encoded_text(part: Message) -> bool:
    cte = (part.get("Content-Transfer-Encoding") or "").strip().lower()
    if part.get_content_maintype() != "text" or cte not in ("base64", "quoted-printable"):
        return False
    payload = part.get_payload(decode=True) or b""
    codec = codec_for(part.get_content_charset()) or "utf-8"
    text = payload.decode(codec, errors="replace")
    if not contains_rrn(text):
        return False
    data = mask_rrn(text).encode(codec, errors="replace")
    if cte == "base64":
        part.set_payload(base64.encodebytes(data).decode("ascii"))
    else:
        part.set_payload(quopri.encodestring(data).decode("ascii"))
    return True


def masked_rendered(rendered: RenderedMail) -> RenderedMail:
    """A rendered mail with no 주민등록번호 in its subject, text or HTML (every mail intake sends)."""
    parts = (rendered.subject, rendered.text, rendered.html or "")
    if not any(contains_rrn(p) for p in parts):
        return rendered
    return replace(rendered, subject=mask_rrn(rendered.subject), text=mask_rrn(rendered.text),
                   html=mask_rrn(rendered.html) if rendered.html is not None else None)
