"""Compose outgoing mail bytes from a rendered template (pure: ids and time are given).

Header values that came from customers (their subject, their name) are reduced
to one line before they reach a header. The bytes are written directly (the
stdlib's ``EmailMessage`` with the SMTP policy costs milliseconds per mail);
any other header value that still holds a control character or non-ASCII text
goes through the stdlib path, whose SMTP policy refuses CR/LF — so a customer
cannot inject headers either way.

Layout of a composed mail (CRLF line ends, 7-bit, every body part base64):

    <headers>  MIME-Version, Content-Type text/plain or multipart/alternative
    (text part, then the HTML part when the template has one)

``attach_file`` turns that into ``multipart/mixed`` with a file part (a PDF, or with
``attach_original`` the received message as a base64 ``original.eml``) by splicing bytes
(no re-parse); a second file is appended to the same ``multipart/mixed``.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr

from intake.domain.records import RenderedMail

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\x85]+")
_SAFE_VALUE = re.compile(r"[\x20-\x7e]*\Z")          # printable ASCII, nothing else

CRLF = b"\r\n"
MAX_LINE = 78          # RFC 5322 "SHOULD"; the hard limit is 998
_EW_CHUNK = 42         # bytes of UTF-8 per encoded word: 56 base64 chars, 68 with "=?utf-8?b?" "?="


def one_line(value: str, limit: int = 400) -> str:
    """Collapse any control characters (CR, LF, TAB…) to single spaces."""
    return _CONTROL.sub(" ", value).strip()[:limit]


def new_message_id(token: str, domain: str) -> str:
    """``<token@intake.domain>``; the token comes from the caller (random or derived)."""
    safe = re.sub(r"[^A-Za-z0-9.\-]", "", token) or "x"
    return f"<{safe}@intake.{domain}>"


@dataclass(frozen=True)
class Envelope:
    from_address: str
    from_name: str
    to: tuple[str, ...]
    message_id: str
    date: datetime
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    auto_submitted: str | None = "auto-replied"   # RFC 3834; None for human-written relays
    case_ref: str | None = None
    reply_to: str | None = None


# ------------------------------------------------------------------ header encoding


def encoded_words(value: str) -> list[str]:
    """RFC 2047 ``=?utf-8?b?…?=`` words, each ≤ 75 characters, never splitting a character."""
    data = value.encode("utf-8")
    words: list[str] = []
    start, n = 0, len(data)
    while start < n:
        end = min(start + _EW_CHUNK, n)
        while end < n and (data[end] & 0xC0) == 0x80:   # back off to a character boundary
            end -= 1
        words.append("=?utf-8?b?" + base64.b64encode(data[start:end]).decode("ascii") + "?=")
        start = end
    return words


def _fold_words(name: str, words: list[str], sep: str = " ") -> str:
    """``name: w1 w2 …`` folded before a word when the line would pass MAX_LINE."""
    out = [name, ":"]
    width = len(name) + 1
    for w in words:
        if width + 1 + len(w) > MAX_LINE and width > len(name) + 1:
            out.append("\r\n ")
            width = 1
        else:
            out.append(sep)
            width += 1
        out.append(w)
        width += len(w)
    return "".join(out)


def unstructured(name: str, value: str) -> str:
    """An unstructured header line (e.g. Subject), encoded and folded; ``value`` has no control chars."""
    if value.isascii() and "=?" not in value and len(name) + 2 + len(value) <= MAX_LINE:
        return f"{name}: {value}"
    if not value:
        return f"{name}: "
    return _fold_words(name, encoded_words(value))


def _mailbox(name: str, address: str) -> list[str] | None:
    """The words of ``name <address>``, or None when the stdlib path must handle it."""
    if not _SAFE_VALUE.match(address) or "<" in address or ">" in address or " " in address:
        return None
    if not name:
        return [address]
    if "=?" in name:
        return None
    if name.isascii():
        return [formataddr((name, address))] if _SAFE_VALUE.match(name) else None   # quoted when needed
    return [*encoded_words(name), f"<{address}>"]


# ------------------------------------------------------------------ compose


def _boundary(seed: str, kind: str) -> str:
    # "=_" cannot occur in base64 text, and every part we write is base64.
    return f"=_{kind}_{hashlib.sha256(seed.encode('utf-8', 'surrogatepass')).hexdigest()[:32]}"


def _base64_body(text: str) -> bytes:
    # Same bytes as the stdlib's text content manager: lines joined with CRLF, CRLF at the end.
    data = ("\r\n".join(text.splitlines()) + "\r\n").encode("utf-8")
    return base64.encodebytes(data).replace(b"\n", CRLF)


def compose(rendered: RenderedMail, env: Envelope) -> bytes:
    headers = _fast_headers(rendered, env)
    if headers is None:
        return _compose_stdlib(rendered, env)
    text_part = _base64_body(rendered.text)
    if not rendered.html:
        head = headers + [
            "MIME-Version: 1.0",
            'Content-Type: text/plain; charset="utf-8"',
            "Content-Transfer-Encoding: base64",
        ]
        return "\r\n".join(head).encode("ascii") + CRLF + CRLF + text_part
    b = _boundary(env.message_id, "alt").encode("ascii")
    head = headers + ["MIME-Version: 1.0", f'Content-Type: multipart/alternative;\r\n boundary="{b.decode()}"']
    return b"".join((
        "\r\n".join(head).encode("ascii"), CRLF, CRLF,
        b"--", b, CRLF,
        b'Content-Type: text/plain; charset="utf-8"\r\nContent-Transfer-Encoding: base64\r\n\r\n', text_part,
        b"--", b, CRLF,
        b'Content-Type: text/html; charset="utf-8"\r\nContent-Transfer-Encoding: base64\r\n\r\n',
        _base64_body(rendered.html),
        b"--", b, b"--", CRLF,
    ))


def _fast_headers(rendered: RenderedMail, env: Envelope) -> list[str] | None:
    """The header lines, or None when a value needs the stdlib (non-ASCII address, stray control char…)."""
    sender = _mailbox(one_line(env.from_name), env.from_address)
    if sender is None:
        return None
    in_reply_to = one_line(env.in_reply_to) if env.in_reply_to else None
    refs = [one_line(r) for r in env.references if r][-20:]
    plain = [", ".join(env.to), env.message_id, in_reply_to or "", env.reply_to or "", env.auto_submitted or "",
             env.case_ref or "", f"{rendered.template} {rendered.template_version}", *refs]
    if not all(_SAFE_VALUE.match(v) for v in plain):
        return None
    if not all(a and _SAFE_VALUE.match(a) and " " not in a and "," not in a for a in env.to):
        return None
    lines = [_fold_words("From", sender),
             f"To: {', '.join(env.to)}",
             unstructured("Subject", one_line(rendered.subject, 900)),
             f"Date: {format_datetime(env.date)}",
             f"Message-ID: {env.message_id}"]
    if in_reply_to:
        lines.append(f"In-Reply-To: {in_reply_to}")
    refs = [r for r in refs if r]
    if refs:
        lines.append(_fold_words("References", refs))
    if env.reply_to:
        lines.append(f"Reply-To: {env.reply_to}")
    if env.auto_submitted:
        lines.append(f"Auto-Submitted: {env.auto_submitted}")
    if env.case_ref:
        lines.append(f"X-Intake-Case: {env.case_ref}")
    lines.append(f"X-Intake-Template: {rendered.template} {rendered.template_version}")
    if any(len(line) > 998 for line in "\r\n".join(lines).split("\r\n")):
        return None
    return lines


def _compose_stdlib(rendered: RenderedMail, env: Envelope) -> bytes:
    """The general path (the SMTP policy refuses CR/LF in any header)."""
    msg = EmailMessage(policy=SMTP)
    msg["From"] = Address(display_name=one_line(env.from_name), addr_spec=env.from_address)
    msg["To"] = ", ".join(env.to)
    msg["Subject"] = one_line(rendered.subject, 900)
    msg["Date"] = format_datetime(env.date)
    msg["Message-ID"] = env.message_id
    if env.in_reply_to:
        msg["In-Reply-To"] = one_line(env.in_reply_to)
    refs = [one_line(r) for r in env.references if r]
    if refs:
        msg["References"] = " ".join(refs[-20:])
    if env.reply_to:
        msg["Reply-To"] = env.reply_to
    if env.auto_submitted:
        msg["Auto-Submitted"] = env.auto_submitted
    if env.case_ref:
        msg["X-Intake-Case"] = env.case_ref
    msg["X-Intake-Template"] = f"{rendered.template} {rendered.template_version}"
    msg.set_content(rendered.text, subtype="plain", charset="utf-8", cte="base64")
    if rendered.html:
        msg.add_alternative(rendered.html, subtype="html", charset="utf-8", cte="base64")
    return msg.as_bytes()


# ------------------------------------------------------------------ attach


_SAFE_FILENAME = re.compile(r"[A-Za-z0-9._\-]+\Z")
_SAFE_CTYPE = re.compile(r"[a-z0-9][a-z0-9.+\-]*/[a-z0-9][a-z0-9.+\-]*\Z")
_OUR_MIXED = re.compile(rb'Content-Type: multipart/mixed;\r\n boundary="(=_mixed_[0-9a-f]{32})"\r\n')


@dataclass(frozen=True)
class FileAttachment:
    """A file to attach to a composed mail (e.g. the fax acknowledgement PDF)."""

    filename: str            # shown to the recipient; ASCII keeps the fast path
    content_type: str        # e.g. application/pdf
    data: bytes


def attach_original(raw_mail: bytes, original: bytes, filename: str = "original.eml") -> bytes:
    """Attach a received message to a composed mail, as a base64 ``application/octet-stream`` part.

    Sent as a base64 .eml file rather than message/rfc822: 8-bit originals (raw cp949 headers)
    are not valid inside a message/rfc822 part and some MTAs would rewrite them.
    """
    return attach_file(raw_mail, FileAttachment(filename, "application/octet-stream", original))


def attach_file(raw_mail: bytes, file: FileAttachment) -> bytes:
    """Attach ``file`` to a composed mail as a base64 part, without re-parsing the mail.

    A mail from ``compose`` becomes ``multipart/mixed``: its Content-* header fields
    move into the first part and the file follows. A mail already made mixed here
    gets the file appended before its closing boundary, so attachments can be added
    one after the other (the PDF at enqueue time, the original at send time).
    Anything else goes through the stdlib.
    """
    spliced = _splice_attachment(raw_mail, file)
    return spliced if spliced is not None else _attach_stdlib(raw_mail, file)


def _file_part(b: bytes, file: FileAttachment) -> bytes:
    return b"".join((
        b"--", b, CRLF,
        b"Content-Type: ", file.content_type.encode("ascii"), CRLF,
        b'Content-Disposition: attachment; filename="', file.filename.encode("ascii"), b'"', CRLF,
        b"Content-Transfer-Encoding: base64", CRLF, CRLF,
        base64.encodebytes(file.data).replace(b"\n", CRLF),
    ))


def _splice_attachment(raw_mail: bytes, file: FileAttachment) -> bytes | None:
    if not _SAFE_FILENAME.match(file.filename) or not _SAFE_CTYPE.match(file.content_type):
        return None
    end = raw_mail.find(b"\r\n\r\n")
    if end < 0 or b"\n" in raw_mail[:end].replace(b"\r\n", b""):
        return None
    head, body = raw_mail[:end], raw_mail[end + 4:]
    ours = _OUR_MIXED.search(raw_mail[:end + 2])
    if ours is not None:
        closing = b"--" + ours.group(1) + b"--" + CRLF
        if not raw_mail.endswith(closing):
            return None
        return raw_mail[:-len(closing)] + _file_part(ours.group(1), file) + closing
    fields: list[list[bytes]] = []
    for line in head.split(CRLF):
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1].append(line)
        else:
            fields.append([line])
    outer: list[bytes] = []
    content: list[bytes] = []
    for field in fields:
        name = field[0].split(b":", 1)[0].strip().lower()
        if name.startswith(b"content-"):
            if name == b"content-type" and b"multipart/mixed" in b"".join(field).lower():
                return None          # already mixed (not ours): let the stdlib append the part
            content.extend(field)
        elif name != b"mime-version":
            outer.extend(field)
    if not content:
        content = [b'Content-Type: text/plain; charset="us-ascii"']
    b = _boundary(hashlib.sha256(raw_mail).hexdigest(), "mixed").encode("ascii")
    if b in raw_mail:
        return None
    if not body.endswith(CRLF):
        body += CRLF
    return b"".join((
        CRLF.join(outer), CRLF,
        b"MIME-Version: 1.0", CRLF,
        b'Content-Type: multipart/mixed;\r\n boundary="', b, b'"', CRLF, CRLF,
        b"--", b, CRLF,
        CRLF.join(content), CRLF, CRLF,
        body,
        _file_part(b, file),
        b"--", b, b"--", CRLF,
    ))


def _attach_stdlib(raw_mail: bytes, file: FileAttachment) -> bytes:
    from email import message_from_bytes

    msg = message_from_bytes(raw_mail, _class=EmailMessage, policy=SMTP)
    if not msg.is_multipart() or msg.get_content_type() != "multipart/mixed":
        msg.make_mixed()
    part = EmailMessage(policy=SMTP)
    maintype, _, subtype = file.content_type.partition("/")
    part.set_content(file.data, maintype=maintype or "application", subtype=subtype or "octet-stream",
                     filename=file.filename, cte="base64")
    msg.attach(part)
    return msg.as_bytes()
