"""``intake train [--samples DIR --labels FILE] [--no-db] [--test-share 0.25]``: rebuild the text model.

Examples: the labelled samples (cases by category; spam as ``spam``; fax/post by their page
text) and every case staff corrected in the database. Prints per-label precision and recall on a
held-out split, then trains on everything and writes a new versioned model file (``[model] path``,
default ``<storage>/models/text-model.joblib``). The held-out evaluation set under bench/heldout
is never read here.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timezone
from pathlib import Path

EXIT_NO_DATA = 2


def register(subparsers) -> None:
    p = subparsers.add_parser("train", help="rebuild the text model from the labelled samples and staff corrections")
    p.add_argument("--samples", type=Path, default=None, help="folder of labelled .eml samples")
    p.add_argument("--labels", type=Path, default=None, help="labels.jsonl (default SAMPLES/labels.jsonl)")
    p.add_argument("--no-db", action="store_true", help="do not read staff corrections from the database")
    p.add_argument("--test-share", type=float, default=0.25, help="share of each label held out for the scores")
    p.add_argument("--out", type=Path, default=None, help="model file (default: [model] path)")
    p.set_defaults(handler=run)


def sample_examples(folder: Path, labels: list[dict]) -> list:
    """Cases and spam among the labelled samples; fax/post read by their page text."""
    from intake.domain.mailparse import parse_message
    from intake.domain.textmodel import SPAM, Example, model_text

    out = []
    for lab in labels:
        if lab.get("kind") not in ("case", "spam"):
            continue
        path = folder / lab["file"]
        if not path.is_file():
            continue
        mail = parse_message(path.read_bytes(), datetime.now(timezone.utc))
        text = lab.get("rendered_text") or mail.text or ""
        label = lab["category"] if lab["kind"] == "case" else SPAM
        if label:
            out.append(Example(model_text(lab.get("subject") or mail.subject, text), label, f"sample:{lab['file']}"))
    return out


def _db_examples(settings) -> list:
    from intake.db import make_engine, require_current_schema, transaction
    from intake.stages.training import corrected_case_examples

    engine = make_engine(settings.database.url)
    try:
        require_current_schema(engine)
        with transaction(engine) as session:
            return corrected_case_examples(session)
    finally:
        engine.dispose()


def run(args: argparse.Namespace) -> int:
    from intake.adapters.model_store import next_version, save
    from intake.commands.evaluate import LabelsError, read_labels
    from intake.domain.textmodel import held_out_scores, train
    from intake.settings import load_settings

    settings = load_settings(args.config, require_secrets=False)
    examples = []
    if args.samples is not None:
        try:
            examples += sample_examples(args.samples, read_labels(args.labels or args.samples / "labels.jsonl"))
        except LabelsError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_NO_DATA
    if not args.no_db:
        examples += _db_examples(settings)
    labels = sorted({e.label for e in examples})
    if len(labels) < 2:
        print(f"error: {len(examples)} examples with labels {labels}: need at least two labels "
              "(give --samples or correct some cases first)", file=sys.stderr)
        return EXIT_NO_DATA
    print(f"{len(examples)} examples, {len(labels)} labels")
    scores = held_out_scores(examples, args.test_share)
    print(f"held-out split ({args.test_share:.0%} of each label):")
    print(f"  {'label':<26} precision  recall  support")
    for s in scores:
        print(f"  {s.label:<26} {s.precision:9.2f}  {s.recall:6.2f}  {s.support:7d}")
    out = args.out or settings.model_path
    model = train(examples, next_version(out, datetime.now(timezone.utc)))
    versioned = save(model, out)
    print(f"model {model.version} written to {versioned} and {out}")
    return 0
