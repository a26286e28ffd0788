"""The text model (issue 15 item 4): training, held-out scores, combination with the rules."""

import pytest

from intake.domain.records import Classification, Evidence
from intake.domain.textmodel import (MIN_CONFIDENCE, Example, Verdict, combine, held_out_scores, model_text,
                                     rule_scores, split, train)

TINY = [
    Example(model_text("방북증명서 발급 요청", "방북 승인 통보서를 받았습니다. 증명서를 발급해 주십시오."), "visit-certificate"),
    Example(model_text("방북 증명서 수령", "방북증명서 수령 날짜를 알려 주십시오."), "visit-certificate"),
    Example(model_text("방북증명서 대리 수령", "방북증명서를 대리인이 받을 수 있습니까?"), "visit-certificate"),
    Example(model_text("교육 신청", "역량강화 교육 과정에 신청합니다."), "training"),
    Example(model_text("교육 일정 문의", "다음 교육 과정 일정을 알려 주십시오."), "training"),
    Example(model_text("강좌 참가", "교육 강좌에 참가하고 싶습니다."), "training"),
    Example(model_text("(광고) 특가", "연말 특가 할인 무료수신거부"), "spam"),
    Example(model_text("[광고] 할인", "최대 70% 할인 수신거부"), "spam"),
]


@pytest.fixture(scope="module")
def model():
    return train(TINY, "v1-test")


@pytest.mark.parametrize("text,label", [
    ("방북증명서를 언제 받을 수 있나요", "visit-certificate"),
    ("교육 과정 신청 방법", "training"),
    ("특가 할인 수신거부", "spam"),
])
def test_tiny_model_predicts_and_names_features(model, text, label):
    v = model.predict(text)
    assert v.label == label
    assert 0 < v.confidence <= 1
    assert v.version == "v1-test"
    assert v.top_features and all(isinstance(f, str) for f in v.top_features)


def test_training_needs_two_labels():
    with pytest.raises(ValueError):
        train([e for e in TINY if e.label == "training"], "v0")


def test_split_is_stratified_and_deterministic():
    a = split(TINY, 0.34, 7)
    assert a == split(TINY, 0.34, 7)
    train_part, test_part = a
    assert {e.label for e in test_part} == {"visit-certificate", "training", "spam"}
    assert len(train_part) + len(test_part) == len(TINY)
    scores = held_out_scores(TINY, 0.34, 7)
    assert {s.label for s in scores} == {"visit-certificate", "training", "spam"}
    assert all(0 <= s.precision <= 1 and 0 <= s.recall <= 1 for s in scores)


def _rules(category, top, second):
    ev = (Evidence("category.scores", "...", top), Evidence("category.runner-up", "...", second))
    return Classification(category, "business", 0.5, ev, top < 2.0)


DEPT = {"training": "business", "visit-certificate": "support-center", "general": "business"}.get
KNOWN = {"training", "visit-certificate", "general"}


@pytest.mark.parametrize("rules,verdict,category,rule", [
    # strong rules keep priority
    (_rules("training", 8.0, 1.0), Verdict("visit-certificate", 0.9, ("방북",), "v1"), "training", "category.model.consulted"),
    # weak rules: the confident model decides
    (_rules("general", 1.0, 0.0), Verdict("visit-certificate", 0.9, ("방북",), "v1"), "visit-certificate",
     "category.model.decides"),
    (_rules("training", 4.0, 3.5), Verdict("visit-certificate", 0.8, ("방북",), "v1"), "visit-certificate",
     "category.model.decides"),
    # a model below its threshold leaves the rules (and their triage) alone
    (_rules("general", 1.0, 0.0), Verdict("training", MIN_CONFIDENCE - 0.1, ("교육",), "v1"), "general",
     "category.model.consulted"),
    # spam is not a category
    (_rules("general", 1.0, 0.0), Verdict("spam", 0.99, ("광고",), "v1"), "general", "category.model.consulted"),
    (_rules("training", 3.0, 0.0), Verdict("training", 0.9, ("교육",), "v1"), "training", "category.model.agrees"),
])
def test_combine(rules, verdict, category, rule):
    out = combine(rules, verdict, *rule_scores(rules), DEPT, KNOWN)
    assert out.category == category
    hit = [e for e in out.evidence if e.rule == rule]
    assert hit and "v1" in hit[0].detail
    if rule == "category.model.decides":
        assert out.department == DEPT(category) and not out.low_confidence
    if rule == "category.model.consulted" and rules.low_confidence:
        assert out.low_confidence
