"""Resident registration numbers (주민등록번호): detection and masking.

Detection is by format only: YYMMDD-SXXXXXX with a valid calendar date and a
sex/century digit S in 1..8. Numbers issued since October 2020 carry no
checksum, so the old check digit is deliberately NOT tested.
"""

from __future__ import annotations

import re
from datetime import date

_RRN = re.compile(r"(?<![\d-])(\d{2})(\d{2})(\d{2})\s?[-‐‑–—]\s?([1-8])(\d{6})(?![\d-])")

_CENTURY = {"1": 1900, "2": 1900, "5": 1900, "6": 1900, "3": 2000, "4": 2000, "7": 2000, "8": 2000}


def _valid(m: re.Match) -> bool:
    yy, mm, dd, s = int(m.group(1)), int(m.group(2)), int(m.group(3)), m.group(4)
    try:
        date(_CENTURY[s] + yy, mm, dd)
    except ValueError:
        return False
    return True


def find_rrns(text: str) -> list[str]:
    """The 주민등록번호-shaped strings in ``text`` (as written)."""
    return [m.group(0) for m in _RRN.finditer(text or "") if _valid(m)]


def contains_rrn(text: str) -> bool:
    return any(_valid(m) for m in _RRN.finditer(text or ""))


MASK = "######-*******"


def mask_rrn(text: str) -> str:
    """Replace each valid 주민등록번호 with ``######-*******``: birth date and sex are personal data
    too, and a fixed mask keeps the text's length and shape."""
    def repl(m: re.Match) -> str:
        return MASK if _valid(m) else m.group(0)
    return _RRN.sub(repl, text or "")
