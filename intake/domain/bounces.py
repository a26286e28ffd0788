"""Delivery reports (bounces): how strongly a message reads like one, and what it says.

Pure helpers for ``intake.domain.kinds.decide_kind``: ``bounce_signals`` scores a message
as a delivery-failure report (RFC 3464 DSN, mail-system sender, null Return-Path, wording);
``bounce_facts`` pulls out the failed recipient, status and action; ``bounce_case_ref``
finds the case the returned original belonged to.
"""

from __future__ import annotations

import email
import email.header
import email.policy
import re
from dataclasses import dataclass, field
from typing import Callable

from intake.domain.records import Evidence, ParsedMail
from intake.domain.threading_ import extract_refs, find_case_ref

KnownIds = Callable[[str], "str | None"]

_BOUNCE_SENDER = re.compile(r"^(post_master|mailer-daemon|mailer_daemon|mail-daemon|maildaemon|postmaster|mail\.delivery\.system|"
                            r"mailerdaemon|bounce[s]?|mdaemon|microsoftexchange[0-9a-f]*)(@|$)", re.IGNORECASE)
_BOUNCE_SUBJECT = re.compile(
    r"(undeliver|undelivered|not\s+delivered|delivery\s+(status\s+notification|failure|has\s+failed|failed|problem|report|notification)|"
    r"returned\s+mail|returned\s+to\s+sender|failure\s+notice|mail\s+delivery\s+(failed|failure|system|subsystem)|"
    r"could\s+not\s+be\s+delivered|delivery\s+unsuccessful|non.?delivery|nondeliverable|mail\s+system\s+error|"
    r"message\s+(delivery\s+)?(failure|not\s+delivered|undeliverable)|rejected|bounce|error\s+sending|"
    r"fail(ed|ure)?\s+delivery|mail\s+failed|returning\s+to\s+sender|(message|mail|delivery)\b.{0,40}\bdelayed|"
    r"メール配送|配信|エラー通知|배달\s*실패|전송\s*실패|반송|발송\s*실패|수신\s*실패|delivery\s+status)",
    re.IGNORECASE,
)
_BOUNCE_BODY = re.compile(
    r"(could\s+not\s+be\s+delivered|couldn't\s+be\s+delivered|undeliverable|permanent\s+(fatal\s+)?error|"
    r"delivery\s+to\s+the\s+following\s+recipient(s)?\s+failed|user\s+unknown|unknown\s+user|no\s+such\s+user|"
    r"mailbox\s+(unavailable|full|is\s+full|not\s+found|disabled)|host\s+(unknown|not\s+found)|"
    r"message\s+could\s+not|delivery\s+has\s+failed|returned\s+to\s+sender|this\s+is\s+the\s+mail\s+system|"
    r"failed\s+permanently|recipient\s+address\s+rejected|was\s+not\s+delivered|delivery\s+failed|"
    r"unable\s+to\s+deliver|error\s+(delivering|has\s+occurred\s+while\s+attempting\s+to\s+deliver)|"
    r"not\s+(yet\s+)?been\s+delivered|no\s+valid\s+recipients|transcript\s+of\s+session|"
    r"送信できません|届きませんでした|"
    r"\b5\.\d{1,3}\.\d{1,3}\b|\b55[0-4][\s-]|배달\s*(되지|실패)|전송\s*(되지|실패)|수신자를\s*찾을\s*수)",
    re.IGNORECASE,
)
_STATUS = re.compile(r"\b([245]\.\d{1,3}\.\d{1,3})\b")
_ADDR = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")


def header_param(value: str | None, name: str) -> str | None:
    if not value:
        return None
    m = re.search(rf"{name}\s*=\s*\"?([^\";\s]+)", value, re.IGNORECASE)
    return m.group(1).lower() if m else None


@dataclass
class _Dsn:
    recipients: list[str] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)


def parse_delivery_status(text: str) -> _Dsn:
    """Final-/Original-Recipient, Status and Action from a message/delivery-status body."""
    dsn = _Dsn()
    text = text.replace("\r\n", "\n")
    # unfold continuation lines
    text = re.sub(r"\n[ \t]+", " ", text)
    finals, originals = [], []
    for line in text.split("\n"):
        m = re.match(r"\s*(final-recipient|original-recipient|x-actual-recipient|status|action)\s*:\s*(.*)", line, re.IGNORECASE)
        if not m:
            continue
        name, value = m.group(1).lower(), m.group(2).strip()
        if name in ("final-recipient", "original-recipient", "x-actual-recipient"):
            addr = value.split(";", 1)[-1].strip().strip("<>").strip()
            addr_m = _ADDR.search(addr)
            if addr_m:
                (finals if name != "original-recipient" else originals).append(addr_m.group(0).lower())
        elif name == "status":
            s = _STATUS.search(value)
            if s:
                dsn.statuses.append(s.group(1))
        elif name == "action":
            dsn.actions.append(value.lower().split()[0] if value else "")
    dsn.recipients = originals or finals
    # Prefer Final-Recipient (what failed) when both exist; Original is what we wrote.
    if finals and originals:
        dsn.recipients = originals
    return dsn


def _decode_payload(payload: bytes) -> str:
    for cs in ("utf-8", "cp949", "latin-1"):
        try:
            return payload.decode(cs)
        except UnicodeDecodeError:
            continue
    return payload.decode("utf-8", "replace")


def _returned_headers(mail: ParsedMail) -> list[tuple[str | None, str | None, str | None]]:
    """(message-id, subject, to) of the returned original(s), from message/rfc822 or
    text/rfc822-headers attachments, else from header-looking lines in the body."""
    out = []
    for a in mail.attachments:
        ct = a.content_type.lower()
        if ct in ("message/rfc822", "text/rfc822-headers", "message/rfc822-headers", "message/global",
                  "message/global-headers"):
            try:
                msg = email.message_from_string(_decode_payload(a.payload), policy=email.policy.compat32)
                subj = msg.get("subject")
                if subj is not None:
                    subj = str(subj)
                    if "=?" in subj:
                        subj = str(email.header.make_header(email.header.decode_header(subj)))
                    subj = re.sub(r"\s*\n\s*", " ", subj)
                out.append((msg.get("message-id"), subj, msg.get("to")))
            except Exception:
                continue
    if not out:
        text = mail.text or ""
        mid = re.search(r"^\s*>?\s*message-id:\s*(<[^>\s]+>)", text, re.IGNORECASE | re.MULTILINE)
        subj = re.search(r"^\s*>?\s*subject:\s*(.+)$", text, re.IGNORECASE | re.MULTILINE)
        if mid or subj:
            s = subj.group(1).strip() if subj else None
            if s and "=?" in s:
                try:
                    s = str(email.header.make_header(email.header.decode_header(s)))
                except Exception:
                    pass
            out.append((mid.group(1) if mid else None, s, None))
    return out


def bounce_facts(mail: ParsedMail, own_addresses: frozenset[str]) -> tuple[str | None, str | None, str | None, list[Evidence]]:
    """failed recipient, status, action, evidence."""
    ev: list[Evidence] = []
    dsn = _Dsn()
    for a in mail.attachments:
        if a.content_type.lower() in ("message/delivery-status", "message/global-delivery-status"):
            d = parse_delivery_status(_decode_payload(a.payload))
            dsn.recipients += d.recipients
            dsn.statuses += d.statuses
            dsn.actions += d.actions
    if not dsn.recipients and re.search(r"^\s*(final|original)-recipient\s*:", mail.text or "", re.IGNORECASE | re.MULTILINE):
        dsn = parse_delivery_status(mail.text or "")
    recipient = dsn.recipients[0] if dsn.recipients else None
    status = dsn.statuses[0] if dsn.statuses else None
    action = dsn.actions[0] if dsn.actions else None
    if recipient:
        ev.append(Evidence("kind.bounce.dsn-recipient", f"delivery-status names {recipient} (status {status}, action {action})"))
    if not recipient:
        failed = mail.header("x-failed-recipients")
        if failed and _ADDR.search(failed):
            recipient = _ADDR.search(failed).group(0).lower()
            ev.append(Evidence("kind.bounce.x-failed-recipients", recipient))
    if not recipient:
        own = {x.lower() for x in own_addresses}
        sender = (mail.from_address or "").lower()
        text = mail.text or ""
        # Text before the returned message; prefer an address near an error code/phrase.
        cut = re.search(r"(-{2,}\s*(original message|returned message|below this line)|^received:|^return-path:)",
                        text, re.IGNORECASE | re.MULTILINE)
        head = text[: cut.start()] if cut else text
        cands = [m for m in _ADDR.finditer(head) if m.group(0).lower() not in own and m.group(0).lower() != sender
                 and not _BOUNCE_SENDER.match(m.group(0))]
        if cands:
            recipient = cands[0].group(0).lower().strip(".")
            ev.append(Evidence("kind.bounce.text-recipient", f"first foreign address in the failure text: {recipient}"))
    if not status:
        # From the failure text: prefer a failure code (4.x.x / 5.x.x) over a transcript's 2.x.x.
        codes = _STATUS.findall(mail.text or "")
        bad = [c for c in codes if not c.startswith("2.")]
        if bad:
            status = bad[0]
    return recipient, status, action, ev


def bounce_case_ref(mail: ParsedMail, known: KnownIds | None) -> tuple[str | None, list[Evidence]]:
    for mid, subj, _to in _returned_headers(mail):
        if mid and known is not None:
            mid = mid.strip()
            ref = known(mid)
            if ref:
                return ref, [Evidence("kind.bounce.returned-message-id", f"returned message {mid} is ours for case {ref}")]
        if subj:
            refs = extract_refs(subj)
            if refs:
                return refs[0], [Evidence("kind.bounce.returned-subject", f"returned subject names case {refs[0]}")]
    ref, ev = find_case_ref(mail, known)
    if ref:
        return ref, list(ev)
    refs = extract_refs(mail.text or "") or extract_refs(mail.text or "", body=True)
    if refs:
        return refs[0], [Evidence("kind.bounce.text-ref", f"case {refs[0]} in the returned text")]
    return None, []


def bounce_signals(mail: ParsedMail) -> tuple[float, list[Evidence], str | None]:
    """Score for "this is a delivery report"; also returns report-type."""
    ev: list[Evidence] = []
    score = 0.0
    ctype_header = mail.header("content-type") or ""
    report_type = header_param(ctype_header, "report-type") if mail.content_type == "multipart/report" else None
    has_ds = any(a.content_type.lower() in ("message/delivery-status", "message/global-delivery-status") for a in mail.attachments)
    if report_type == "delivery-status" or has_ds:
        score += 10
        ev.append(Evidence("kind.bounce.dsn", "multipart/report; report-type=delivery-status (RFC 3464)", 10))
    sender = mail.from_address or ""
    if _BOUNCE_SENDER.match(sender) or re.search(r"mailer[-_ ]?daemon|mail\s+deliver(y|er)\s+(system|subsystem)",
                                                 mail.from_name or "", re.IGNORECASE):
        score += 2
        ev.append(Evidence("kind.bounce.sender", f"sender {sender or mail.from_name} is a mail system", 2))
    rp = mail.header("return-path")
    if rp is not None and rp.strip().lower() in ("<>", "", "<mailer-daemon>"):
        score += 1
        ev.append(Evidence("kind.bounce.null-return-path", "Return-Path <>", 1))
    if _BOUNCE_SUBJECT.search(mail.subject or ""):
        score += 2
        ev.append(Evidence("kind.bounce.subject", f"subject {mail.subject[:60]!r} reads like a delivery failure", 2))
    body_hits = {m.group(0).lower() for m in _BOUNCE_BODY.finditer((mail.text or "")[:6000])}
    if body_hits:
        pts = 1.5 if len(body_hits) == 1 else 2.5
        score += pts
        ev.append(Evidence("kind.bounce.text", f"failure wording in the text: {sorted(body_hits)[:3]}", pts))
    if mail.header("x-failed-recipients"):
        score += 3
        ev.append(Evidence("kind.bounce.x-failed-recipients", "X-Failed-Recipients header", 3))
    if any(a.content_type.lower() in ("message/rfc822", "text/rfc822-headers") for a in mail.attachments) and score >= 2:
        score += 1
        ev.append(Evidence("kind.bounce.returned-message", "returned original attached", 1))
    return score, ev, report_type
