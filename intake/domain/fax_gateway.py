"""The email-to-fax gateway address for a caller's number (pure).

``[fax] gateway_address`` in intake.toml is a pattern such as
``{number}@fax.example``: ``{number}`` is replaced by the digits of the
normalised Korean number (``0212345678``), ``{dashed}`` by its written form
(``02-1234-5678``). Only numbers that normalise as Korean telephone numbers
are dialled; anything else goes to the handler to fax by hand.
"""

from __future__ import annotations

import re
import string

from intake.domain.contacts import normalize_kr_number

PLACEHOLDERS = ("number", "dashed")
_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~\-]+@[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?"
                      r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?)+\Z")
SAMPLE_NUMBER = "02-1234-5678"


def pattern_problem(pattern: str) -> str | None:
    """Why ``pattern`` cannot be a gateway address pattern, or None."""
    try:
        names = [f for _, f, _, _ in string.Formatter().parse(pattern) if f is not None]
    except ValueError as exc:
        return f"not a valid pattern ({exc}); use {{number}} or {{dashed}}, e.g. \"{{number}}@fax.example\""
    unknown = [n for n in names if n not in PLACEHOLDERS]
    if unknown:
        return f"unknown placeholder {{{unknown[0]}}}; use {{number}} or {{dashed}}"
    if not names:
        return "must contain {number} (or {dashed}), e.g. \"{number}@fax.example\""
    sample = gateway_address(pattern, SAMPLE_NUMBER)
    if sample is None:
        return f"does not make an e-mail address (for {SAMPLE_NUMBER} it gives {_fill(pattern, SAMPLE_NUMBER)!r})"
    return None


def _fill(pattern: str, normalised: str) -> str:
    return pattern.format(number=re.sub(r"\D", "", normalised), dashed=normalised)


def gateway_address(pattern: str, number: str | None) -> str | None:
    """The address that faxes to ``number``, or None (no number, not a Korean number, bad pattern)."""
    normalised = normalize_kr_number(number or "")
    if not pattern or normalised is None:
        return None
    try:
        address = _fill(pattern, normalised)
    except (KeyError, IndexError, ValueError):
        return None
    return address.lower() if _ADDRESS.match(address) else None


def same_number(a: str | None, b: str | None) -> bool:
    na, nb = normalize_kr_number(a or ""), normalize_kr_number(b or "")
    return na is not None and na == nb
