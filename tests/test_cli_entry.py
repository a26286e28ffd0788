"""The ``intake`` program exits without interpreter teardown: output complete, exit code kept,
``atexit`` hooks run."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _run(tmp_path: Path, argv: list[str]) -> tuple[subprocess.CompletedProcess, Path]:
    marker = tmp_path / "atexit-ran"
    script = textwrap.dedent(f"""
        import atexit, sys
        atexit.register(lambda: open({str(marker)!r}, "w").write("ran"))
        sys.argv = ["intake"] + {argv!r}
        from intake.cli import entry
        entry()
        raise SystemExit("entry() returned")
    """)
    return subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True,
                          timeout=120), marker


def test_output_and_exit_code_survive_the_fast_exit(tmp_path):
    done, marker = _run(tmp_path, ["deadline", "--received", "2026-11-25T19:30:00+09:00", "--policy", "reply",
                                   "--json"])
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["due"] == "2026-11-27T18:00:00+09:00"
    assert marker.read_text() == "ran"


def test_a_failing_command_keeps_its_exit_code_and_message(tmp_path):
    bad = tmp_path / "intake.toml"
    bad.write_text("[imap]\nport = 'not a number'\n", encoding="utf-8")
    done, marker = _run(tmp_path, ["--config", str(bad), "check-config"])
    assert done.returncode == 2
    assert "configuration errors" in done.stderr and str(bad) in done.stderr
    assert marker.read_text() == "ran"


def test_python_dash_m_intake_uses_it(tmp_path):
    done = subprocess.run([sys.executable, "-m", "intake", "deadline", "--received", "2026-04-30T16:00:00+09:00",
                           "--policy", "reply", "--json"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["due"] == "2026-05-06T16:00:00+09:00"
