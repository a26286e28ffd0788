"""The core stays pure: intake/domain/ does no I/O and reads no clock."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

DOMAIN = Path(__file__).resolve().parents[2] / "intake" / "domain"
FORBIDDEN_MODULES = {
    "socket", "ssl", "smtplib", "imaplib", "imapclient", "sqlite3", "sqlalchemy", "sqlmodel", "psycopg",
    "subprocess", "shutil", "tempfile", "requests", "urllib", "http", "asyncio", "threading", "aiosmtpd",
    "time", "intake.db", "intake.models", "intake.adapters", "intake.stages", "intake.daemon", "intake.runner",
}
FORBIDDEN_CALLS = {"now", "utcnow", "today", "open", "read_text", "read_bytes", "write_text", "write_bytes"}


def _modules():
    return sorted(p for p in DOMAIN.glob("*.py"))


@pytest.mark.parametrize("path", _modules(), ids=lambda p: p.name)
def test_domain_module_imports_no_io(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        for name in names:
            assert not any(name == m or name.startswith(m + ".") for m in FORBIDDEN_MODULES), \
                f"{path.name} imports {name}"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: p.name)
def test_domain_module_reads_no_clock_and_no_files(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            fn = node.func
            name = fn.attr if isinstance(fn, ast.Attribute) else fn.id if isinstance(fn, ast.Name) else None
            assert name not in FORBIDDEN_CALLS, f"{path.name}:{node.lineno} calls {name}()"
