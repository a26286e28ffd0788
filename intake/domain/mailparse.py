"""Raw RFC 5322 bytes → ``ParsedMail``. Pure: no files, network or clock.

What comes from where:

* **mail-parser** (``mailparser.MailParser.from_bytes``) builds the MIME tree
  (an ``email.message.Message``, compat32) with its guard against deep nesting,
  and contributes its defect categories to ``ParsedMail.defects``.
  If mail-parser fails, the stdlib ``email`` parser builds the tree instead, and
  if that fails too, only the header block is parsed.
* **intake + stdlib** does all decoding, because mail-parser's decoding is
  lossy for our mail: it decodes header words and bodies with
  ``errors="ignore"`` (silently dropping characters in subjects when the
  charset label is wrong or cp949 bytes are labelled euc-kr), leaves
  ``iso-2022-kr`` bodies undecoded and does not repair raw 8-bit headers.
  Headers: ``mail_headers`` (the subject: ``mail_headers.decode_subject``).
  Bodies, attachments and file names: ``mime_parts``.  This module builds the
  tree and puts a ``ParsedMail`` together (``parse_message``).
* ``charsets`` is imported first so the cp949 aliases exist before any codec
  lookup by mail-parser or ``email``.

The helpers once defined here are still importable from here.
"""

from __future__ import annotations

from intake.domain import charsets  # noqa: F401,I001  (must come before any codec lookup)
from intake.domain.header_repair import refold_bare_continuations

import email
import email.parser
import email.policy
import logging
import re
from datetime import datetime
from email.message import Message

import mailparser

from intake.domain.mail_headers import (  # noqa: F401  (re-exported: the old import path)
    SEOUL, clean_subject, decode_all_headers, decode_header_value, decode_subject, message_ids,
    parse_addresses, parse_date, raw_header, raw_headers_all, raw_to_bytes, single_line,
    single_message_id, to_seoul, unfold)
from intake.domain.mime_parts import (  # noqa: F401  (re-exported: the old import path)
    BODY_TEXT_TYPES, HEADERS_ONLY_TYPES, MAX_DEPTH, MAX_PARTS, MESSAGE_CONTAINER_TYPES,
    CollectedParts, all_parts, body_charset_hint, body_text_and_html, collect_parts, content_type,
    iter_leaves, part_filename, part_text, split_params, stdlib_defects)
from intake.domain.bounds import bound_mail
from intake.domain.records import ParsedMail
from intake.errors import MailParseError

logging.getLogger("mailparser").setLevel(logging.CRITICAL)


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


def _dedupe(items: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def _note_missing_headers(message: Message, defects: list[str]) -> None:
    for name in ("date", "message-id"):
        if not (raw_header(message, name) or "").strip():
            defects.append(f"missing-header: {name}")


def parse_message(raw: bytes, received_at: datetime) -> ParsedMail:
    """Parse one raw message. Never raises on bad mail (problems go to ``defects``);
    raises ``MailParseError`` only for empty or non-bytes input."""
    _check_raw(raw)
    raw = bytes(raw)
    defects: list[str] = []
    message = build_tree(refold_bare_continuations(strip_leading_junk(raw, defects), defects), defects)
    stdlib_defects(message, defects)
    hint = body_charset_hint(message, defects)
    senders = parse_addresses(raw_headers_all(message, "from"), defects, "from", hint)
    if not senders:
        defects.append("no-from-address")
    reply_to = parse_addresses(raw_headers_all(message, "reply-to"), defects, "reply-to")
    found = collect_parts(message, defects)
    text, html = body_text_and_html(found)
    _note_missing_headers(message, defects)
    subject = decode_subject(raw_header(message, "subject"), defects, hint)
    return bound_mail(ParsedMail(
        message_id=single_message_id(raw_header(message, "message-id")),
        in_reply_to=single_message_id(raw_header(message, "in-reply-to")),
        references=message_ids(" ".join(raw_headers_all(message, "references"))),
        from_address=senders[0][1] if senders else "",
        from_name=senders[0][0] if senders else "",
        reply_to=reply_to[0][1] if reply_to else None,
        to=tuple(addr for _, addr in parse_addresses(raw_headers_all(message, "to"), defects, "to")),
        cc=tuple(addr for _, addr in parse_addresses(raw_headers_all(message, "cc"), defects, "cc")),
        subject=subject,
        text=text,
        html=html,
        date=parse_date(raw_header(message, "date"), defects),
        received_at=to_seoul(received_at, defects),
        content_type=content_type(message),
        headers=decode_all_headers(message, defects, hint),
        attachments=tuple(found.attachments),
        defects=_dedupe(defects),
    ))
