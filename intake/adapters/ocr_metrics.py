"""Character accuracy of OCR output against a known reference text.

Used by the OCR tests and by ``bench/ocr_samples.py``.  Pure standard library.

``char_accuracy`` is ``1 - levenshtein(reference, hypothesis) / len(reference)``,
clamped to ``[0, 1]`` (the usual 1 - CER).  Before comparing, both texts are
normalised: Unicode NFC, the page separator (form feed) counts as whitespace,
and every whitespace run becomes one space (line wrapping on a page never
matches the wrapping of the source text).  ``ignore_whitespace=True`` drops all
whitespace instead, which measures the characters only and is not affected by
the spurious spaces Korean OCR puts between syllables.
"""

from __future__ import annotations

import re
import unicodedata

_WS = re.compile(r"\s+")


def normalise(text: str, *, ignore_whitespace: bool = False) -> str:
    """NFC, whitespace runs collapsed to one space (or removed), ends stripped."""
    text = unicodedata.normalize("NFC", text)
    if ignore_whitespace:
        return _WS.sub("", text)
    return _WS.sub(" ", text).strip()


def levenshtein(a: str, b: str) -> int:
    """Edit distance (insert, delete, substitute; each costs 1)."""
    if a == b:
        return 0
    if len(a) < len(b):
        a, b = b, a
    if not b:
        return len(a)
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        append = current.append
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost))
        previous = current
    return previous[-1]


def char_accuracy(reference: str, hypothesis: str, *, ignore_whitespace: bool = False) -> float:
    """1 - normalised edit distance of ``hypothesis`` against ``reference``, in [0, 1].

    An empty reference scores 1.0 against an empty hypothesis and 0.0 otherwise.
    """
    ref = normalise(reference, ignore_whitespace=ignore_whitespace)
    hyp = normalise(hypothesis, ignore_whitespace=ignore_whitespace)
    if not ref:
        return 1.0 if not hyp else 0.0
    return max(0.0, 1.0 - levenshtein(ref, hyp) / len(ref))
