"""Threading: which existing case does a message refer to?

Pure functions. The caller supplies ``known_message_ids`` (Message-ID -> case
ref), backed by the database in production and by ``dict.get`` in tests.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from typing import Callable

from intake.domain.records import Evidence, ParsedMail

KnownIds = Callable[[str], "str | None"]

# Reply / forward prefixes in the languages our customers' clients use.
_PREFIX = re.compile(
    r"^\s*(?:(?:re|r|aw|sv|antw|fw|fwd|tr|wg|rv|답장|회신|답변|전달|자동\s*회신)\s*(?:\[\d+\]|\(\d+\))?\s*[:：]\s*)+",
    re.IGNORECASE,
)

# "[접수 2026-000123]" tolerant of spacing, bracket style, "접수번호", "#".
_REF_CORE = r"(20\d{2})\s*[-‐‑–—_./]\s*(\d{6})"
_SUBJECT_REF = re.compile(
    r"[\[\(【〔<{]?\s*접\s*수(?:\s*번\s*호)?\s*[:：#.]?\s*(?:no\.?\s*)?" + _REF_CORE + r"(?!\d)",
    re.IGNORECASE,
)
# A bare reference in brackets: "[2026-000123]".
_BRACKET_REF = re.compile(r"[\[\(【〔]\s*" + _REF_CORE + r"\s*[\]\)】〕]")
# Body text: "접수번호 2026-000829", "접수 번호: 2026-000829", "case 2026-000829", "ref. 2026-..."
_BODY_REF = re.compile(
    r"(?:접\s*수\s*(?:번\s*호)?|case\s*(?:no\.?|number|ref\.?)?|ref(?:erence)?\.?\s*(?:no\.?)?)\s*[:：#.]?\s*(?:는|은|:)?\s*"
    + _REF_CORE + r"(?!\d)",
    re.IGNORECASE,
)


def _ref(m: re.Match) -> str:
    return f"{m.group(1)}-{m.group(2)}"


def strip_reply_prefixes(subject: str) -> str:
    """Remove any number of ``Re:``/``RE:``/``회신:``/``답장:``/``FW:``/``Fwd:``/``전달:`` prefixes."""
    s = unicodedata.normalize("NFC", subject or "").strip()
    prev = None
    while prev != s:
        prev = s
        s = _PREFIX.sub("", s).strip()
    return s


def extract_refs(text: str, *, body: bool = False) -> list[str]:
    """Case refs ("2026-000123") found in ``text``, in order, without duplicates.

    Subject mode (default) accepts ``접수 …`` forms and bare bracketed refs;
    body mode accepts only labelled refs (접수번호, case no., ref.).
    """
    text = unicodedata.normalize("NFC", text or "")
    found: list[tuple[int, str]] = []
    patterns = [_BODY_REF] if body else [_SUBJECT_REF, _BRACKET_REF]
    for pat in patterns:
        for m in pat.finditer(text):
            found.append((m.start(), _ref(m)))
    out: list[str] = []
    for _, ref in sorted(found):
        if ref not in out:
            out.append(ref)
    return out


def _normalise_subject(subject: str) -> str:
    s = strip_reply_prefixes(subject)
    s = _SUBJECT_REF.sub(" ", s)
    s = _BRACKET_REF.sub(" ", s)
    s = unicodedata.normalize("NFKC", s).casefold()
    s = re.sub(r"[\W_]+", "", s)
    return s


def subject_matches(a: str, b: str, *, threshold: float = 0.85) -> bool:
    """True when two subjects are the same conversation after normalisation.

    Used by the caller for the last-resort same-sender rule (the time window
    is the caller's business). Empty or very short subjects never match.
    """
    na, nb = _normalise_subject(a), _normalise_subject(b)
    if len(na) < 2 or len(nb) < 2:
        return False
    if na == nb:
        return True
    return difflib.SequenceMatcher(None, na, nb).ratio() >= threshold




def find_case_ref(
    mail: ParsedMail, known_message_ids: KnownIds | None
) -> tuple[str | None, tuple[Evidence, ...]]:
    """Find the case a message refers to.

    Order: In-Reply-To, References (newest first) looked up in
    ``known_message_ids``; then a ref in the subject; then a labelled ref in
    the body text. Returns ``(ref, evidence)``; evidence explains the choice
    (and notes disagreements).
    """
    evidence: list[Evidence] = []
    ref: str | None = None
    if known_message_ids is not None:
        ids: list[tuple[str, str]] = []
        if mail.in_reply_to:
            for mid in re.findall(r"<[^<>\s]+>", mail.in_reply_to) or [mail.in_reply_to.strip()]:
                ids.append(("thread.in-reply-to", mid))
        for mid in reversed(mail.references):
            ids.append(("thread.references", mid))
        for rule, mid in ids:
            try:
                hit = known_message_ids(mid)
            except Exception:  # a broken lookup must not drop the message
                hit = None
            if hit:
                ref = hit
                evidence.append(Evidence(rule, f"{mid} is our message for case {hit}", 1.0))
                break
    subject_refs = extract_refs(mail.subject)
    if subject_refs:
        if ref is None:
            ref = subject_refs[0]
            evidence.append(Evidence("thread.subject-ref", f"subject names case {ref}", 0.9))
        elif subject_refs[0] != ref:
            evidence.append(
                Evidence("thread.subject-ref-conflict", f"subject names {subject_refs[0]}, header points to {ref}", 0.0)
            )
    if ref is None:
        body_refs = extract_refs(mail.text or "", body=True)
        if body_refs:
            ref = body_refs[0]
            evidence.append(Evidence("thread.body-ref", f"body text names case {ref}", 0.7))
    return ref, tuple(evidence)
