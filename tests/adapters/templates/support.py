"""Shared helpers of the template tests (fixtures are in conftest.py)."""

from __future__ import annotations

import os
from datetime import timedelta, timezone
from pathlib import Path

from intake.adapters import templates as T

ROOT = Path(__file__).resolve().parents[3]
SHIPPED = ROOT / "templates"
KST = timezone(timedelta(hours=9))


def render_source(source: str, context: dict | None = None, *, html_part: bool = False,
                  seconds: float = T.MAX_RENDER_SECONDS) -> str:
    env = T.SafeTemplateEnvironment(html=html_part)
    return T.render_part(T.compile_template(env, source, "t.txt.j2"), context or {}, seconds=seconds)


def edit(path: Path, text: str) -> None:
    """Write and make sure the mtime moves even on coarse file systems."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text, encoding="utf-8")
    st = path.stat()
    if st.st_mtime_ns == before:
        os.utime(path, ns=(st.st_atime_ns, before + 1_000_000))

def strip_phone(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if "handler.phone" not in line) + "\n"
