"""Category and department of a new case, by weighted keyword / regex rules.

Text normalisation (measured on the public samples, see the report): NFC,
lower-case, spaces and middle dots removed for keyword matching. That lets
"반출입 신청을", "반출·입", "반출입신청" all hit "반출입" without a
morphological analyser.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Mapping

from intake.domain.records import Classification, Evidence
from intake.errors import ConfigError

try:  # the deadline module owns the policy ids
    from intake.domain.deadlines import CONTRACT_POLICY_IDS as _POLICY_IDS
except Exception:  # pragma: no cover - keeps this module importable on its own
    _POLICY_IDS = ("reply", "phone-call", "correction", "review", "issuance", "error-contact", "error-fix")

CATEGORY_IDS: tuple[str, ...] = (
    "trade-approval-review", "visit-certificate", "vehicle-permit", "consulting-trade",
    "consulting-humanitarian", "training", "information", "correction-request", "suggestion", "general",
)
FIELDS: tuple[str, ...] = ("subject", "body", "ocr", "attachments")

_DROP = re.compile(r"[\s·・‧ㆍ᛫•∙⋅]+")


def normalise(text: str) -> str:
    """NFC, lower-case, without spaces and middle dots (for keyword matching)."""
    return _DROP.sub("", unicodedata.normalize("NFC", text or "").lower())


@dataclass(frozen=True)
class Rule:
    id: str
    kind: str            # "kw" | "re"
    pattern: str
    weight: float
    compiled: re.Pattern | None = None
    fields: tuple[str, ...] = ("subject", "body", "ocr")


@dataclass(frozen=True)
class Category:
    id: str
    label: str
    department: str
    policy: str
    work_policy: str | None
    rules: tuple[Rule, ...]
    sender_domains: tuple[tuple[str, float], ...] = ()
    override_min: float | None = None   # intent categories: win over topics at this score


@dataclass(frozen=True)
class CategoryRules:
    categories: tuple[Category, ...]
    departments: Mapping[str, str]          # id -> Korean name
    field_weights: Mapping[str, float]
    min_score: float = 2.0
    min_margin: float = 0.0
    fallback: str = "general"

    def category(self, cid: str) -> Category:
        for c in self.categories:
            if c.id == cid:
                return c
        raise KeyError(cid)


def _num(file: str, key: str, v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ConfigError(file, key, "must be a number")
    return float(v)


def _pairs(file: str, key: str, v: Any) -> list[tuple[str, float]]:
    if not isinstance(v, list):
        raise ConfigError(file, key, "must be a list of [text, weight] pairs")
    out = []
    for i, item in enumerate(v):
        if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], str) and item[0]):
            raise ConfigError(file, f"{key}[{i}]", "must be a [text, weight] pair")
        out.append((item[0], _num(file, f"{key}[{i}]", item[1])))
    return out


def _load_category(file: str, cid: str, c: Any, deps: Mapping[str, Any]) -> Category:
    """One ``[categories.<id>]`` table, validated; ConfigError on the first bad key."""
    key = f"categories.{cid}"
    if cid not in CATEGORY_IDS:
        raise ConfigError(file, key, f"unknown category id (contract ids: {', '.join(CATEGORY_IDS)})")
    if not isinstance(c, Mapping):
        raise ConfigError(file, key, "must be a table")
    allowed = {"label", "department", "policy", "work_policy", "keywords", "regex", "attachments",
               "sender_domains", "override_min"}
    for k in c:
        if k not in allowed:
            raise ConfigError(file, f"{key}.{k}", "unknown key")
    label = c.get("label")
    if not isinstance(label, str) or not label:
        raise ConfigError(file, f"{key}.label", "missing or not a string")
    dep = c.get("department")
    if dep not in deps:
        raise ConfigError(file, f"{key}.department", f"unknown department {dep!r} (known: {', '.join(deps)})")
    policy = c.get("policy", "reply")
    if policy not in _POLICY_IDS:
        raise ConfigError(file, f"{key}.policy", f"unknown deadline policy {policy!r}")
    work = c.get("work_policy")
    if work is not None and work not in _POLICY_IDS:
        raise ConfigError(file, f"{key}.work_policy", f"unknown deadline policy {work!r}")
    rules: list[Rule] = []
    for text, w in _pairs(file, f"{key}.keywords", c.get("keywords", [])):
        rules.append(Rule(f"category.{cid}.kw:{text}", "kw", normalise(text), w))
    for i, (text, w) in enumerate(_pairs(file, f"{key}.regex", c.get("regex", []))):
        try:
            comp = re.compile(text, re.IGNORECASE)
        except re.error as exc:
            raise ConfigError(file, f"{key}.regex[{i}]", f"bad regular expression {text!r}: {exc}") from None
        rules.append(Rule(f"category.{cid}.re:{text}", "re", text, w, comp))
    for text, w in _pairs(file, f"{key}.attachments", c.get("attachments", [])):
        rules.append(Rule(f"category.{cid}.att:{text}", "kw", normalise(text), w, None, ("attachments",)))
    doms = tuple((d.lower().lstrip("@"), w) for d, w in _pairs(file, f"{key}.sender_domains", c.get("sender_domains", [])))
    override = c.get("override_min")
    if override is not None:
        override = _num(file, f"{key}.override_min", override)
    return Category(cid, label, dep, policy, work, tuple(rules), doms, override)


def load_category_rules(data: Mapping[str, Any], file: str = "config/categories.toml") -> CategoryRules:
    """Validate parsed TOML; ConfigError(file, key, problem) on the first bad key."""
    deps = data.get("departments")
    if not isinstance(deps, Mapping) or not deps:
        raise ConfigError(file, "departments", "missing or empty table")
    for k, v in deps.items():
        if not isinstance(v, str) or not v:
            raise ConfigError(file, f"departments.{k}", "must be the department's name")
    fields_raw = data.get("fields", {})
    if not isinstance(fields_raw, Mapping):
        raise ConfigError(file, "fields", "must be a table")
    fw = {"subject": 2.0, "body": 1.0, "ocr": 1.0, "attachments": 0.8}
    for k, v in fields_raw.items():
        if k not in FIELDS:
            raise ConfigError(file, f"fields.{k}", f"unknown field (known: {', '.join(FIELDS)})")
        fw[k] = _num(file, f"fields.{k}", v)
    settings = data.get("settings", {})
    if not isinstance(settings, Mapping):
        raise ConfigError(file, "settings", "must be a table")
    min_score = _num(file, "settings.min_score", settings.get("min_score", 2.0))
    min_margin = _num(file, "settings.min_margin", settings.get("min_margin", 0.0))
    fallback = settings.get("fallback", "general")
    cats_raw = data.get("categories")
    if not isinstance(cats_raw, Mapping) or not cats_raw:
        raise ConfigError(file, "categories", "missing or empty table")
    cats: list[Category] = []
    for cid, c in cats_raw.items():
        cats.append(_load_category(file, cid, c, deps))
    ids = {c.id for c in cats}
    missing = [c for c in CATEGORY_IDS if c not in ids]
    if missing:
        raise ConfigError(file, f"categories.{missing[0]}", "missing (every contract category needs a table)")
    if fallback not in ids:
        raise ConfigError(file, "settings.fallback", f"unknown category {fallback!r}")
    return CategoryRules(tuple(cats), dict(deps), fw, min_score, min_margin, fallback)


@dataclass(frozen=True)
class TextFields:
    subject: str = ""
    body: str = ""
    ocr: str = ""
    attachments: tuple[str, ...] = ()
    sender: str = ""


def _as_fields(text_fields: TextFields | Mapping[str, Any]) -> TextFields:
    if isinstance(text_fields, TextFields):
        return text_fields
    att = text_fields.get("attachments", ())
    if isinstance(att, str):
        att = (att,)
    return TextFields(
        subject=text_fields.get("subject", "") or "",
        body=text_fields.get("body", "") or "",
        ocr=text_fields.get("ocr", "") or "",
        attachments=tuple(att or ()),
        sender=text_fields.get("sender", "") or "",
    )


def mark_keyword(text: str, pattern: str, covered: bytearray) -> tuple[bool, int]:
    """Whether ``pattern`` occurs in ``text`` somewhere not already covered by a longer keyword;
    marks its occurrences as covered. Returns (hit, steps): steps counts the characters looked at
    after each find, so the work is linear in the text (len(pattern) per occurrence), not in the
    square of the number of hits as a list of covered intervals would be."""
    hit = False
    steps = 0
    n = len(pattern)
    if not n:
        return False, 0
    start = text.find(pattern)
    while start >= 0:
        end = start + n
        steps += n
        if not hit and 0 in covered[start:end]:
            hit = True
        covered[start:end] = b"\x01" * n
        start = text.find(pattern, start + 1)
    return hit, steps


def score_all(text_fields: TextFields | Mapping[str, Any], rules: CategoryRules) -> dict[str, tuple[float, list[Evidence]]]:
    tf = _as_fields(text_fields)
    raw = {"subject": tf.subject, "body": tf.body, "ocr": tf.ocr, "attachments": "\n".join(tf.attachments)}
    norm = {k: normalise(v) for k, v in raw.items()}
    low = {k: unicodedata.normalize("NFC", v).lower() for k, v in raw.items()}
    domain = tf.sender.lower().rsplit("@", 1)[-1] if tf.sender else ""
    out: dict[str, tuple[float, list[Evidence]]] = {}
    for cat in rules.categories:
        total = 0.0
        ev: list[Evidence] = []
        # Longest keyword first; a shorter keyword counts only where no longer
        # keyword of the same category already matched ("방북증명서" does not
        # also score "방북").
        kws = sorted((r for r in cat.rules if r.kind == "kw"), key=lambda r: -len(r.pattern))
        masks: dict[str, bytearray] = {}
        for rule in kws + [r for r in cat.rules if r.kind == "re"]:
            for fname in rule.fields:
                if not raw[fname]:
                    continue
                if rule.kind == "kw":
                    mask = masks.setdefault(fname, bytearray(len(norm[fname])))
                    hit, _steps = mark_keyword(norm[fname], rule.pattern, mask)
                else:
                    hit = bool(rule.compiled.search(low[fname]))
                if hit:
                    s = rule.weight * rules.field_weights.get(fname, 1.0)
                    total += s
                    ev.append(Evidence(rule.id, f"{rule.pattern!r} in {fname}", s))
        for d, w in cat.sender_domains:
            if domain and (domain == d or domain.endswith("." + d)):
                total += w
                ev.append(Evidence(f"category.{cat.id}.sender:{d}", f"sender domain {domain}", w))
        out[cat.id] = (total, ev)
    return out


def classify(text_fields: TextFields | Mapping[str, Any], rules: CategoryRules) -> Classification:
    """Best category by summed rule weights; low-confidence falls back to ``general``.

    ``text_fields``: a TextFields or a mapping with subject/body/ocr/attachments/sender.
    Evidence lists the rules that hit for the winner, the score table and the runner-up.
    """
    scores = score_all(text_fields, rules)
    order = {c.id: i for i, c in enumerate(rules.categories)}
    ranked = sorted(scores.items(), key=lambda kv: (-kv[1][0], order[kv[0]]))
    # Intent categories (correction, suggestion) are about the service itself and
    # mention a topic service in passing: past their threshold they win.
    overrides = [
        (cid, sc) for cid, sc in ranked
        if rules.category(cid).override_min is not None and sc[0] >= rules.category(cid).override_min
    ]
    override_note = None
    if overrides and overrides[0][0] != ranked[0][0]:
        override_note = f"{overrides[0][0]} {overrides[0][1][0]:.1f} >= its override_min over {ranked[0][0]} {ranked[0][1][0]:.1f}"
        ranked = [overrides[0]] + [kv for kv in ranked if kv[0] != overrides[0][0]]
    (top_id, (top, top_ev)) = ranked[0]
    (second_id, (second, _)) = ranked[1] if len(ranked) > 1 else ("-", (0.0, []))
    margin = (top - second) / top if top > 0 else 0.0
    confidence = round(top / (top + second), 3) if top > 0 else 0.0
    table = ", ".join(f"{cid}={s:.1f}" for cid, (s, _) in ranked if s > 0) or "no rule hit"
    ev = list(sorted(top_ev, key=lambda e: -e.score))
    ev.append(Evidence("category.scores", table, top))
    ev.append(Evidence("category.runner-up", f"{second_id} {second:.1f} vs {top_id} {top:.1f}", second))
    if override_note:
        ev.append(Evidence("category.intent-override", override_note, top))
        margin = 1.0
    low = top < rules.min_score or margin < rules.min_margin
    category = top_id
    if low:
        category = rules.fallback
        ev.append(Evidence(
            "category.low-confidence",
            f"top {top_id} scored {top:.1f} (min {rules.min_score}), margin {margin:.2f}: {rules.fallback} + triage",
            top,
        ))
    cat = rules.category(category)
    return Classification(category, cat.department, confidence, tuple(ev), low)
