"""The issue-15 targets from an ``intake eval --json`` result over the held-out set.

    .venv/bin/intake eval bench/heldout/mail --labels bench/heldout/labels.jsonl --json > eval.json
    .venv/bin/python bench/eval_heldout.py eval.json [--labels bench/heldout/labels.jsonl]

Prints kind, channel, caller fax number (over the fax messages), category by channel, department and
"robots answered" (auto-replies, bounces and spam decided as a new case, i.e. acknowledged), each
with its target. Computed from the labels and the misses, so older eval output can be scored too.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

TARGETS = {"kind": 0.98, "channel": 0.98, "fax_number (fax)": 0.95, "category email": 0.90,
           "category fax": 0.80, "category post": 0.80, "department": 0.92}
ROBOTS = ("auto-reply", "bounce", "spam")


def figures(result: dict, labels: list[dict]) -> dict[str, tuple[int, int]]:
    by_file = {lab["file"]: lab for lab in labels}
    missed = Counter()
    robots_answered = 0
    for m in result["misses"]:
        missed[(m["file"], m["field"])] += 1
        lab = by_file.get(m["file"], {})
        if m["field"] == "kind" and lab.get("kind") in ROBOTS and m["got"] == "case":
            robots_answered += 1
    crashed = {c["file"] for c in result.get("crashes", [])}
    n = len(labels)
    out: dict[str, tuple[int, int]] = {}
    for field in ("kind", "channel", "department"):
        out[field] = (n - sum(1 for lab in labels if (lab["file"], field) in missed or lab["file"] in crashed), n)
    fax = [lab for lab in labels if lab.get("channel") == "fax"]
    out["fax_number (fax)"] = (sum(1 for lab in fax if (lab["file"], "fax_number") not in missed
                                   and lab["file"] not in crashed), len(fax))
    for ch, score in result["category_by_channel"].items():
        out[f"category {ch}"] = (score["correct"], score["total"])
    robots = sum(1 for lab in labels if lab.get("kind") in ROBOTS)
    out["robots answered"] = (robots_answered, robots)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("result", type=Path)
    ap.add_argument("--labels", type=Path, default=Path(__file__).parent / "heldout" / "labels.jsonl")
    args = ap.parse_args()
    result = json.loads(args.result.read_text(encoding="utf-8"))
    labels = [json.loads(line) for line in args.labels.read_text(encoding="utf-8").splitlines() if line.strip()]
    for name, (ok, total) in figures(result, labels).items():
        target = TARGETS.get(name)
        share = ok / total if total else 0.0
        if name == "robots answered":
            print(f"{name:<18} {ok:>4} of {total} robots (target 0)")
        else:
            print(f"{name:<18} {share:6.3f}  {ok:>4}/{total:<4} target {target if target else '-'}"
                  + ("" if target is None or share >= target else "  BELOW"))


if __name__ == "__main__":
    main()
