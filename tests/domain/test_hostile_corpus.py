"""Hostile mail (tests/data/hostile/make_hostile.py) is parsed and decided in bounded time, and
every cap that bit is recorded. Through ``inspect_file``: the deployed parse + decide path."""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import pytest

from intake.commands.inspect import inspect_file
from intake.devservers.localconfig import offline_config
from intake.settings import load_settings

MAKER = Path(__file__).resolve().parents[1] / "data" / "hostile" / "make_hostile.py"
SECONDS_PER_MAIL = 15          # before the caps: 48 s (6 MB Korean body), 22 s (encoded-word subject)


def load_maker():
    spec = importlib.util.spec_from_file_location("make_hostile", MAKER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return {p.stem: p for p in load_maker().write_corpus(tmp_path_factory.mktemp("hostile"))}


@pytest.fixture(scope="module")
def settings(tmp_path_factory):
    return load_settings(offline_config(tmp_path_factory.mktemp("config")), require_secrets=False)


def test_the_corpus_is_deterministic(tmp_path):
    maker = load_maker()
    first = maker.write_corpus(tmp_path / "a", ["encoded-word-subject", "png-bomb"])
    second = maker.write_corpus(tmp_path / "b", ["encoded-word-subject", "png-bomb"])
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]


@pytest.mark.parametrize("name", list(load_maker().HOSTILE))
def test_each_hostile_mail_is_decided_in_seconds(corpus, settings, name):
    started = time.monotonic()
    result = inspect_file(corpus[name], settings)
    assert time.monotonic() - started < SECONDS_PER_MAIL
    assert result["kind"]


@pytest.mark.parametrize("name, cap", [
    ("huge-korean-body", "the body text has"),
    ("encoded-word-subject", "subject has"),
    ("header-storm", "header fields, only the first 500"),
    ("huge-html-table", "the HTML body has"),
])
def test_the_cap_that_bit_is_in_the_evidence(corpus, settings, name, cap):
    result = inspect_file(corpus[name], settings)
    assert any(cap in b for b in result["bounds"]), result["bounds"]
