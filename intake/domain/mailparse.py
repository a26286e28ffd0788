"""Raw RFC 5322 bytes → ``ParsedMail``. Pure: no files, network or clock.

What comes from where:

* **mail-parser** (``mailparser.MailParser.from_bytes``) builds the MIME tree
  (an ``email.message.Message``, compat32) with its guard against deep nesting,
  and contributes its defect categories to ``ParsedMail.defects``.
  If mail-parser fails, the stdlib ``email`` parser builds the tree instead, and
  if that fails too, only the header block is parsed.
* **this module + stdlib** does all decoding, because mail-parser's decoding is
  lossy for our mail: it decodes header words and bodies with
  ``errors="ignore"`` (silently dropping characters in subjects when the
  charset label is wrong or cp949 bytes are labelled euc-kr), leaves
  ``iso-2022-kr`` bodies undecoded and does not repair raw 8-bit headers.
  Headers are read raw (``Message.raw_items``) and decoded here: RFC 2047 words
  (adjacent words of one charset joined at byte level), raw 8-bit bytes
  (utf-8, then cp949, with a defect). Bodies and RFC 2231 file names go
  through ``charsets.decode_bytes`` (Korean labels → cp949, fallbacks recorded).
* ``charsets`` is imported first so the cp949 aliases exist before any codec
  lookup by mail-parser or ``email``.
"""

from __future__ import annotations

from intake.domain import charsets  # noqa: I001  (must come before any codec lookup)

import base64
import binascii
import email
import email.parser
import email.policy
import email.utils
import functools
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.message import Message
from zoneinfo import ZoneInfo

import mailparser

from intake.domain.bounds import MAX_HEADER_CHARS, MAX_HTML_CHARS, bound_mail, bounded_headers, bounded_prefix
from intake.domain.filenames import fallback_filename, safe_filename
from intake.domain.htmltext import html_to_text
from intake.domain.records import Attachment, ParsedMail
from intake.errors import MailParseError

SEOUL = ZoneInfo("Asia/Seoul")
MAX_DEPTH = 120
MAX_PARTS = 2000

_ENCODED_WORD_RE = re.compile(r"=\?([^?\s]+)\?([qQbB])\?([^?]*)\?=")
_MSGID_RE = re.compile(r"<[^<>\s]+>")
_ADDR_RE = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w.-]+\w")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_FOLD_RE = re.compile(r"\r?\n(?=[ \t])")

MESSAGE_CONTAINER_TYPES = frozenset({"message/rfc822", "message/global"})
HEADERS_ONLY_TYPES = frozenset({"text/rfc822-headers", "message/rfc822-headers"})
BODY_TEXT_TYPES = frozenset({"text/plain", "text/html"})

logging.getLogger("mailparser").setLevel(logging.CRITICAL)


# --------------------------------------------------------------------------- raw → tree


def _check_raw(raw: object) -> None:
    if not isinstance(raw, (bytes, bytearray, memoryview)):
        raise MailParseError(f"raw message must be bytes, got {type(raw).__name__}")
    if not bytes(raw).strip():
        raise MailParseError("raw message is empty")


def _tree_from_mailparser(raw: bytes, defects: list[str]) -> Message | None:
    try:
        parsed = mailparser.MailParser.from_bytes(raw)
    except Exception as exc:  # mail-parser must never take the daemon down
        defects.append(f"mail-parser-failed: {type(exc).__name__}: {exc}"[:300])
        return None
    defects.extend(f"mail-parser: {name}" for name in sorted(parsed.defects_categories))
    return parsed.message


def _tree_from_stdlib(raw: bytes, defects: list[str]) -> Message:
    try:
        return email.message_from_bytes(raw, policy=email.policy.compat32)
    except Exception as exc:
        defects.append(f"stdlib-parse-failed: {type(exc).__name__}; headers only")
    return email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(raw)


_HEADER_LINE_RE = re.compile(rb"[!-9;-~]+[ \t]*:")
MAX_LEADING_JUNK_LINES = 3


def strip_leading_junk(raw: bytes, defects: list[str]) -> bytes:
    """Drop an mbox ``From `` line or a few non-header lines before the first header."""
    rest = raw.lstrip(b"\r\n")
    for _ in range(MAX_LEADING_JUNK_LINES):
        if _HEADER_LINE_RE.match(rest) and not rest.startswith(b"From "):
            break
        line, sep, after = rest.partition(b"\n")
        if not sep or not _HEADER_LINE_RE.match(after):
            break
        defects.append(f"leading-junk-removed: {line[:60].decode('ascii', 'replace').strip()!r}")
        rest = after
    return rest if rest != raw.lstrip(b"\r\n") else raw


def build_tree(raw: bytes, defects: list[str]) -> Message:
    """MIME tree via mail-parser, stdlib as fallback."""
    message = _tree_from_mailparser(raw, defects)
    return message if message is not None else _tree_from_stdlib(raw, defects)


# --------------------------------------------------------------------------- headers


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


def _raw_header(message: Message, name: str) -> str | None:
    wanted = name.lower()
    for key, value in message.raw_items():
        if _header_name(key) == wanted:
            return value
    return None


def _raw_headers_all(message: Message, name: str) -> list[str]:
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


# --------------------------------------------------------------------------- MIME walk


@dataclass
class _Collected:
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
        ctype = _content_type(part)
        if ctype in MESSAGE_CONTAINER_TYPES or ctype == "message/delivery-status" or not part.is_multipart():
            yield part
            continue
        if depth >= MAX_DEPTH:
            defects.append(f"nesting-too-deep: parts below depth {MAX_DEPTH} ignored")
            continue
        children = part.get_payload()
        if isinstance(children, list):
            stack.extend((child, depth + 1) for child in reversed(children))


def _content_type(part: Message) -> str:
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


def _charset_label(part: Message) -> str | None:
    try:
        label = part.get_param("charset")
    except Exception:
        return None
    if isinstance(label, tuple):
        label = label[2]
    return str(label) if label else None


def part_text(part: Message, defects: list[str]) -> str:
    data = _payload_bytes(part, defects)
    return charsets.decode_bytes(data, _charset_label(part), defects, f"body {_content_type(part)}")


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
    raw = _raw_header(part, header)
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


def _add_attachment(found: _Collected, part: Message, name: str, ctype: str, payload: bytes, fallback: str) -> None:
    index = len(found.attachments) + 1
    found.attachments.append(Attachment(
        filename=safe_filename(name, fallback or fallback_filename(index, ctype)),
        original_filename=name,
        content_type=ctype,
        payload=payload,
        content_id=_content_id(part),
    ))


def _collect_leaf(part: Message, found: _Collected, defects: list[str]) -> None:
    ctype = _content_type(part)
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


def collect_parts(message: Message, defects: list[str]) -> _Collected:
    found = _Collected()
    for leaf in iter_leaves(message, defects):
        try:
            _collect_leaf(leaf, found, defects)
        except Exception as exc:  # one bad part must not lose the rest
            defects.append(f"part-skipped: {type(exc).__name__}: {exc}"[:200])
    return found


def _join_texts(texts: list[str]) -> str:
    return "\n".join(t.strip("\r\n") for t in texts if t.strip()).replace("\r\n", "\n")


def body_text_and_html(found: _Collected) -> tuple[str, str | None]:
    html = "\n".join(found.htmls) if found.htmls else None
    text = _join_texts(found.texts)
    if not text and html:
        text = html_to_text(html[:MAX_HTML_CHARS])
    return text, html


def stdlib_defects(message: Message, defects: list[str]) -> None:
    for leaf_or_container in _all_parts(message):
        for defect in getattr(leaf_or_container, "defects", []) or []:
            defects.append(f"email: {type(defect).__name__}")


def _all_parts(message: Message):
    stack = [(message, 0)]
    while stack:
        part, depth = stack.pop()
        yield part
        payload = part.get_payload() if part.is_multipart() and depth < MAX_DEPTH else None
        if isinstance(payload, list):
            stack.extend((child, depth + 1) for child in payload)


# --------------------------------------------------------------------------- entry point


def _dedupe(items: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def body_charset_hint(message: Message, defects: list[str]) -> str | None:
    """First declared charset of a text part: a guess for raw 8-bit headers."""
    for part in _all_parts(message):
        label = _charset_label(part)
        if label and charsets.codec_for(label) not in (None, "ascii", "utf-8"):
            return label
    return None


def _note_missing_headers(message: Message, defects: list[str]) -> None:
    for name in ("date", "message-id"):
        if not (_raw_header(message, name) or "").strip():
            defects.append(f"missing-header: {name}")


def parse_message(raw: bytes, received_at: datetime) -> ParsedMail:
    """Parse one raw message. Never raises on bad mail (problems go to ``defects``);
    raises ``MailParseError`` only for empty or non-bytes input."""
    _check_raw(raw)
    raw = bytes(raw)
    defects: list[str] = []
    message = build_tree(strip_leading_junk(raw, defects), defects)
    stdlib_defects(message, defects)
    hint = body_charset_hint(message, defects)
    senders = parse_addresses(_raw_headers_all(message, "from"), defects, "from", hint)
    if not senders:
        defects.append("no-from-address")
    reply_to = parse_addresses(_raw_headers_all(message, "reply-to"), defects, "reply-to")
    found = collect_parts(message, defects)
    text, html = body_text_and_html(found)
    _note_missing_headers(message, defects)
    subject = clean_subject(decode_header_value(_raw_header(message, "subject"), defects, "subject", hint), defects)
    return bound_mail(ParsedMail(
        message_id=single_message_id(_raw_header(message, "message-id")),
        in_reply_to=single_message_id(_raw_header(message, "in-reply-to")),
        references=message_ids(" ".join(_raw_headers_all(message, "references"))),
        from_address=senders[0][1] if senders else "",
        from_name=senders[0][0] if senders else "",
        reply_to=reply_to[0][1] if reply_to else None,
        to=tuple(addr for _, addr in parse_addresses(_raw_headers_all(message, "to"), defects, "to")),
        cc=tuple(addr for _, addr in parse_addresses(_raw_headers_all(message, "cc"), defects, "cc")),
        subject=subject,
        text=text,
        html=html,
        date=parse_date(_raw_header(message, "date"), defects),
        received_at=to_seoul(received_at, defects),
        content_type=_content_type(message),
        headers=decode_all_headers(message, defects, hint),
        attachments=tuple(found.attachments),
        defects=_dedupe(defects),
    ))
