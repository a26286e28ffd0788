"""Fixtures of the template tests: a copy of the shipped templates and a store over it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from intake.adapters.templates import TemplateStore
from tests.adapters.templates.support import SHIPPED


@pytest.fixture
def folder(tmp_path) -> Path:
    dst = tmp_path / "templates"
    shutil.copytree(SHIPPED, dst)
    return dst


@pytest.fixture
def store(folder) -> TemplateStore:
    return TemplateStore(folder)

