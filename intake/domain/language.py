"""Language of a message: "ko", "en" or "mixed"."""

from __future__ import annotations

import re
import unicodedata

_URLISH = re.compile(r"(https?://\S+|www\.\S+|[\w.+-]+@[\w.-]+)")
_HANGUL = re.compile(r"[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
# Client signatures and labels that say nothing about the writer's language.
_HEADER_LINES = re.compile(
    r"^\s*(from|sent|to|cc|date|subject|보낸\s*사람|받는\s*사람|보낸\s*날짜|제목)\s*:.*$|^\s*-{2,}\s*(original|forwarded)\s+message\s*-{2,}\s*$",
    re.IGNORECASE | re.MULTILINE,
)
_NOISE = re.compile(
    r"(iPhone에서 보냄|Galaxy에서 보냄|Sent from my \w+|^\s*[TMFE]\.\s|\bTel\b|\bFax\b|\bE-?mail\b)",
    re.IGNORECASE | re.MULTILINE,
)


def detect_language(text: str) -> str:
    """Classify by words: share of words with Hangul vs. Latin-only words.

    Quoted text should be removed by the caller (a reply in English that
    quotes our Korean acknowledgement is English).
    """
    s = unicodedata.normalize("NFC", text or "")
    s = _HEADER_LINES.sub(" ", s)
    s = _URLISH.sub(" ", s)
    s = _NOISE.sub(" ", s)
    ko = en = 0
    for tok in s.split():
        if _HANGUL.search(tok):
            ko += 1
            if _LATIN_WORD.search(tok):
                en += 1
        elif _LATIN_WORD.search(tok):
            en += 1
    total = ko + en
    if total == 0:
        return "ko"
    if en / total < 0.15 or en <= 2:
        return "ko"
    if ko / total < 0.12 or ko <= 2:
        return "en"
    return "mixed"
