"""OCR accuracy and speed on the fax and post samples.

Usage: .venv/bin/python bench/ocr_samples.py [SAMPLES_DIR] [--page-limit N] [--seconds-per-page S]

For every sample labelled channel "fax" or "post" in labels.jsonl, pulls the
TIFF/PDF attachments out of the .eml (stdlib ``email``), reads them with
``PageReader`` and compares the text with the label's ``rendered_text``:
character accuracy (1 - normalised edit distance, whitespace runs collapsed)
and the whitespace-insensitive variant, seconds per page and page methods.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from intake.adapters.ocr import PAGE_SEPARATOR, PageReader  # noqa: E402
from intake.adapters.ocr_metrics import char_accuracy  # noqa: E402

DEFAULT_SAMPLES = Path(__file__).resolve().parents[1] / "tests" / "data" / "samples"
PAGE_TYPES = ("application/pdf", "image/tiff", "image/jpeg", "image/png")


def attachments(eml: Path):
    msg = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    for part in msg.iter_attachments():
        name = part.get_filename() or ""
        ctype = part.get_content_type()
        if ctype in PAGE_TYPES or name.lower().endswith((".pdf", ".tif", ".tiff", ".jpg", ".png")):
            yield part.get_payload(decode=True) or b"", ctype, name


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("samples", nargs="?", type=Path, default=DEFAULT_SAMPLES)
    ap.add_argument("--page-limit", type=int, default=20)
    ap.add_argument("--seconds-per-page", type=float, default=60.0)
    args = ap.parse_args(argv)

    reader = PageReader()
    rows = []
    print(f"{'file':<16} {'ch':<5} {'pages':>5} {'methods':<22} {'acc':>6} {'acc-nows':>8} {'s/page':>7}")
    for line in (args.samples / "labels.jsonl").read_text(encoding="utf-8").splitlines():
        label = json.loads(line)
        if label.get("channel") not in ("fax", "post"):
            continue
        texts, methods, seconds, pages, problems = [], [], 0.0, 0, []
        for payload, ctype, name in attachments(args.samples / label["file"]):
            started = time.monotonic()
            result = reader.read_attachment(
                payload, ctype, name,
                page_limit=args.page_limit, seconds_per_page=args.seconds_per_page,
            )
            seconds += time.monotonic() - started
            pages += len(result.pages)
            methods += [p.method for p in result.pages]
            problems += result.problems
            texts.append(result.text)
        hypothesis = PAGE_SEPARATOR.join(texts)
        reference = label.get("rendered_text") or ""
        acc = char_accuracy(reference, hypothesis)
        acc_nows = char_accuracy(reference, hypothesis, ignore_whitespace=True)
        per_page = seconds / pages if pages else 0.0
        rows.append((acc, acc_nows, seconds, pages))
        summary = ",".join(sorted(set(methods))) or "-"
        print(f"{label['file']:<16} {label['channel']:<5} {pages:>5} {summary:<22} "
              f"{acc:>6.3f} {acc_nows:>8.3f} {per_page:>7.2f}"
              + (f"  problems: {'; '.join(problems)}" if problems else ""))
    if not rows:
        print("no fax/post samples found")
        return 1
    n = len(rows)
    total_pages = sum(r[3] for r in rows)
    total_seconds = sum(r[2] for r in rows)
    print(f"\noverall: {n} files, {total_pages} pages, "
          f"mean acc {sum(r[0] for r in rows) / n:.3f}, "
          f"mean acc (whitespace-insensitive) {sum(r[1] for r in rows) / n:.3f}, "
          f"min acc {min(r[0] for r in rows):.3f}, "
          f"{total_seconds / max(total_pages, 1):.2f} s/page (wall, incl. rendering)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
