"""Scoring of ``intake eval`` and of the staff-corrections report (pure: no I/O).

``evaluate`` compares what ``intake inspect`` decided about each labelled
sample with its label, field by field, with the normalisation a human would
apply (phone and fax numbers compared as digits, addresses case-insensitive),
and builds the accuracy tables, the list of misses and the category confusion
matrix. ``summarise_corrections`` counts how often staff overruled the rules.

Label fields are those of the sample set README (``reply_to_address`` for the
reply address, ``department`` as the Korean department name).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

#: Fields scored, in report order.
FIELDS: tuple[str, ...] = (
    "kind", "channel", "category", "department", "reply_to", "fax_number", "phone", "case_ref", "language", "pii",
)

#: Label key for each field (when it differs from the field name).
LABEL_KEYS: Mapping[str, str] = {"reply_to": "reply_to_address"}

#: ``inspect --json`` key for each field (when it differs): departments are compared by Korean name.
RESULT_KEYS: Mapping[str, str] = {"department": "department_name"}

NONE = "(none)"

_NON_DIGIT = re.compile(r"\D+")


# --------------------------------------------------------------------------- values


def expected_value(label: Mapping[str, Any], name: str) -> Any:
    return label.get(LABEL_KEYS.get(name, name))


def got_value(result: Mapping[str, Any], name: str) -> Any:
    return result.get(RESULT_KEYS.get(name, name))


def phone_digits(value: str) -> str:
    """``+82 2-6000-1101`` and ``02-6000-1101`` → ``0260001101``."""
    text = value.strip()
    digits = _NON_DIGIT.sub("", text)
    if text.startswith("+82") or text.startswith("0082"):
        rest = digits[2:] if text.startswith("+") else digits[4:]
        digits = rest if rest.startswith("0") else "0" + rest
    return digits


def normalise(name: str, value: Any) -> Any:
    """The comparable form of one field value; blank strings are None."""
    if value is None:
        return None
    if name == "pii":
        return bool(value)
    if isinstance(value, str):
        value = value.strip()
        if not value:
            return None
        if name in ("phone", "fax_number"):
            return phone_digits(value) or None
        if name == "reply_to":
            return value.lower()
        if name in ("kind", "channel", "category", "language"):
            return value.lower()
    return value


def values_equal(name: str, expected: Any, got: Any) -> bool:
    return normalise(name, expected) == normalise(name, got)


# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class Outcome:
    """One labelled message: the label, the decisions (None when inspect raised), the error."""

    label: Mapping[str, Any]
    result: Mapping[str, Any] | None
    error: str | None = None

    @property
    def file(self) -> str:
        return str(self.label.get("file", "?"))

    @property
    def crashed(self) -> bool:
        return self.result is None


@dataclass(frozen=True)
class Score:
    correct: int
    total: int

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.total if self.total else None

    def as_dict(self) -> dict:
        return {"correct": self.correct, "total": self.total, "accuracy": self.accuracy}


@dataclass(frozen=True)
class Miss:
    file: str
    field: str
    expected: Any
    got: Any

    def as_dict(self) -> dict:
        return {"file": self.file, "field": self.field, "expected": self.expected, "got": self.got}


@dataclass(frozen=True)
class Confusion:
    """Rows are expected categories, columns predicted ones; only categories that occur."""

    labels: tuple[str, ...]
    counts: Mapping[tuple[str, str], int]

    def cell(self, expected: str, got: str) -> int:
        return self.counts.get((expected, got), 0)

    def as_dict(self) -> dict:
        return {"labels": list(self.labels),
                "rows": {e: {g: self.cell(e, g) for g in self.labels} for e in self.labels}}


@dataclass(frozen=True)
class Evaluation:
    total: int
    fields: Mapping[str, Score]
    category_by_channel: Mapping[str, Score]
    misses: tuple[Miss, ...]
    crashes: tuple[tuple[str, str], ...]
    confusion: Confusion

    def as_dict(self) -> dict:
        return {
            "total": self.total,
            "crashes": [{"file": f, "error": e} for f, e in self.crashes],
            "fields": {name: s.as_dict() for name, s in self.fields.items()},
            "category_by_channel": {ch: s.as_dict() for ch, s in self.category_by_channel.items()},
            "misses": [m.as_dict() for m in self.misses],
            "confusion": self.confusion.as_dict(),
        }


# --------------------------------------------------------------------------- scoring


def _cat(value: Any) -> str:
    v = normalise("category", value)
    return NONE if v is None else str(v)


def confusion_matrix(pairs: Iterable[tuple[Any, Any]]) -> Confusion:
    """Category confusion over (expected, predicted) pairs; pairs where both are None are left out."""
    counts: Counter[tuple[str, str]] = Counter()
    for expected, got in pairs:
        e, g = _cat(expected), _cat(got)
        if e == NONE and g == NONE:
            continue
        counts[(e, g)] += 1
    seen = {e for e, _ in counts} | {g for _, g in counts}
    labels = tuple(sorted(seen - {NONE})) + ((NONE,) if NONE in seen else ())
    return Confusion(labels, dict(counts))


def evaluate(outcomes: Sequence[Outcome], fields: Sequence[str] = FIELDS) -> Evaluation:
    """Per-field accuracy over every message (a crashed message counts as wrong in every
    field); category accuracy per expected channel over the labelled cases; misses; confusion."""
    correct: Counter[str] = Counter()
    by_channel_ok: Counter[str] = Counter()
    by_channel_n: Counter[str] = Counter()
    misses: list[Miss] = []
    crashes: list[tuple[str, str]] = []
    pairs: list[tuple[Any, Any]] = []
    for out in outcomes:
        if out.crashed:
            crashes.append((out.file, out.error or "unknown error"))
        for name in fields:
            want = expected_value(out.label, name)
            if out.crashed:
                continue
            got = got_value(out.result, name)
            if values_equal(name, want, got):
                correct[name] += 1
            else:
                misses.append(Miss(out.file, name, want, got))
        if out.label.get("kind") == "case":
            channel = str(out.label.get("channel") or NONE)
            by_channel_n[channel] += 1
            if not out.crashed and values_equal("category", out.label.get("category"), out.result.get("category")):
                by_channel_ok[channel] += 1
        if not out.crashed:
            pairs.append((out.label.get("category"), out.result.get("category")))
        else:
            pairs.append((out.label.get("category"), None))
    n = len(outcomes)
    return Evaluation(
        total=n,
        fields={name: Score(correct[name], n) for name in fields},
        category_by_channel={ch: Score(by_channel_ok[ch], by_channel_n[ch]) for ch in sorted(by_channel_n)},
        misses=tuple(misses),
        crashes=tuple(crashes),
        confusion=confusion_matrix(pairs),
    )


# --------------------------------------------------------------------------- text


def _pct(score: Score) -> str:
    return "   -  " if score.accuracy is None else f"{score.accuracy * 100:5.1f}%"


def accuracy_table(scores: Mapping[str, Score], title: str) -> str:
    width = max([len(title)] + [len(k) for k in scores])
    lines = [f"{title:<{width}}  accuracy  correct/total"]
    for key, s in scores.items():
        lines.append(f"{key:<{width}}  {_pct(s):>8}  {s.correct:>7}/{s.total}")
    return "\n".join(lines)


def confusion_text(confusion: Confusion) -> str:
    """Rows expected, columns predicted (numbered; the legend is the row list)."""
    if not confusion.labels:
        return "(no categories)"
    labels = confusion.labels
    name_w = max(len(l) for l in labels) + 4
    col_w = max(3, len(str(max(confusion.counts.values(), default=0))) + 1, len(str(len(labels))) + 1)
    head = " " * name_w + "".join(f"{i + 1:>{col_w}}" for i in range(len(labels)))
    lines = ["expected \\ predicted", head]
    for i, e in enumerate(labels):
        row = "".join(f"{(confusion.cell(e, g) or '.')!s:>{col_w}}" for g in labels)
        lines.append(f"{i + 1:>2}. {e:<{name_w - 4}}" + row)
    return "\n".join(lines)


def _show(value: Any) -> str:
    return "null" if value is None else repr(value)


def report_text(ev: Evaluation) -> str:
    parts = [f"{ev.total} messages, {len(ev.crashes)} crashed", "",
             accuracy_table(ev.fields, "field"), "",
             accuracy_table(ev.category_by_channel, "category, cases by channel"), ""]
    if ev.crashes:
        parts.append("crashes:")
        parts += [f"  {f}: {e}" for f, e in ev.crashes]
        parts.append("")
    parts.append(f"misses ({len(ev.misses)}):")
    parts += [f"  {m.file}  {m.field}: expected {_show(m.expected)}, got {_show(m.got)}" for m in ev.misses]
    parts += ["", "category confusion matrix", confusion_text(ev.confusion)]
    return "\n".join(parts) + "\n"


# --------------------------------------------------------------------------- staff corrections


@dataclass(frozen=True)
class CorrectionRecord:
    case_id: int
    kind: str                # "reassign" | "reclassify"
    from_value: str
    to_value: str


@dataclass(frozen=True)
class CorrectionSummary:
    cases_total: int
    reclassified_cases: int
    reclassifications: int
    category_changes: Mapping[tuple[str, str], int]   # (original, final) → cases
    reassignments: int
    reassigned_cases: int

    @property
    def reclassified_share(self) -> float | None:
        return self.reclassified_cases / self.cases_total if self.cases_total else None

    @property
    def reassigned_share(self) -> float | None:
        return self.reassigned_cases / self.cases_total if self.cases_total else None

    def as_dict(self) -> dict:
        return {
            "cases_total": self.cases_total,
            "reclassified_cases": self.reclassified_cases,
            "reclassified_share": self.reclassified_share,
            "reclassifications": self.reclassifications,
            "category_changes": [{"from": a, "to": b, "cases": n}
                                 for (a, b), n in sorted(self.category_changes.items())],
            "reassignments": self.reassignments,
            "reassigned_cases": self.reassigned_cases,
            "reassigned_share": self.reassigned_share,
        }


def summarise_corrections(cases_total: int, corrections: Iterable[CorrectionRecord]) -> CorrectionSummary:
    """Corrections in time order. Per case, the original category is the first
    reclassification's ``from_value`` and the corrected one the last ``to_value``;
    a case reclassified back to where it started is still counted as reclassified."""
    first_from: dict[int, str] = {}
    last_to: dict[int, str] = {}
    reclassifications = reassignments = 0
    reassigned: set[int] = set()
    for c in corrections:
        if c.kind == "reclassify":
            reclassifications += 1
            first_from.setdefault(c.case_id, c.from_value)
            last_to[c.case_id] = c.to_value
        elif c.kind == "reassign":
            reassignments += 1
            reassigned.add(c.case_id)
    changes = Counter((first_from[cid], last_to[cid]) for cid in first_from)
    return CorrectionSummary(cases_total=cases_total, reclassified_cases=len(first_from),
                             reclassifications=reclassifications, category_changes=dict(changes),
                             reassignments=reassignments, reassigned_cases=len(reassigned))


def corrections_text(summary: CorrectionSummary) -> str:
    def share(x: float | None) -> str:
        return "-" if x is None else f"{x * 100:.1f}%"

    lines = [
        f"cases total:        {summary.cases_total}",
        f"reclassified cases: {summary.reclassified_cases} ({share(summary.reclassified_share)}), "
        f"{summary.reclassifications} reclassifications",
        f"reassignments:      {summary.reassignments} on {summary.reassigned_cases} cases "
        f"({share(summary.reassigned_share)})",
    ]
    if summary.category_changes:
        lines.append("original category -> corrected category:")
        width = max(len(a) for a, _ in summary.category_changes)
        for (a, b), n in sorted(summary.category_changes.items(), key=lambda kv: (-kv[1], kv[0])):
            lines.append(f"  {a:<{width}} -> {b}: {n}")
    return "\n".join(lines) + "\n"
