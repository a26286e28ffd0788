"""The house rule on size: no module in intake/ over 450 lines, no function over 60.

A module or function may be longer when it says why in a ``# long: <reason>``
comment (for a function: on the line above it, its decorators or anywhere in
it; for a module: a comment line of its own at column 0).

Alembic migrations (``intake/migrations/versions/``) are not checked: each is a
frozen record of one schema change, generated and never edited afterwards.

``OWNED_ELSEWHERE`` lists what other branches were changing when this test was
written; each entry is a TODO for the lead to shrink after the merge.  An entry
that is no longer needed fails ``test_allowlist_has_no_stale_entries``, so the
list only ever gets shorter.

Run ``python tests/test_code_shape.py`` to print every over-long module and
function, allowlisted or not.
"""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "intake"
MAX_MODULE_LINES = 450
MAX_FUNCTION_LINES = 60
_REASON_RE = re.compile(r"#\s*long:\s*\S.{8,}")

#: TODO(lead): shrink after the merge.  Path relative to the repository -> the
#: over-long functions ("" = the module itself) and whose they were.
OWNED_ELSEWHERE: dict[str, tuple[str, set[str]]] = {}


@dataclass(frozen=True)
class Finding:
    path: str          # relative to the repository
    name: str          # function name, "" for the module
    lines: int
    line: int          # where it starts

    def __str__(self) -> str:
        what = f"function {self.name}" if self.name else "module"
        limit = MAX_FUNCTION_LINES if self.name else MAX_MODULE_LINES
        return f"{self.path}:{self.line}: {what} has {self.lines} lines (limit {limit})"


def _has_reason(lines: list[str], first: int, last: int) -> bool:
    """A ``# long:`` comment on lines first..last (1-based, inclusive)."""
    return any(_REASON_RE.search(line) for line in lines[max(0, first - 1):last])


def over_long(path: Path, root: Path = ROOT) -> list[Finding]:
    """Over-long module and functions of one file that give no reason."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    rel = path.relative_to(root).as_posix()
    found = []
    if len(lines) > MAX_MODULE_LINES and not any(
            line.startswith("#") and _REASON_RE.search(line) for line in lines):
        found.append(Finding(rel, "", len(lines), 1))
    for node in ast.walk(ast.parse(text, filename=str(path))):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        size = node.end_lineno - node.lineno + 1
        start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
        if size > MAX_FUNCTION_LINES and not _has_reason(lines, start - 1, node.end_lineno):
            found.append(Finding(rel, node.name, size, node.lineno))
    return found


MIGRATIONS = PACKAGE / "migrations" / "versions"


def all_findings() -> list[Finding]:
    return [f for path in sorted(PACKAGE.rglob("*.py")) if MIGRATIONS not in path.parents
            for f in over_long(path)]


def _allowed(finding: Finding) -> bool:
    entry = OWNED_ELSEWHERE.get(finding.path)
    return entry is not None and finding.name in entry[1]


def test_modules_and_functions_are_short_or_say_why():
    bad = [str(f) for f in all_findings() if not _allowed(f)]
    assert not bad, ("split these, or say why in a '# long: <reason>' comment:\n  "
                     + "\n  ".join(bad))


def test_allowlist_has_no_stale_entries():
    present = {(f.path, f.name) for f in all_findings()}
    stale = [f"{path} {name or '(module)'}" for path, (_who, names) in OWNED_ELSEWHERE.items()
             for name in names if (path, name) not in present]
    assert not stale, "now short enough; remove from OWNED_ELSEWHERE:\n  " + "\n  ".join(stale)


def test_the_check_finds_long_code_and_honours_reasons(tmp_path):
    body = "\n".join(f"    x{i} = {i}" for i in range(70))
    probe = tmp_path / "probe.py"
    probe.write_text(f"def f():\n{body}\n\n\ndef g():\n    return 1\n")
    assert [(f.name, f.lines) for f in over_long(probe, tmp_path)] == [("f", 71)]
    probe.write_text(f"# long: a table the reader wants in one piece\ndef f():\n{body}\n")
    assert over_long(probe, tmp_path) == []
    probe.write_text(f"def f():\n    # long:\n{body}\n")          # a reason is required
    assert [f.name for f in over_long(probe, tmp_path)] == ["f"]
    probe.write_text("x = 1\n" * 451)
    assert [(f.name, f.lines) for f in over_long(probe, tmp_path)] == [("", 451)]
    probe.write_text("# long: generated table, one row a line\n" + "x = 1\n" * 451)
    assert over_long(probe, tmp_path) == []


if __name__ == "__main__":
    for finding in all_findings():
        mark = "  (allowlisted: " + OWNED_ELSEWHERE[finding.path][0] + ")" if _allowed(finding) else ""
        print(f"{finding}{mark}")
    sys.exit(0)
