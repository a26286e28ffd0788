"""Load and save the versioned text-model file (``[model] path``; issue 15).

``save`` writes ``text-model-vN.joblib`` beside the configured path (N one more than the
highest there) and then replaces the configured file with the same bytes atomically, so the
daemon reads either the old or the new model, never half of one. The file is a joblib
pickle written only by ``intake train``: load it only from the storage folder you own.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
from datetime import datetime
from pathlib import Path

from intake.domain.textmodel import TextModel

log = logging.getLogger("intake.model")

FORMAT = "intake-text-model/1"


def next_version(path: Path, now: datetime) -> str:
    numbers = [int(m.group(1)) for p in path.parent.glob("text-model-v*.joblib")
               if (m := re.match(r"text-model-v(\d+)", p.name))]
    return f"v{max(numbers, default=0) + 1}-{now:%Y%m%dT%H%MZ}"


def save(model: TextModel, path: Path) -> Path:
    """Write the versioned file and make it current; returns the versioned path."""
    import joblib
    import sklearn

    path.parent.mkdir(parents=True, exist_ok=True)
    number = model.version.split("-", 1)[0]
    versioned = path.parent / f"text-model-{number}.joblib"
    payload = {"format": FORMAT, "version": model.version, "labels": list(model.labels),
               "trained_on": model.trained_on, "sklearn": sklearn.__version__, "pipeline": model.pipeline}
    with tempfile.NamedTemporaryFile(dir=path.parent, delete=False, suffix=".tmp") as tmp:
        joblib.dump(payload, tmp)
        tmp.flush()
        os.fsync(tmp.fileno())
    os.replace(tmp.name, versioned)
    with tempfile.NamedTemporaryFile(dir=path.parent, delete=False, suffix=".tmp") as tmp:
        with open(versioned, "rb") as src:
            shutil.copyfileobj(src, tmp)
        tmp.flush()
        os.fsync(tmp.fileno())
    os.replace(tmp.name, path)
    return versioned


class ModelFileError(Exception):
    pass


def load(path: Path) -> TextModel | None:
    """The model at ``path``; None when there is no file (rules only). A file that is not a model
    of this format raises ModelFileError naming the file."""
    if not path.is_file():
        return None
    import joblib
    import sklearn

    try:
        payload = joblib.load(path)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is reported the same way
        raise ModelFileError(f"{path}: not a readable model file ({type(exc).__name__}: {exc})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ModelFileError(f"{path}: not an intake text model (format {FORMAT!r} expected); run `intake train`")
    if payload.get("sklearn") != sklearn.__version__:
        log.warning("model %s was trained with scikit-learn %s, running %s; retrain with `intake train`",
                    path, payload.get("sklearn"), sklearn.__version__)
    return TextModel(payload["pipeline"], payload["version"], tuple(payload["labels"]), payload["trained_on"])
