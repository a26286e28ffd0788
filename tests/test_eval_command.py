"""``intake eval`` end to end: a subprocess over the labelled samples (no OCR, no database)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "tests" / "data" / "samples"
CONFIG = REPO / "config" / "intake.toml"
FIELDS = ("kind", "channel", "category", "department", "reply_to", "fax_number", "phone", "case_ref", "language",
          "pii")


def _intake(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "intake", "--config", str(CONFIG), *args],
                          capture_output=True, text=True, cwd=str(REPO), timeout=600)


def test_eval_json_over_the_samples():
    proc = _intake("eval", str(SAMPLES), "--labels", str(SAMPLES / "labels.jsonl"), "--no-ocr", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    labels = [line for line in (SAMPLES / "labels.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    assert out["total"] == len(labels)
    assert out["ocr"] is False
    assert out["crashes"] == []
    for name in FIELDS:
        score = out["fields"][name]
        assert set(score) == {"correct", "total", "accuracy"}, name
        assert score["total"] == len(labels)
    assert out["fields"]["kind"]["accuracy"] >= 0.98
    assert set(out["category_by_channel"]) == {"email", "fax", "post"}
    for miss in out["misses"]:
        assert set(miss) == {"file", "field", "expected", "got"}
        assert miss["field"] in FIELDS
    labels_cm = out["confusion"]["labels"]
    assert labels_cm and set(out["confusion"]["rows"]) == set(labels_cm)
    assert sum(sum(row.values()) for row in out["confusion"]["rows"].values()) > 0


def test_eval_text_report_and_a_crash_does_not_stop_the_run(tmp_path):
    (tmp_path / "good.eml").write_bytes((SAMPLES / "sample-001.eml").read_bytes())
    first = json.loads((SAMPLES / "labels.jsonl").read_text(encoding="utf-8").splitlines()[0])
    good = dict(first, file="good.eml")
    missing = dict(first, file="missing.eml")          # inspect raises: counted as a crash
    labels = tmp_path / "labels.jsonl"
    labels.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in (missing, good)) + "\n", encoding="utf-8")
    proc = _intake("eval", str(tmp_path), "--labels", str(labels), "--no-ocr")
    assert proc.returncode == 0, proc.stderr
    assert "2 messages, 1 crashed" in proc.stdout
    assert "missing.eml: FileNotFoundError" in proc.stdout
    assert "kind" in proc.stdout and "category confusion matrix" in proc.stdout


def test_eval_unreadable_labels_is_an_error(tmp_path):
    proc = _intake("eval", str(SAMPLES), "--labels", str(tmp_path / "nope.jsonl"), "--no-ocr")
    assert proc.returncode != 0
    assert "cannot read labels file" in proc.stderr
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"file": "a.eml"}\nnot json\n', encoding="utf-8")
    proc = _intake("eval", str(SAMPLES), "--labels", str(bad), "--no-ocr")
    assert proc.returncode != 0
    assert "bad.jsonl:2" in proc.stderr
