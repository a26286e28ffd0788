"""Automatic replies written without any RFC 3834 header (pure; issue 15 item 3).

``kinds.auto_reply_text_score`` reads the classic out-of-office words; this module adds
what it misses: absence notices (연구년, 육아휴직, "currently travelling", "away from my
desk"), automatic receipts ("정상적으로 접수되었습니다", "this is an automated response",
ticket numbers, "발신 전용"), and a reply that only quotes our acknowledgement unchanged.
Scores add to the kinds text score; request wording still counts against (in kinds).
"""

from __future__ import annotations

import re
import unicodedata

from intake.domain.records import Evidence

_ABSENCE = re.compile(
    r"(연구년|육아\s*휴직|출산\s*휴가|병가|외근\s*중|출장\s*중|휴가\s*중|부재\s*중|자리를\s*비웠|"
    r"메일\s*확인이\s*(어렵|늦)|(회신|답장|답변|연락)(이|을)?\s*늦|복귀\s*(후|하여|하면|예정)|이후\s*(회신|답장|연락)\s*드리|"
    r"currently\s+(travel?ling|away|out)|away\s+from\s+my\s+desk|(annual|parental|sick)\s+leave|"
    r"out\s+of\s+(the\s+)?office|no\s+access\s+to\s+(my\s+)?e-?mail|limited\s+access|"
    r"will\s+(reply|respond|get\s+back)\s+[^.\n]{0,40}(after|when\s+i\s+return|upon\s+my\s+return)|will\s+be\s+back\s+on)",
    re.IGNORECASE,
)
_RECEIPT = re.compile(
    r"((메일|문의|민원)(이|은|하신\s*내용이)?\s*(정상적으로\s*)?접수되었습니다|잘\s*받았습니다|발신\s*전용|"
    r"영업일\s*기준|순서대로\s*(답변|회신|답장)|자동\s*(으로\s*)?(발송|회신|응답)|\[\s*자동\s*응답\s*\]|"
    r"this\s+is\s+an\s+auto(mated|matic)?(ally)?[\s-]*(generated\s+)?(response|reply|message)|"
    r"automatically\s+generated|we\s+have\s+received\s+your\s+(message|e-?mail|request)|"
    r"ticket\s*(#|number|no\.?)\s*\d+|this\s+mailbox\s+is\s+monitored|(aim|try)\s+to\s+(reply|respond)\s+within|"
    r"thank\s+you\s+for\s+(contacting|reaching\s+out|your\s+e-?mail))",
    re.IGNORECASE,
)
_SUBJECT = re.compile(r"(\[\s*(접수\s*완료|자동\s*회신|자동\s*응답|ticket\s*#?\d+)\s*\]|^\s*away\b|휴직|we\s+received\s+your|"
                      r"received\s+your\s+message|out\s+of\s+office|\bautomatic\b)", re.IGNORECASE)
#: Where quoted text starts in a reply.
_QUOTE_START = re.compile(r"^\s*(>|-{2,}\s*(original\s+message|원본\s*메시지|forwarded)|(보낸\s*사람|from)\s*:|"
                          r"on\s.{0,80}wrote:|.{0,60}작성:)", re.IGNORECASE | re.MULTILINE)
_OUR_ACK = re.compile(r"(민원이\s*정상적으로\s*접수되었습니다|\[접수\s*\d{4}-\d{6}\]\s*표시를\s*지우지)")


def new_text(text: str) -> str:
    """What the sender wrote above the first quoted block."""
    m = _QUOTE_START.search(text or "")
    return (text or "")[: m.start()] if m else (text or "")


def quotes_our_ack_only(text: str) -> bool:
    """A reply whose only content is our acknowledgement, quoted unchanged."""
    if not _OUR_ACK.search(text or ""):
        return False
    return not re.sub(r"[\s\W_]+", "", new_text(text))


def without_receipt_wording(text: str) -> str:
    """The text without automatic-receipt phrases (their 문의/요청 words ask nothing)."""
    return _RECEIPT.sub(" ", text or "")


def extra_auto_reply_score(subject: str, text: str) -> tuple[float, list[Evidence]]:
    """Score added to ``auto_reply_text_score``; a quoted-only acknowledgement is decisive (10)."""
    subject = unicodedata.normalize("NFC", subject or "")
    text = unicodedata.normalize("NFC", text or "")
    if quotes_our_ack_only(text):
        return 10.0, [Evidence("kind.auto.quoted-ack-only",
                               "the reply only quotes our acknowledgement, unchanged (an automatic receipt)", 10.0)]
    own = new_text(text)[:1500]
    ev: list[Evidence] = []
    score = 0.0
    absence = {m.group(0).lower() for m in _ABSENCE.finditer(own)}
    if absence:
        pts = 2.0 if len(absence) == 1 else 3.0
        score += pts
        ev.append(Evidence("kind.auto.absence", f"absence notice wording: {sorted(absence)[:3]}", pts))
    receipt = {m.group(0).lower() for m in _RECEIPT.finditer(own)}
    if receipt:
        pts = 2.0 if len(receipt) == 1 else 3.0
        score += pts
        ev.append(Evidence("kind.auto.receipt", f"automatic receipt wording: {sorted(receipt)[:3]}", pts))
    if (absence or receipt) and len(own.strip()) < 300:
        score += 1.0
        ev.append(Evidence("kind.auto.short", "a short notice (automatic replies are a few lines)", 1.0))
    sm = _SUBJECT.search(subject)
    if sm:
        score += 1.0
        ev.append(Evidence("kind.auto.subject-extra", f"subject says {sm.group(0)!r}", 1.0))
    return score, ev
