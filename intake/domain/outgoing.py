"""Compose outgoing mail bytes from a rendered template (pure: ids and time are given).

Header values that came from customers (their subject, their name) are reduced
to one line before they reach a header, and any other value holding a control
character is refused (ValueError): a customer cannot inject headers.

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
from email.charset import BASE64, Charset
from email.header import Header
from email.message import EmailMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import SMTP, compat32
from email.utils import format_datetime, formataddr

from intake.domain.records import RenderedMail

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\x85]+")

CRLF = b"\r\n"
MAX_LINE = 78          # RFC 5322 "SHOULD"; the hard limit is 998


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


# ------------------------------------------------------------------ compose


def _boundary(seed: str, kind: str) -> str:
    # "=_" cannot occur in base64 text, and every part we write is base64. Derived from the
    # Message-ID, so that composing the same mail twice gives the same bytes.
    return f"=_{kind}_{hashlib.sha256(seed.encode('utf-8', 'surrogatepass')).hexdigest()[:32]}"


_WIRE = compat32.clone(linesep="\r\n", max_line_length=MAX_LINE)
_UTF8 = Charset("utf-8")
_UTF8.header_encoding = BASE64
_UTF8.body_encoding = BASE64
_CONTROL_IN_FIELD = re.compile(r"[\x00-\x1f\x7f]")


def _checked(name: str, value: str) -> str:
    """A header value from our own config or ids: a control character in it is a bug or an
    injection attempt, never folded away."""
    if _CONTROL_IN_FIELD.search(value):
        raise ValueError(f"{name} holds a control character: {value!r}")
    return value


def _unstructured(name: str, value: str) -> str | Header:
    """Plain ASCII as it is; anything else in RFC 2047 encoded words. Text that merely looks like
    an encoded word is encoded too, or every reader would decode it."""
    if value.isascii() and "=?" not in value:
        return value
    return Header(value, _UTF8, maxlinelen=MAX_LINE - 2, header_name=name)


def _text_part(text: str, subtype: str) -> MIMEText:
    part = MIMEText("\r\n".join(text.splitlines()) + "\r\n", subtype, _UTF8)    # canonical CRLF, base64
    del part["MIME-Version"]
    return part


def compose(rendered: RenderedMail, env: Envelope) -> bytes:
    """The mail's bytes, by the stdlib's ``email`` package (its compat32 message API: the header
    registry of ``EmailMessage`` parses and refolds every header again, 3 ms a mail)."""
    if rendered.html:
        msg = MIMEMultipart("alternative", boundary=_boundary(env.message_id, "alt"))
        msg.attach(_text_part(rendered.text, "plain"))
        msg.attach(_text_part(rendered.html, "html"))
    else:
        msg = _text_part(rendered.text, "plain")
        msg["MIME-Version"] = "1.0"
    msg["From"] = formataddr((one_line(env.from_name), _checked("From", env.from_address)), charset=_UTF8)
    msg["To"] = _checked("To", ", ".join(env.to))
    msg["Subject"] = _unstructured("Subject", one_line(rendered.subject, 900))
    msg["Date"] = format_datetime(env.date)
    msg["Message-ID"] = _checked("Message-ID", env.message_id)
    if env.in_reply_to:
        msg["In-Reply-To"] = one_line(env.in_reply_to)
    refs = [one_line(r) for r in env.references if r]
    if refs:
        msg["References"] = " ".join(refs[-20:])
    if env.reply_to:
        msg["Reply-To"] = _checked("Reply-To", env.reply_to)
    if env.auto_submitted:
        msg["Auto-Submitted"] = env.auto_submitted
    if env.case_ref:
        msg["X-Intake-Case"] = _checked("X-Intake-Case", env.case_ref)
    msg["X-Intake-Template"] = _checked("X-Intake-Template", f"{rendered.template} {rendered.template_version}")
    return msg.as_bytes(policy=_WIRE)


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
