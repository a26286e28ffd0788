"""``intake eval DIR --labels labels.jsonl [--json] [--no-ocr]`` and ``intake eval --corrections``.

The first form runs ``inspect_file`` over every labelled message (no database,
no network; OCR of fax/post pages unless ``--no-ocr``) and prints per-field
accuracy, category accuracy per channel, the misses and the category confusion
matrix. A message that raises is counted as a crash and the run goes on. It is
a measurement, not a test: the exit code is 0 unless the labels file cannot be
read.

``--corrections`` reads the database and reports how often staff overruled the
rules (reclassifications and reassignments).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

log = logging.getLogger("intake.eval")

EXIT_BAD_LABELS = 2


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "eval", help="measure the decisions against labelled samples; or report staff corrections")
    p.add_argument("dir", type=Path, nargs="?", default=None, help="folder holding the labelled .eml files")
    p.add_argument("--labels", type=Path, default=None, help="labels.jsonl (default DIR/labels.jsonl)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--no-ocr", action="store_true", help="do not OCR fax/post pages")
    p.add_argument("--corrections", action="store_true",
                   help="report staff corrections from the database (how often the rules were overruled)")
    p.set_defaults(handler=run)


class LabelsError(Exception):
    pass


def read_labels(path: Path) -> list[dict]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LabelsError(f"cannot read labels file {path}: {exc}") from None
    labels = []
    for no, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            lab = json.loads(line)
        except json.JSONDecodeError as exc:
            raise LabelsError(f"{path}:{no}: not JSON: {exc}") from None
        if not isinstance(lab, dict) or not isinstance(lab.get("file"), str):
            raise LabelsError(f"{path}:{no}: a label must be an object with a \"file\" name")
        labels.append(lab)
    return labels


def run_samples(folder: Path, labels: list[dict], settings, *, ocr: bool) -> list:
    """``inspect_file`` over every labelled file; never raises for one message."""
    from intake.commands.inspect import inspect_file
    from intake.domain.evaluation import Outcome

    outcomes = []
    for lab in labels:
        path = folder / lab["file"]
        started = time.monotonic()
        try:
            result = inspect_file(path, settings, ocr=ocr)
        except Exception as exc:  # noqa: BLE001 - a crash is a measured outcome
            log.warning("inspect %s crashed: %s: %s", path.name, type(exc).__name__, exc)
            outcomes.append(Outcome(lab, None, f"{type(exc).__name__}: {exc}"))
            continue
        log.debug("inspected %s in %.2f s", path.name, time.monotonic() - started)
        outcomes.append(Outcome(lab, result))
    return outcomes


def run(args: argparse.Namespace) -> int:
    from intake.settings import load_settings

    if args.dir is None and not args.corrections:
        print("error: give a sample folder (intake eval DIR --labels FILE) or --corrections", file=sys.stderr)
        return EXIT_BAD_LABELS
    settings = load_settings(args.config, require_secrets=False)
    out: dict = {}
    text_parts: list[str] = []
    if args.dir is not None:
        from intake.domain.evaluation import evaluate, report_text

        labels_path = args.labels or (args.dir / "labels.jsonl")
        try:
            labels = read_labels(labels_path)
        except LabelsError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_BAD_LABELS
        started = time.monotonic()
        outcomes = run_samples(args.dir, labels, settings, ocr=not args.no_ocr)
        ev = evaluate(outcomes)
        out.update(ev.as_dict())
        out["ocr"] = not args.no_ocr
        out["seconds"] = round(time.monotonic() - started, 2)
        text_parts.append(f"samples {args.dir} ({'with' if not args.no_ocr else 'without'} OCR, "
                          f"{out['seconds']} s)\n" + report_text(ev))
    if args.corrections:
        from intake.db import make_engine, require_current_schema, transaction
        from intake.domain.evaluation import corrections_text
        from intake.stages.corrections import correction_summary

        engine = make_engine(settings.database.url)
        try:
            require_current_schema(engine)
            with transaction(engine) as session:
                summary = correction_summary(session)
        finally:
            engine.dispose()
        out["corrections"] = summary.as_dict()
        text_parts.append("staff corrections\n" + corrections_text(summary))
    if args.json:
        print(json.dumps(out, ensure_ascii=False, default=str))
    else:
        print("\n".join(text_parts), end="")
    return 0
