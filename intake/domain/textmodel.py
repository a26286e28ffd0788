"""The text model: character n-gram TF-IDF + a linear classifier, combined with the rules (pure).

scikit-learn does the statistics (character n-grams suit Korean without a morphological
analyser). Labels are the category ids, plus ``spam`` when staff marked or released spam.
``combine`` keeps the rules in charge where they fire strongly; between weak rules (or when
the rules found nothing) the model decides if it is confident enough, and the evidence names
the model version and the n-grams that weighed most. Low confidence leaves the rules' answer
(and their triage) as it is. Loading and saving the model file is ``adapters.model_store``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from typing import Sequence

from intake.domain.records import Classification, Evidence

SPAM = "spam"
#: Rules scoring at least this (with the runner-up below half of it) keep priority over the model.
STRONG_RULE_SCORE = 6.0
#: The model decides only at or above this probability.
MIN_CONFIDENCE = 0.55
TEXT_CHARS = 4000     # the model reads a bounded prefix: subject + the first 4,000 characters of text


@dataclass(frozen=True)
class Example:
    text: str
    label: str
    source: str = ""      # "sample:sample-001.eml", "case:2026-000812 reclassify", ...


@dataclass(frozen=True)
class Verdict:
    label: str
    confidence: float
    top_features: tuple[str, ...]
    version: str


def model_text(subject: str, body: str) -> str:
    return f"{subject or ''}\n{(body or '')[:TEXT_CHARS]}"


def _pipeline(seed: int):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    return Pipeline([
        ("tfidf", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True, min_df=1,
                                  max_features=60000, lowercase=True)),
        ("clf", LogisticRegression(max_iter=2000, C=10.0, class_weight="balanced", random_state=seed)),
    ])


@dataclass
class TextModel:
    """A fitted pipeline and its version string (``v3-20261204T1910Z``)."""

    pipeline: object
    version: str
    labels: tuple[str, ...]
    trained_on: int

    def predict(self, text: str, top: int = 5) -> Verdict:
        proba = self.pipeline.predict_proba([text])[0]
        classes = list(self.pipeline.classes_)
        best = max(range(len(classes)), key=lambda i: proba[i])
        return Verdict(classes[best], round(float(proba[best]), 3), self._top_features(text, best, top), self.version)

    def _top_features(self, text: str, cls: int, top: int) -> tuple[str, ...]:
        vec = self.pipeline.named_steps["tfidf"]
        clf = self.pipeline.named_steps["clf"]
        x = vec.transform([text])
        coef = clf.coef_[cls] if clf.coef_.shape[0] > 1 else (clf.coef_[0] if cls == 1 else -clf.coef_[0])
        names = vec.get_feature_names_out()
        row = x.tocoo()
        contrib = sorted(((row.data[k] * coef[j], names[j]) for k, j in enumerate(row.col)), reverse=True)
        return tuple(name for weight, name in contrib[:top] if weight > 0)


def train(examples: Sequence[Example], version: str, seed: int = 15) -> TextModel:
    """Fit on every example. Needs at least two labels."""
    labels = sorted({e.label for e in examples})
    if len(labels) < 2:
        raise ValueError(f"need examples of at least two labels to train, got {labels or 'none'}")
    pipe = _pipeline(seed)
    pipe.fit([e.text for e in examples], [e.label for e in examples])
    return TextModel(pipe, version, tuple(labels), len(examples))


@dataclass(frozen=True)
class LabelScore:
    label: str
    precision: float
    recall: float
    support: int


def split(examples: Sequence[Example], test_share: float, seed: int) -> tuple[list[Example], list[Example]]:
    """Stratified by label: each label with ≥ 2 examples gives about ``test_share`` of them to the test part."""
    rnd = random.Random(seed)
    train_part: list[Example] = []
    test_part: list[Example] = []
    by_label: dict[str, list[Example]] = {}
    for e in examples:
        by_label.setdefault(e.label, []).append(e)
    for label in sorted(by_label):
        group = list(by_label[label])
        rnd.shuffle(group)
        n_test = int(round(len(group) * test_share)) if len(group) >= 2 else 0
        n_test = min(max(n_test, 1 if len(group) >= 2 else 0), len(group) - 1)
        test_part += group[:n_test]
        train_part += group[n_test:]
    return train_part, test_part


def held_out_scores(examples: Sequence[Example], test_share: float = 0.25, seed: int = 15) -> list[LabelScore]:
    """Per-label precision and recall of a model trained on the rest, on a held-out split."""
    from sklearn.metrics import precision_recall_fscore_support

    train_part, test_part = split(examples, test_share, seed)
    if not test_part:
        return []
    model = train(train_part, "held-out", seed)
    predicted = [model.predict(e.text, top=0).label for e in test_part]
    truth = [e.label for e in test_part]
    labels = sorted(set(truth))
    p, r, _f, s = precision_recall_fscore_support(truth, predicted, labels=labels, zero_division=0)
    return [LabelScore(lab, float(p[i]), float(r[i]), int(s[i])) for i, lab in enumerate(labels)]


def rule_scores(result: Classification) -> tuple[float, float]:
    """(top, runner-up) rule scores, from the classification's own evidence."""
    top = next((e.score for e in result.evidence if e.rule == "category.scores"), 0.0)
    second = next((e.score for e in result.evidence if e.rule == "category.runner-up"), 0.0)
    return top, second


def combine(rules_result: Classification, verdict: Verdict | None, top_score: float, runner_up: float,
            department_of, known: frozenset[str] | set[str] = frozenset()) -> Classification:
    """The rules' classification, or the model's where the rules are weak and the model is sure.

    ``department_of(category)`` gives the department id. A label not in ``known`` (``spam``)
    never changes a category here (kinds decide spam)."""
    if verdict is None:
        return rules_result
    note = (f"model {verdict.version}: {verdict.label} p={verdict.confidence:.2f}; "
            f"top features {list(verdict.top_features)}")
    strong = top_score >= STRONG_RULE_SCORE and runner_up < top_score / 2
    unknown = bool(known) and verdict.label not in known
    if strong or unknown or verdict.confidence < MIN_CONFIDENCE:
        why = ("rules fire strongly; they keep priority" if strong else
               "below the model's confidence threshold" if verdict.confidence < MIN_CONFIDENCE
               else f"{verdict.label} is not a category")
        ev = rules_result.evidence + (Evidence("category.model.consulted", f"{note} ({why})", verdict.confidence),)
        return replace(rules_result, evidence=ev)
    if verdict.label == rules_result.category:
        ev = rules_result.evidence + (Evidence("category.model.agrees", note, verdict.confidence),)
        return replace(rules_result, evidence=ev, confidence=max(rules_result.confidence, verdict.confidence))
    ev = (Evidence("category.model.decides", f"{note} (rules weak: top {top_score:.1f}, runner-up "
                                                f"{runner_up:.1f}, rules said {rules_result.category})",
                   verdict.confidence),) + rules_result.evidence
    return Classification(verdict.label, department_of(verdict.label), verdict.confidence, ev, False)
