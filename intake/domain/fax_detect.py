"""Fax-to-email from gateways that are not in channels.toml (pure).

Associations change fax providers without telling the admin, so a fax must be
recognised by what every gateway writes: a fax word in the subject, gateway
wording in a short body (발신번호, 수신 페이지, "Caller-ID", "Pages:"), vendor
headers (X-Fax-*, CSID/TSI) and a page set (PDF/TIFF) from a non-person sender.
``detect_fax_gateway`` scores these signals; ``parse_caller_number`` finds the
caller's number in Korean numbering (02, 0xx, 070, 050x, 15xx-xxxx) or the
gateway's "no caller ID" wording.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from intake.domain.contacts import normalize_kr_number
from intake.domain.records import Evidence, ParsedMail

#: A number as gateways write it: digits with spaces, dots, dashes, brackets, an optional +82 and (0).
_NUM = r"\+?\(?\d[\d \t().\-]{5,20}\d"
_CALLER_LABEL = re.compile(
    r"(발신\s*자?\s*(?:팩스\s*)?번호|보낸\s*(?:팩스\s*)?번호|발신\s*처|송신\s*번호|caller[\s-]*id|sender\s+fax\s+number|"
    r"\bani\b|\bcsid\b|\btsi\b|\bfrom\b|팩스\s*번호)\s*[:：|]?\s*\"?",
    re.IGNORECASE,
)
_NO_CALLER = re.compile(
    r"(발신\s*번호\s*(없음|미표시|비공개)|번호\s*없음|알\s*수\s*없음|표시\s*안\s*됨|미표시|"
    r"no\s+caller[\s-]*id|unknown(\s+caller)?|anonymous|not\s+provided|unavailable|private\s+number|withheld)",
    re.IGNORECASE,
)
_NUMBER_BEFORE = re.compile(rf"({_NUM})\s*(?:에서|로부터|님이)")
_REPRESENTATIVE = re.compile(r"^(1[5-9]\d{2})(\d{4})$")   # 1588-1234 type numbers


def normalise_caller(raw: str) -> str | None:
    """``02 588 1204`` → ``02-588-1204``; ``1588 3355`` → ``1588-3355``; None when not a Korean number."""
    text = unicodedata.normalize("NFKC", raw or "").replace("(0)", "")
    digits = re.sub(r"\D", "", text)
    rep = _REPRESENTATIVE.match(digits)
    if rep:
        return f"{rep.group(1)}-{rep.group(2)}"
    return normalize_kr_number(text)


@dataclass(frozen=True)
class CallerNumber:
    number: str | None          # normalised, e.g. 031-752-9031
    no_caller_id: bool          # the gateway said the caller withheld the number
    where: str                  # what was read: "label 발신번호", "no caller ID wording", ""

    @property
    def found(self) -> bool:
        return self.number is not None or self.no_caller_id


NOT_FOUND = CallerNumber(None, False, "")


def parse_caller_number(text: str) -> CallerNumber:
    """The caller's number in gateway text (subject, body or a header value).

    A number right after a caller label (발신번호, 보낸 팩스번호, Caller-ID, From, ANI,
    CSID) wins; then a number before 에서 ("070-1234-5678 에서 2장"); then the
    "no caller ID" wording after such a label or alone.
    """
    text = unicodedata.normalize("NFKC", text or "")
    for m in _CALLER_LABEL.finditer(text):
        tail = text[m.end():m.end() + 40]
        num = re.match(_NUM, tail)
        if num:
            value = normalise_caller(num.group(0))
            if value:
                return CallerNumber(value, False, f"label {m.group(1).strip()!r}")
        if _NO_CALLER.match(tail.strip().strip('"')):
            return CallerNumber(None, True, f"label {m.group(1).strip()!r} says no caller ID")
    m = _NUMBER_BEFORE.search(text)
    if m and normalise_caller(m.group(1)):
        return CallerNumber(normalise_caller(m.group(1)), False, "number before 에서")
    if _NO_CALLER.search(text):
        return CallerNumber(None, True, "no caller ID wording")
    return NOT_FOUND


# --------------------------------------------------------------------------- detection

_SUBJECT_FAX = re.compile(r"(팩\s*스|fax|\bvfax\b|팩스\s*수신|팩스\s*도착)", re.IGNORECASE)
_BODY_FAX = [
    re.compile(r"팩스\s*(가|를|이)?\s*(수신|도착|왔|들어)"),
    re.compile(r"(수신\s*(페이지|매수|장수|일시)|페이지\s*수|매\s*수\s*[:：|]|\d+\s*(장|매)의?\s*팩스)"),
    re.compile(r"(발신\s*자?\s*(팩스\s*)?번호|보낸\s*(팩스\s*)?번호|송신\s*번호)"),
    re.compile(r"(received\s+a\s+(new\s+)?(\d+[\s-]*page\s+)?fax|new\s+fax|fax\s+(message|received|has\s+arrived)|"
               r"fax\s+is\s+attached|page\s*\(s\)|\bpages?\s*:\s*\d|caller[\s-]*id|\bcsid\b|\bani\b)", re.IGNORECASE),
]
_ROBOT_SENDER = re.compile(r"^(no-?reply|noreply|do-?not-?reply|fax|e?fax\w*|vfax|webfax|\w*fax\w*|message|service|"
                           r"notify|notification|mailer)[@.+_-]", re.IGNORECASE)
_FAX_HEADERS = ("x-fax-", "x-csid", "x-tsi", "x-rightfax", "x-efax")
_PAGE_TYPES = ("application/pdf", "image/tiff", "image/tif")
_PAGE_EXT = (".pdf", ".tif", ".tiff")

#: Score at which a mail with a page attachment is taken for a fax.
FAX_THRESHOLD = 5.0


@dataclass(frozen=True)
class FaxGuess:
    score: float
    caller: CallerNumber
    evidence: tuple[Evidence, ...]
    sender: str


def _pages(mail: ParsedMail) -> list[str]:
    return [a.filename for a in mail.attachments
            if a.content_type.lower() in _PAGE_TYPES or (a.filename or "").lower().endswith(_PAGE_EXT)]


def _vendor_headers(mail: ParsedMail) -> list[tuple[str, str]]:
    return [(k, v) for k, v in mail.headers if k.startswith(_FAX_HEADERS)]


def detect_fax_gateway(mail: ParsedMail) -> FaxGuess | None:
    """A fax from an unconfigured gateway, or None. Needs a PDF/TIFF page and enough gateway signals."""
    pages = _pages(mail)
    if not pages:
        return None
    ev: list[Evidence] = []
    score = 0.0

    def add(rule: str, detail: str, points: float) -> None:
        nonlocal score
        score += points
        ev.append(Evidence(f"channel.fax-any.{rule}", detail, points))

    add("pages", f"page attachment {pages[0]}", 1.5)
    vendor = _vendor_headers(mail)
    if vendor:
        add("vendor-header", f"{vendor[0][0]}: {vendor[0][1][:40]}", 3.0)
    subject = mail.subject or ""
    sm = _SUBJECT_FAX.search(subject)
    if sm:
        add("subject", f"subject {subject[:60]!r} says {sm.group(0)!r}", 2.0)
    body = (mail.text or "")[:3000]
    hits = [p.search(body) for p in _BODY_FAX]
    hits = [h.group(0) for h in hits if h]
    if hits:
        add("text", f"gateway wording in the text: {hits[:3]}", min(3.0, 1.0 * len(hits)))
    sender = (mail.from_address or "").lower()
    if _ROBOT_SENDER.match(sender):
        add("sender", f"sender {sender} is a notification address", 1.0)
    if len(body.strip()) > 900:
        add("long-text", "long text (gateway notices are short)", -3.0)
    if score < FAX_THRESHOLD:
        return None
    caller = caller_from_gateway(mail)
    return FaxGuess(score, caller, tuple(ev), sender)


def caller_from_gateway(mail: ParsedMail) -> CallerNumber:
    """Caller number from the gateway's own words: vendor headers, subject, then body."""
    for name, value in _vendor_headers(mail):
        if any(k in name for k in ("caller", "csid", "tsi", "ani", "from")):
            number = normalise_caller(value)
            if number:
                return CallerNumber(number, False, f"header {name}")
    for where, text in (("subject", mail.subject or ""), ("text", (mail.text or "")[:3000])):
        found = parse_caller_number(text)
        if found.found:
            return CallerNumber(found.number, found.no_caller_id, f"{where}: {found.where}")
    return NOT_FOUND


def config_line(sender: str) -> str:
    """The channels.toml entry an admin adds for a newly seen gateway."""
    rid = re.sub(r"[^a-z0-9]+", "-", sender.split("@")[-1].lower()).strip("-") or "new-gateway"
    return (f"[[fax]]\nid = \"{rid}\"\nsenders = ['^{re.escape(sender)}$']\nsubjects = []")
