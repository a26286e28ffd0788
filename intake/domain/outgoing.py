"""Compose outgoing mail bytes from a rendered template (pure: ids and time are given).

Header values that came from customers (their subject, their name) are reduced
to one line before they reach a header, and the stdlib's SMTP policy refuses
any remaining CR/LF, so a customer cannot inject headers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from intake.domain.records import RenderedMail

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\x85]+")


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


def compose(rendered: RenderedMail, env: Envelope) -> bytes:
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


def attach_original(raw_mail: bytes, original: bytes, filename: str = "original.eml") -> bytes:
    """Attach a received message (as message/rfc822) to a composed mail."""
    from email import message_from_bytes

    msg = message_from_bytes(raw_mail, _class=EmailMessage, policy=SMTP)
    if not msg.is_multipart() or msg.get_content_type() != "multipart/mixed":
        msg.make_mixed()
    part = EmailMessage(policy=SMTP)
    part.set_content(original, maintype="application", subtype="octet-stream",
                     filename=filename, cte="base64")
    # Sent as a base64 .eml file rather than message/rfc822: 8-bit originals (raw cp949
    # headers) are not valid inside a message/rfc822 part and some MTAs would rewrite them.
    msg.attach(part)
    return msg.as_bytes()
