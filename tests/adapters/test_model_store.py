"""Saving and loading the versioned model file (real files in a temporary folder)."""

from datetime import datetime, timezone

import pytest

from intake.adapters.model_store import ModelFileError, load, next_version, save
from intake.domain.textmodel import Example, model_text, train

NOW = datetime(2026, 12, 4, 19, 50, tzinfo=timezone.utc)
EXAMPLES = [Example(model_text("교육 신청", "교육 과정 신청"), "training"),
            Example(model_text("교육 문의", "교육 일정 문의"), "training"),
            Example(model_text("방북증명서", "방북증명서 발급"), "visit-certificate"),
            Example(model_text("방북 증명서", "증명서 수령"), "visit-certificate")]


def test_save_load_and_versions(tmp_path):
    path = tmp_path / "models" / "text-model.joblib"
    assert load(path) is None
    v1 = next_version(path, NOW)
    assert v1 == "v1-20261204T1950Z"
    written = save(train(EXAMPLES, v1), path)
    assert written.name == "text-model-v1.joblib" and path.is_file()
    assert next_version(path, NOW).startswith("v2-")
    save(train(EXAMPLES, next_version(path, NOW)), path)
    model = load(path)
    assert model.version.startswith("v2-") and model.trained_on == 4
    assert model.predict("방북증명서 발급 문의").label == "visit-certificate"
    assert load(tmp_path / "models" / "text-model-v1.joblib").version == v1


def test_a_file_that_is_not_a_model_names_itself(tmp_path):
    bad = tmp_path / "text-model.joblib"
    bad.write_bytes(b"not a model")
    with pytest.raises(ModelFileError, match=str(bad)):
        load(bad)
