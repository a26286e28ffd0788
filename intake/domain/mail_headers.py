"""Header decoding for ``mailparse``: RFC 2047 words, raw 8-bit bytes, the
subject, addresses, Message-IDs and dates.  Pure: no files, network or clock.

Headers are read raw (``Message.raw_items``) and decoded here: adjacent
encoded words of one charset are joined at byte level (a multibyte character
may be split between words), raw 8-bit bytes are tried as utf-8, then cp949,
with a defect.  ``decode_subject`` is the subject's entry point.
"""

from __future__ import annotations

from intake.domain.bounds import MAX_HEADER_CHARS, bounded_headers, bounded_prefix
from intake.domain import charsets  # noqa: I001  (must come before any codec lookup)

import base64
import binascii
import email.utils
import functools
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.message import Message
from zoneinfo import ZoneInfo

SEOUL = ZoneInfo("Asia/Seoul")

_ENCODED_WORD_RE = re.compile(r"=\?([^?\s]+)\?([qQbB])\?([^?]*)\?=")
_MSGID_RE = re.compile(r"<[^<>\s]+>")
_ADDR_RE = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w.-]+\w")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_FOLD_RE = re.compile(r"\r?\n(?=[ \t])")


def raw_to_bytes(value: str) -> bytes:
    """Header text as parsed from bytes (8-bit bytes kept as surrogates) → bytes."""
    return value.encode("utf-8", errors="surrogateescape")


def unfold(value: str) -> str:
    return _FOLD_RE.sub("", value).replace("\r", "").replace("\n", "")


def _decode_plain_segment(segment: str, defects: list[str], where: str, hint: str | None) -> str:
    data = raw_to_bytes(segment)
    if data.isascii():
        return segment
    defects.append(f"raw-8bit-header: {where}")
    return charsets.decode_guess(data, defects, where, hint)


def _decode_word_payload(encoding: str, text: str, defects: list[str], where: str) -> bytes | None:
    try:
        if encoding.lower() == "b":
            text = text.strip()
            return base64.b64decode(text + "=" * (-len(text) % 4))
        return binascii.a2b_qp(text.encode("ascii", errors="replace"), header=True)
    except (binascii.Error, ValueError):
        defects.append(f"bad-encoded-word: {where}")
        return None


def _word_charset(label: str) -> str:
    return label.split("*", 1)[0]


@dataclass
class _WordRun:
    """Adjacent encoded words of one charset, decoded together (split multibyte chars)."""

    charset: str = ""
    data: bytearray = field(default_factory=bytearray)

    def flush(self, out: list[str], defects: list[str], where: str, hint: str | None) -> None:
        if self.data:
            out.append(charsets.decode_bytes(bytes(self.data), self.charset, defects, where, hint))
        self.charset, self.data = "", bytearray()


def decode_header_value(value: str | None, defects: list[str], where: str = "header",
                        hint: str | None = None) -> str:
    """Decode a raw header value: RFC 2047 words and raw 8-bit text. Never raises."""
    if not value:
        return ""
    text = bounded_prefix(unfold(str(value)), MAX_HEADER_CHARS, where, defects)
    out: list[str] = []
    run = _WordRun()
    pos = 0
    for match in _ENCODED_WORD_RE.finditer(text):
        gap = text[pos:match.start()]
        if gap.strip() or not run.data:
            run.flush(out, defects, where, hint)
            out.append(_decode_plain_segment(gap, defects, where, hint))
        charset = _word_charset(match.group(1))
        payload = _decode_word_payload(match.group(2), match.group(3), defects, where)
        if payload is None:
            run.flush(out, defects, where, hint)
            out.append(match.group(0))
        else:
            if run.data and charsets.normalize_label(charset) != charsets.normalize_label(run.charset):
                run.flush(out, defects, where, hint)
            run.charset = charset
            run.data.extend(payload)
        pos = match.end()
    run.flush(out, defects, where, hint)
    out.append(_decode_plain_segment(text[pos:], defects, where, hint))
    return "".join(out)


def single_line(text: str) -> str:
    """Controls → spaces, runs of whitespace collapsed, stripped."""
    return re.sub(r"\s+", " ", _CONTROL_RE.sub(" ", text)).strip()


def clean_subject(decoded: str, defects: list[str]) -> str:
    """One line. A line break inside the decoded subject is header injection:
    keep the first line, record the rest as a defect."""
    if re.search(r"[\r\n]", decoded):
        lines = [line for line in re.split(r"[\r\n]+", decoded) if line.strip()]
        if len(lines) > 1:
            defects.append(f"subject-line-break-dropped: {single_line(' | '.join(lines[1:]))[:200]}")
        decoded = lines[0] if lines else ""
    return single_line(decoded)


def decode_subject(raw_value: str | None, defects: list[str], hint: str | None = None) -> str:
    """The Subject's decoding entry point: the raw header value (as parsed from
    bytes) → one clean line.  ``hint`` is the body's charset, a guess for raw
    8-bit bytes."""
    return clean_subject(decode_header_value(raw_value, defects, "subject", hint), defects)


@functools.lru_cache(maxsize=4096)
def _header_name(name: str) -> str:
    """The lower-case field name (a message's names repeat; every header lookup goes through here)."""
    return raw_to_bytes(name).decode("ascii", errors="replace").strip().lower()


def decode_all_headers(message: Message, defects: list[str], hint: str | None = None) -> tuple[tuple[str, str], ...]:
    """(lower-case name, decoded single-line value) for every header, in order."""
    result = []
    for name, value in bounded_headers(message.raw_items(), defects):
        key = _header_name(name)
        result.append((key, single_line(decode_header_value(value, defects, f"header {key}", hint))))
    return tuple(result)


def raw_header(message: Message, name: str) -> str | None:
    wanted = name.lower()
    for key, value in message.raw_items():
        if _header_name(key) == wanted:
            return value
    return None


def raw_headers_all(message: Message, name: str) -> list[str]:
    wanted = name.lower()
    return [value for key, value in message.raw_items() if _header_name(key) == wanted]


# --------------------------------------------------------------------------- addresses


def _getaddresses(raw_values: list[str]) -> list[tuple[str, str]]:
    try:
        return email.utils.getaddresses([unfold(v) for v in raw_values])
    except Exception:
        return []


def parse_addresses(raw_values: list[str], defects: list[str], where: str,
                    hint: str | None = None) -> list[tuple[str, str]]:
    """[(decoded display name, lower-case addr-spec)], skipping empty entries."""
    result = []
    for name, addr in _getaddresses(raw_values):
        addr = raw_to_bytes(addr).decode("utf-8", errors="replace").strip().lower()
        if "@" not in addr:
            continue
        result.append((single_line(decode_header_value(name, defects, where, hint)).strip("\"' "), addr))
    if not result and any(v.strip() for v in raw_values):
        result = _addresses_by_regex(raw_values, defects, where)
    return result


def _addresses_by_regex(raw_values: list[str], defects: list[str], where: str) -> list[tuple[str, str]]:
    found = []
    for value in raw_values:
        decoded = decode_header_value(value, defects, where)
        found.extend(("", m.group(0).lower()) for m in _ADDR_RE.finditer(decoded))
    if found:
        defects.append(f"address-fallback: {where} not RFC 5322, addresses found by pattern")
    return found


# --------------------------------------------------------------------------- ids, dates


def message_ids(value: str | None) -> tuple[str, ...]:
    return tuple(_MSGID_RE.findall(unfold(value or "")))


def single_message_id(value: str | None) -> str | None:
    ids = message_ids(value)
    if ids:
        return ids[0]
    bare = single_line(unfold(value or "")).strip()
    return f"<{bare}>" if bare and " " not in bare else None


def parse_date(value: str | None, defects: list[str]) -> datetime | None:
    if not value or not value.strip():
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(single_line(unfold(value)))
    except (TypeError, ValueError, IndexError, OverflowError):
        defects.append(f"bad-date: {single_line(value)[:80]!r}")
        return None
    if parsed.tzinfo is None:
        defects.append("date-without-zone: assumed UTC")
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed


def to_seoul(received_at: datetime, defects: list[str]) -> datetime:
    if received_at.tzinfo is None:
        defects.append("received_at-naive: assumed UTC")
        received_at = received_at.replace(tzinfo=timezone.utc)
    return received_at.astimezone(SEOUL)
