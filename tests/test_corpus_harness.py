"""The corpus harness reads zammad's YAML subjects as YAML does (bench/parse_corpus.py)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[1] / "bench" / "parse_corpus.py"
_SPEC = importlib.util.spec_from_file_location("parse_corpus", _PATH)
parse_corpus = importlib.util.module_from_spec(_SPEC)
sys.modules.setdefault("parse_corpus", parse_corpus)   # dataclasses look their module up
_SPEC.loader.exec_module(parse_corpus)


@pytest.mark.parametrize("value, expected", [
    ("plain subject", "plain subject"),
    ("'it''s'", "it's"),
    # zammad mail049: a single-quoted scalar folded over two lines
    ("'Kinderschwimmbrille ABC: keine verhedderten\n  Haare (Pressemitteilung)'",
     "Kinderschwimmbrille ABC: keine verhedderten Haare (Pressemitteilung)"),
    ('"-90%! Nur 3,90 EUR: Headset mit Bluetooth 4.1\n  und Magnetverschluss"',
     "-90%! Nur 3,90 EUR: Headset mit Bluetooth 4.1 und Magnetverschluss"),
    ('"caf\\u00e9 \\x41\\"q\\""', 'café A"q"'),
    ('"joined \\\n  here"', "joined here"),                 # escaped line break: no space
    ('"kept\\ \n  space"', "kept  space"),                  # escaped space before the break
    ('"a\n\n  b"', "a\nb"),                                 # an empty line is a newline
    ('"x\n  \\   y"', "x    y"),                           # escaped leading space on a continuation
    ("|-", None), ("!binary |", None), ("", None),
])
def test_yaml_scalars(value, expected):
    assert parse_corpus._yml_scalar(value) == expected
