"""Contact details from free text (mail bodies, OCR'd fax/post pages)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Iterable

from intake.domain.records import Contact

# Korean area / service prefixes (without the leading 0 handled separately).
_AREA3 = {
    "031", "032", "033", "041", "042", "043", "044", "051", "052", "053", "054", "055",
    "061", "062", "063", "064", "070", "080", "010", "011", "016", "017", "018", "019", "060",
}

_SEP = r"[ \t.\-‐‑–—)]{0,3}"
# Korean numbers: (02) 123-4567, 02.1234.5678, 031 254 7719, 010-1234-5678, 0234712291, +82 2 ...
_KR_PHONE = re.compile(
    r"(?<![\d+\-])(?:\+\s?82[ \t.\-]*\(?0?\)?[ \t.\-]*|\(?(?=0))"
    r"(0?\d{1,3})" + _SEP + r"(\d{3,4})[ \t.\-‐‑–—]{0,3}(\d{4})(?![\d\-])"
)
# Foreign numbers kept as written: +47-22-555-0133, +1 714 555 0126
_INTL_PHONE = re.compile(r"(?<![\w+])\+(?!82)\d{1,3}(?:[ .\-]\(?\d{1,5}\)?){2,5}(?!\d)")
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
EMAIL_PATTERN = _EMAIL      # public: an e-mail address inside free text

_FAX_LABEL = re.compile(r"(팩스|팩\s*스|fax|facsimile|\bF\s*[.:)]|전송)", re.IGNORECASE)
_MOBILE_LABEL = re.compile(r"(휴대폰|휴대전화|핸드폰|모바일|mobile|cell|\bHP\b|\bM\s*[.:)])", re.IGNORECASE)
_TEL_LABEL = re.compile(r"(연\s*락\s*처|전\s*화|tel|phone|\bT\s*[.:)]|대표번호|직통)", re.IGNORECASE)
_OPTOUT_LABEL = re.compile(r"(수신\s*거부|무료\s*거부|opt.?out|unsubscribe)", re.IGNORECASE)


def normalize_kr_number(raw: str) -> str | None:
    """Digits of a Korean number in the usual written form, e.g. ``02-3471-2291``.

    Accepts any separators and ``+82``; returns None when the digits do not form
    a plausible Korean telephone number.
    """
    s = unicodedata.normalize("NFKC", raw or "")
    digits = re.sub(r"\D", "", s)
    if s.strip().startswith("+82") or (digits.startswith("82") and not digits.startswith("0")):
        digits = digits[2:]
        if not digits.startswith("0"):
            digits = "0" + digits
    if not digits.startswith("0"):
        return None
    if digits.startswith("02"):
        rest = digits[2:]
        if len(rest) == 7:
            return f"02-{rest[:3]}-{rest[3:]}"
        if len(rest) == 8:
            return f"02-{rest[:4]}-{rest[4:]}"
        return None
    if digits.startswith("050") and len(digits) in (11, 12):  # 0505-xxx(x)-xxxx
        area, rest = digits[:4], digits[4:]
    else:
        area, rest = digits[:3], digits[3:]
        if area not in _AREA3:
            return None
    if len(rest) == 7:
        return f"{area}-{rest[:3]}-{rest[3:]}"
    if len(rest) == 8:
        return f"{area}-{rest[:4]}-{rest[4:]}"
    return None


@dataclass(frozen=True)
class PhoneHit:
    number: str      # normalised (Korean) or as written (foreign)
    label: str       # "fax" | "mobile" | "tel" | "optout" | ""
    position: int
    line: str


def _label_for(text: str, start: int) -> str:
    line_start = text.rfind("\n", 0, start) + 1
    before = text[line_start:start]
    # Only the text just before the number (labels sit right in front of it).
    window = before[-14:]
    # "T. 02-...  |  F. 02-..." : only look after the last separator.
    window = re.split(r"[|/,;]", window)[-1]
    if _OPTOUT_LABEL.search(before):
        return "optout"
    for name, pat in (("fax", _FAX_LABEL), ("mobile", _MOBILE_LABEL), ("tel", _TEL_LABEL)):
        if pat.search(window):
            return name
    # "(전화 02-...)", "보내는 곳: 기관 (02-...)": a tel label anywhere before on the line.
    if _FAX_LABEL.search(before[-30:]) and not _TEL_LABEL.search(before[-30:]):
        return "fax"
    if _TEL_LABEL.search(before):
        return "tel"
    return ""


def find_phones(text: str) -> list[PhoneHit]:
    text = unicodedata.normalize("NFC", text or "")
    hits: list[PhoneHit] = []
    taken: list[tuple[int, int]] = []
    for m in _KR_PHONE.finditer(text):
        num = normalize_kr_number(m.group(0))
        if not num:
            continue
        line = text[text.rfind("\n", 0, m.start()) + 1: (text.find("\n", m.end()) + 1 or len(text) + 1) - 1]
        hits.append(PhoneHit(num, _label_for(text, m.start()), m.start(), line))
        taken.append(m.span())
    for m in _INTL_PHONE.finditer(text):
        if any(a <= m.start() < b for a, b in taken):
            continue
        line = text[text.rfind("\n", 0, m.start()) + 1: (text.find("\n", m.end()) + 1 or len(text) + 1) - 1]
        hits.append(PhoneHit(m.group(0).strip(), _label_for(text, m.start()), m.start(), line))
    hits.sort(key=lambda h: h.position)
    return hits


def _dedupe(items: Iterable[str]) -> tuple[str, ...]:
    out: list[str] = []
    for i in items:
        if i not in out:
            out.append(i)
    return tuple(out)


_QUOTE_HEADERS = re.compile(
    r"^(-{3,}\s*original message\s*-{3,}|-{3,}\s*원본 메시지\s*-{3,}|-{3,}\s*forwarded message\s*-{3,}"
    r"|on .{4,120} wrote:\s*$|.{2,80}님이 작성:\s*$)",
    re.IGNORECASE | re.MULTILINE,
)


def split_quoted(text: str) -> list[tuple[str, str]]:
    """Split a body into blocks: ("own", text) then ("quoted", text) blocks.

    Each quoted block starts at an "Original Message"/"wrote:" marker; lines
    starting with ">" belong to the quoted block.
    """
    text = text or ""
    marks = [m.start() for m in _QUOTE_HEADERS.finditer(text)]
    bounds = [0] + marks + [len(text)]
    blocks: list[tuple[str, str]] = []
    for i in range(len(bounds) - 1):
        chunk = text[bounds[i]:bounds[i + 1]]
        if i == 0:
            own = "\n".join(l for l in chunk.splitlines() if not l.lstrip().startswith(">"))
            quoted = "\n".join(l for l in chunk.splitlines() if l.lstrip().startswith(">"))
            blocks.append(("own", own))
            if quoted:
                blocks.append(("quoted", quoted))
        else:
            blocks.append(("quoted", chunk))
    return blocks


def strip_quoted_from(text: str, own_addresses: Iterable[str] = (), own_domains: Iterable[str] = ()) -> str:
    """Drop quoted blocks written by us (our acknowledgement quoted in a reply).

    Quoted blocks from someone else (a staff forward of the customer's mail)
    stay: they are the request.
    """
    addrs = {a.lower() for a in own_addresses}
    doms = {d.lower().lstrip("@") for d in own_domains}
    kept: list[str] = []
    for kind, chunk in split_quoted(text):
        if kind == "quoted":
            head = chunk[:600].lower()
            m = re.search(r"(?:from|보낸\s*사람)\s*:?[^\n]*?([\w.+-]+@[\w.-]+)", head)
            sender = m.group(1) if m else ""
            if m is None and chunk.lstrip().startswith(">"):
                # "On ... wrote:" line was split off, or '>' lines: decide by the marker line.
                sender = ""
            marker = head.splitlines()[0] if head else ""
            mails = re.findall(r"[\w.+-]+@[\w.-]+", marker)
            if mails and not sender:
                sender = mails[0]
            if sender and (sender in addrs or sender.split("@")[-1] in doms):
                continue
            if not sender and kind == "quoted" and chunk.lstrip().startswith(">"):
                continue
        kept.append(chunk)
    return "\n".join(kept)


_NAME_LABEL = re.compile(
    r"(?:성\s*명|이\s*름|담\s*당\s*자|신\s*청\s*인|보내는\s*사람|name)(?:\s*[:：]\s*|[ \t]+)([가-힣]{2,4})(?![가-힣])",
    re.IGNORECASE,
)
_NAME_SIGN = re.compile(r"(?:^|\s)([가-힣]{2,4})\s*(?:드림|올림|배상)\s*$", re.MULTILINE)
_NAME_INTRO = re.compile(r"([가-힣]{2,4})\s*(?:[가-힣]{1,5}\s)?(?:입니다|이라고 합니다|라고 합니다)")
_TITLES = {"팀장", "부장", "차장", "과장", "대리", "주임", "사원", "간사", "국장", "이사", "대표", "실장", "고문",
           "연구원", "사무국장", "사무처장", "활동가", "선임연구원", "기자", "교수", "원장", "센터장", "담당"}

_PREF_PATTERNS = [
    ("phone", re.compile(r"(전화|유선|휴대폰|핸드폰)\s*(?:로|으로)?\s*(?:연락|회신|답변|답장|알려|주시|주십|부탁|안내|통화)")),
    ("phone", re.compile(r"(전화\s*회신|전화\s*주시|전화\s*부탁|call me|by phone|by telephone)", re.IGNORECASE)),
    ("fax", re.compile(r"(팩스|fax)\s*(?:로|으로)\s*(?:회신|답변|답장|알려|보내\s*주|부탁|안내)|(?:reply|respond|answer) by fax", re.IGNORECASE)),
    ("email", re.compile(r"(이메일|메일|e-?mail)\s*(?:로|으로)\s*(?:회신|답변|답장|알려|보내\s*주|연락|부탁|안내)|(?:reply|respond|answer) by e-?mail", re.IGNORECASE)),
    ("post", re.compile(r"(우편|등기)\s*(?:로|으로)\s*(?:회신|답변|답장|보내\s*주|송부)")),
]


def preferred_reply(text: str) -> str | None:
    best: tuple[int, str] | None = None
    for kind, pat in _PREF_PATTERNS:
        m = pat.search(text or "")
        if m and (best is None or m.start() < best[0]):
            best = (m.start(), kind)
    return best[1] if best else None


_TITLE_RE = "|".join(sorted(_TITLES, key=len, reverse=True))
_NAME_TITLE_INTRO = re.compile(r"(?<![가-힣])([가-힣]{2,4})\s*(?:" + _TITLE_RE + r")(?:입니다|이라고\s*합니다|올림|드림)")
_NAME_PLAIN_INTRO = re.compile(r"(?<![가-힣])([가-힣]{2,4})(?:입니다|이라고\s*합니다|라고\s*합니다)")
_NOT_NAMES = {"인적사항", "문의", "요청", "신청", "단체", "회사", "저희", "처음", "담당", "사람", "학생", "회원", "고객",
              "업체", "기관", "관련", "사항", "내용", "자료", "신청서", "교환학생", "활동가", "소속", "께서", "님께",
              "연락처", "전화", "주소", "직위", "직책", "부서"}


def find_name(text: str) -> str | None:
    """Requester name: a labelled 성명/이름/담당자, "… 팀장입니다", "X 드림/올림", "X입니다" in the greeting."""
    text = text or ""
    m = _NAME_LABEL.search(text)
    if m and m.group(1) not in _NOT_NAMES:
        return m.group(1)
    m = _NAME_TITLE_INTRO.search(text)
    if m and m.group(1) not in _NOT_NAMES:
        return m.group(1)
    signs = [n for n in _NAME_SIGN.findall(text) if n not in _NOT_NAMES]
    if signs:
        return signs[-1]
    head = "\n".join(text.strip().splitlines()[:3])
    for m in _NAME_PLAIN_INTRO.finditer(head):
        if m.group(1) not in _NOT_NAMES and not m.group(1).endswith(("에서", "하는", "운영", "사는")):
            return m.group(1)
    return None


def extract_contact(
    text: str,
    *,
    exclude: Iterable[str] = (),
    own_addresses: Iterable[str] = (),
    own_domains: Iterable[str] = (),
) -> Contact:
    """Phones, fax numbers, e-mails, a name and the preferred reply means.

    ``phones`` is ordered best-first for "the customer's phone" (see
    ``customer_phone``); fax-labelled numbers go to ``fax_numbers``. Numbers in
    ``exclude`` (our own numbers, the caller's fax line) and quoted text that
    we wrote are left out.
    """
    text = unicodedata.normalize("NFC", text or "")
    body = strip_quoted_from(text, own_addresses, own_domains)
    excluded = {normalize_kr_number(x) or x for x in exclude}
    hits = find_phones(body)
    faxes = _dedupe(h.number for h in hits if h.label == "fax")
    rank = {"tel": 0, "mobile": 1, "": 2}
    cands = [h for h in hits if h.label in rank and h.number not in excluded and h.number not in faxes]
    # Our own staff's numbers sit on lines with our domain.
    doms = tuple(d.lower().lstrip("@") for d in own_domains)
    if doms:
        cands = [h for h in cands if not any(d in h.line.lower() for d in doms)]
    cands.sort(key=lambda h: (rank[h.label], h.position))
    phones = _dedupe(h.number for h in cands)
    emails = _dedupe(e.lower() for e in _EMAIL.findall(body))
    return Contact(
        phones=phones,
        fax_numbers=faxes,
        emails=emails,
        name=find_name(body),
        preferred_reply=preferred_reply(body),
    )
