"""Classification is linear in the input (issue 17 item 3): a body full of keyword hits."""

import tomllib
from pathlib import Path

import pytest

from intake.domain.classify import classify, load_category_rules, mark_keyword, normalise

RULES = load_category_rules(tomllib.loads(
    (Path(__file__).resolve().parents[2] / "config" / "categories.toml").read_text(encoding="utf-8")))


@pytest.mark.parametrize("unit,pattern,repeats", [
    ("교육 ", "교육", 200_000),            # 200k hits: a list of covered intervals would compare 2·10^10 pairs
    ("방북증명서 ", "방북", 100_000),
    ("abcabc", "abc", 100_000),
])
def test_mark_keyword_steps_are_linear(unit, pattern, repeats):
    text = normalise(unit * repeats)
    covered = bytearray(len(text))
    hit, steps = mark_keyword(text, pattern, covered)
    assert hit
    assert steps <= len(text) * 2          # len(pattern) per occurrence, occurrences ≤ len(text)/len(pattern)... ×2 for overlap
    assert steps == text.count(pattern) * len(pattern)


def test_covered_occurrences_do_not_count_again():
    text = normalise("방북증명서 방북증명서")
    covered = bytearray(len(text))
    assert mark_keyword(text, "방북증명서", covered)[0]
    assert mark_keyword(text, "방북", covered) == (False, 4)
    assert mark_keyword(text + "방북", "방북", bytearray(len(text) + 2))[0]


def test_large_keyword_dense_body_is_classified():
    body = ("교육 과정 신청 " * 150_000)    # ~2.4 MB, ~450k keyword hits
    result = classify({"subject": "교육 신청", "body": body}, RULES)
    assert result.category == "training"
