"""The MIME walk for ``mailparse``: leaves, body text, attachments and their
file names (RFC 2231, RFC 2047 or raw 8-bit).  Pure: no files, network or clock.

Bodies and RFC 2231 file names go through ``charsets.decode_bytes`` (Korean
labels → cp949, fallbacks recorded as defects).  One bad part never loses the
rest: it is skipped with a defect.
"""

from __future__ import annotations

from intake.domain.bounds import MAX_HTML_CHARS
from intake.domain import charsets  # noqa: I001  (must come before any codec lookup)

import email.policy
import email.utils
from dataclasses import dataclass, field
from email.message import Message

from intake.domain.filenames import fallback_filename, safe_filename
from intake.domain.htmltext import html_to_text
from intake.domain.mail_headers import decode_header_value, raw_header, raw_to_bytes, single_line, unfold
from intake.domain.records import Attachment

MAX_DEPTH = 120
MAX_PARTS = 2000

MESSAGE_CONTAINER_TYPES = frozenset({"message/rfc822", "message/global"})
HEADERS_ONLY_TYPES = frozenset({"text/rfc822-headers", "message/rfc822-headers"})
BODY_TEXT_TYPES = frozenset({"text/plain", "text/html"})


@dataclass
class CollectedParts:
    texts: list[str] = field(default_factory=list)
    htmls: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)


def iter_leaves(message: Message, defects: list[str]):
    """Depth-first leaves; message/* containers are yielded whole, not entered."""
    stack: list[tuple[Message, int]] = [(message, 0)]
    seen = 0
    while stack:
        part, depth = stack.pop()
        seen += 1
        if seen > MAX_PARTS:
            defects.append(f"too-many-parts: stopped after {MAX_PARTS}")
            return
        ctype = content_type(part)
        if ctype in MESSAGE_CONTAINER_TYPES or ctype == "message/delivery-status" or not part.is_multipart():
            yield part
            continue
        if depth >= MAX_DEPTH:
            defects.append(f"nesting-too-deep: parts below depth {MAX_DEPTH} ignored")
            continue
        children = part.get_payload()
        if isinstance(children, list):
            stack.extend((child, depth + 1) for child in reversed(children))


def content_type(part: Message) -> str:
    try:
        return part.get_content_type().lower()
    except Exception:
        return "text/plain"


def _disposition(part: Message) -> str | None:
    try:
        return part.get_content_disposition()
    except Exception:
        return None


def _payload_bytes(part: Message, defects: list[str]) -> bytes:
    try:
        payload = part.get_payload(decode=True)
    except Exception as exc:
        defects.append(f"payload-undecodable: {type(exc).__name__}")
        payload = None
    if isinstance(payload, bytes):
        return payload
    raw = part.get_payload()
    return raw_to_bytes(raw) if isinstance(raw, str) else b""


def charset_label(part: Message) -> str | None:
    try:
        label = part.get_param("charset")
    except Exception:
        return None
    if isinstance(label, tuple):
        label = label[2]
    return str(label) if label else None


def part_text(part: Message, defects: list[str]) -> str:
    data = _payload_bytes(part, defects)
    return charsets.decode_bytes(data, charset_label(part), defects, f"body {content_type(part)}")


def split_params(value: str) -> list[tuple[str, str]]:
    """``attachment; filename="a;b.pdf"`` → [("filename", '"a;b.pdf"')] (quotes kept)."""
    pieces, current, quoted = [], [], False
    for char in unfold(value):
        if char == '"':
            quoted = not quoted
        if char == ";" and not quoted:
            pieces.append("".join(current))
            current = []
        else:
            current.append(char)
    pieces.append("".join(current))
    pairs = []
    for piece in pieces[1:]:
        name, sep, val = piece.partition("=")
        if sep:
            pairs.append((name.strip().lower(), val.strip()))
    return pairs


def _param_from_raw_header(part: Message, param: str, header: str):
    """get_param for a header with raw 8-bit bytes (compat32 would give U+FFFD)."""
    raw = raw_header(part, header)
    if not raw or raw_to_bytes(raw).isascii():
        return None
    for name, value in email.utils.decode_params([("", "")] + split_params(raw))[1:]:
        if name == param:
            return value
    return None


def _raw_filename_param(part: Message):
    for param, header in (("filename", "content-disposition"), ("name", "content-type")):
        try:
            value = _param_from_raw_header(part, param, header) or part.get_param(param, header=header)
        except Exception:
            value = None
        if value:
            return value
    return None


def part_filename(part: Message, defects: list[str]) -> str:
    """Decoded file name as the sender wrote it: RFC 2231 (with charset and
    continuations), RFC 2047 words, or raw 8-bit bytes."""
    value = _raw_filename_param(part)
    if not value:
        return ""
    if isinstance(value, tuple):
        label, _lang, text = value
        data = str(text).encode("raw-unicode-escape")
        return single_line(charsets.decode_bytes(data, label or None, defects, "filename"))
    return single_line(decode_header_value(email.utils.unquote(str(value)), defects, "filename"))


def _content_id(part: Message) -> str | None:
    value = part.get("Content-ID")
    return single_line(str(value)) if value else None


def _message_bytes(part: Message, defects: list[str]) -> bytes:
    """Bytes of an attached message / header block, as near to the original as possible."""
    inner = part.get_payload()
    try:
        if isinstance(inner, list):
            return b"\n".join(sub.as_bytes(policy=email.policy.compat32) for sub in inner)
    except Exception as exc:
        defects.append(f"attached-message-unserialisable: {type(exc).__name__}")
        return b""
    return _payload_bytes(part, defects)


def _add_attachment(found: CollectedParts, part: Message, name: str, ctype: str, payload: bytes, fallback: str) -> None:
    index = len(found.attachments) + 1
    found.attachments.append(Attachment(
        filename=safe_filename(name, fallback or fallback_filename(index, ctype)),
        original_filename=name,
        content_type=ctype,
        payload=payload,
        content_id=_content_id(part),
    ))


def _collect_leaf(part: Message, found: CollectedParts, defects: list[str]) -> None:
    ctype = content_type(part)
    name = part_filename(part, defects)
    if ctype in MESSAGE_CONTAINER_TYPES or ctype in HEADERS_ONLY_TYPES:
        fallback = "message.eml" if ctype in MESSAGE_CONTAINER_TYPES else "message-headers.eml"
        _add_attachment(found, part, name, "message/rfc822", _message_bytes(part, defects), fallback)
    elif ctype == "message/delivery-status":
        _add_attachment(found, part, name, ctype, _message_bytes(part, defects), "delivery-status.txt")
    elif _is_body_part(part, ctype, name):
        target = found.htmls if ctype == "text/html" else found.texts
        target.append(part_text(part, defects))
    elif name or not ctype.startswith(("text/", "multipart/")):
        _add_attachment(found, part, name, ctype, _payload_bytes(part, defects), "")
    elif ctype.startswith("multipart/"):
        defects.append(f"multipart-without-parts: {ctype} read as text")
        found.texts.append(part_text(part, defects))


def _is_body_part(part: Message, ctype: str, name: str) -> bool:
    return ctype in BODY_TEXT_TYPES and not name and _disposition(part) != "attachment"


def collect_parts(message: Message, defects: list[str]) -> CollectedParts:
    found = CollectedParts()
    for leaf in iter_leaves(message, defects):
        try:
            _collect_leaf(leaf, found, defects)
        except Exception as exc:  # one bad part must not lose the rest
            defects.append(f"part-skipped: {type(exc).__name__}: {exc}"[:200])
    return found


def _join_texts(texts: list[str]) -> str:
    return "\n".join(t.strip("\r\n") for t in texts if t.strip()).replace("\r\n", "\n")


def body_text_and_html(found: CollectedParts) -> tuple[str, str | None]:
    html = "\n".join(found.htmls) if found.htmls else None
    text = _join_texts(found.texts)
    if not text and html:
        text = html_to_text(html[:MAX_HTML_CHARS])
    return text, html


def stdlib_defects(message: Message, defects: list[str]) -> None:
    for leaf_or_container in all_parts(message):
        for defect in getattr(leaf_or_container, "defects", []) or []:
            defects.append(f"email: {type(defect).__name__}")


def all_parts(message: Message):
    stack = [(message, 0)]
    while stack:
        part, depth = stack.pop()
        yield part
        payload = part.get_payload() if part.is_multipart() and depth < MAX_DEPTH else None
        if isinstance(payload, list):
            stack.extend((child, depth + 1) for child in payload)


def body_charset_hint(message: Message, defects: list[str]) -> str | None:
    """First declared charset of a text part: a guess for raw 8-bit headers."""
    for part in all_parts(message):
        label = charset_label(part)
        if label and charsets.codec_for(label) not in (None, "ascii", "utf-8"):
            return label
    return None
