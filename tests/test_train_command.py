"""``intake train`` from labelled samples (no database): scores printed, a versioned model written,
and ``intake inspect`` then names the model version in its evidence."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.fixtures import mailbuild as mb

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "config" / "intake.toml"

TEXTS = [("training", "교육 신청", "역량강화 교육 과정에 신청합니다."),
         ("training", "교육 일정", "다음 교육 과정 일정을 알려 주십시오."),
         ("training", "강좌 참가", "교육 강좌에 참가하고 싶습니다."),
         ("visit-certificate", "방북증명서 발급", "방북증명서를 발급해 주십시오."),
         ("visit-certificate", "증명서 수령", "방북증명서 수령 날짜를 알려 주십시오."),
         ("visit-certificate", "방북 증명서", "방북증명서 대리 수령이 됩니까?")]


def _intake(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "intake", "--config", str(CONFIG), *args],
                          capture_output=True, text=True, timeout=300)


def test_train_writes_a_versioned_model(tmp_path):
    labels = []
    for i, (cat, subject, body) in enumerate(TEXTS):
        name = f"t{i}.eml"
        (tmp_path / name).write_bytes(mb.message([("Subject", mb.encoded_word(subject, "utf-8"))],
                                                 mb.text_part(body, "utf-8", "base64")))
        labels.append({"file": name, "kind": "case", "category": cat, "subject": subject})
    (tmp_path / "labels.jsonl").write_text("\n".join(json.dumps(l, ensure_ascii=False) for l in labels), "utf-8")
    out = tmp_path / "models" / "text-model.joblib"
    res = _intake("train", "--samples", str(tmp_path), "--no-db", "--out", str(out))
    assert res.returncode == 0, res.stderr
    assert "6 examples, 2 labels" in res.stdout
    assert "precision" in res.stdout and "visit-certificate" in res.stdout
    assert out.is_file() and (out.parent / "text-model-v1.joblib").is_file()


def test_train_without_data_says_so(tmp_path):
    (tmp_path / "labels.jsonl").write_text("", "utf-8")
    res = _intake("train", "--samples", str(tmp_path), "--no-db", "--out", str(tmp_path / "m.joblib"))
    assert res.returncode == 2 and "need at least two labels" in res.stderr
