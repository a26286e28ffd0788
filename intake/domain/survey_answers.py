"""Understanding a customer's reply to the satisfaction survey (pure, table-tested).

A score is read from the first line of the customer's own text (quotes removed): a digit 1-5,
``4/5``, a circled digit (①-⑤), or the words 매우 만족 / 만족 / 보통 / 불만족 / 매우 불만족 and their
English forms. What follows the score, and the lines after it, are the comment. Two different
scores, or none, are *ambiguous*: the reply goes to staff and no score is guessed.
"수신 거부" / "unsubscribe" anywhere in the own text is an opt-out from surveys.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from intake.domain.staff_commands import own_text

SCORE_LABELS = {5: "매우 만족", 4: "만족", 3: "보통", 2: "불만족", 1: "매우 불만족"}

# Longest forms first, so "매우 불만족" is not read as "불만족" or "만족".
_WORDS: list[tuple[str, int]] = sorted([
    ("매우 불만족", 1), ("매우불만족", 1), ("아주 불만족", 1), ("very dissatisfied", 1), ("very unsatisfied", 1),
    ("매우 만족", 5), ("매우만족", 5), ("아주 만족", 5), ("very satisfied", 5), ("excellent", 5),
    ("불만족", 2), ("dissatisfied", 2), ("unsatisfied", 2),
    ("보통", 3), ("neutral", 3), ("average", 3),
    ("만족", 4), ("satisfied", 4),
], key=lambda w: -len(w[0]))
_CIRCLED = {"①": 1, "②": 2, "③": 3, "④": 4, "⑤": 5}
_SCORE = re.compile(
    r"(?P<frac>(?<![0-9])[1-5]\s*/\s*5(?![0-9]))|(?P<digit>(?<![0-9./-])[1-5](?![0-9./-]))|(?P<circled>[①②③④⑤])|"
    + "(?P<word>" + "|".join(re.escape(w).replace(r"\ ", r"\s*") for w, _ in _WORDS) + ")",
    re.IGNORECASE)
_OPT_OUT = re.compile(r"수신\s*거부|수신\s*거절|unsubscribe|opt[\s-]*out", re.IGNORECASE)
_WORD_SCORES = {re.sub(r"\s+", "", w.lower()): s for w, s in _WORDS}


@dataclass(frozen=True)
class SurveyAnswer:
    score: int | None          # 1..5, None when not understood
    comment: str
    opt_out: bool = False
    ambiguous: str = ""        # why no score was taken (for staff); empty when understood


def _score_of(m: re.Match) -> int:
    if m.group("frac"):
        return int(m.group("frac").strip()[0])
    if m.group("digit"):
        return int(m.group("digit"))
    if m.group("circled"):
        return _CIRCLED[m.group("circled")]
    return _WORD_SCORES[re.sub(r"\s+", "", m.group("word").lower())]


def parse_survey_reply(text: str) -> SurveyAnswer:
    own = unicodedata.normalize("NFC", own_text(text or ""))
    opt_out = bool(_OPT_OUT.search(own))
    lines = [ln.strip() for ln in own.splitlines() if ln.strip()]
    if not lines:
        return SurveyAnswer(None, "", opt_out, "" if opt_out else "the reply is empty")
    first, rest = lines[0], lines[1:]
    matches = list(_SCORE.finditer(first))
    scores = {_score_of(m) for m in matches}
    comment_head = first[matches[-1].end():].strip(" \t-:,.·") if matches else first
    comment = "\n".join([comment_head, *rest]).strip() if comment_head else "\n".join(rest).strip()
    if len(scores) == 1:
        return SurveyAnswer(scores.pop(), comment, opt_out)
    if opt_out:
        return SurveyAnswer(None, "\n".join(lines), True)
    why = (f"several scores in one reply ({', '.join(str(s) for s in sorted(scores))})" if scores
           else "no score (1-5 or 매우 만족 … 매우 불만족) on the first line")
    return SurveyAnswer(None, "\n".join(lines), False, why)
