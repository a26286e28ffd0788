"""``intake inspect FILE.eml [--json]``: parse and decide, touching no database and no network."""

from __future__ import annotations

import argparse
import json
from datetime import datetime, timezone
from pathlib import Path


def register(subparsers) -> None:
    p = subparsers.add_parser("inspect", help="show every decision about one message (no database, no network)")
    p.add_argument("file", type=Path)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--page-text", type=Path, default=None,
                   help="use this text as the fax/post page text instead of running OCR")
    p.add_argument("--no-ocr", action="store_true", help="do not OCR fax/post pages")
    p.set_defaults(handler=run)


def inspect_file(path: Path, settings, *, page_text: str | None = None, ocr: bool = True) -> dict:
    from intake.app import load_rules
    from intake.domain.bounds import bounds_evidence
    from intake.domain.decide import inspect_json
    from intake.domain.mailparse import parse_message

    raw = path.read_bytes()
    received = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)
    mail = parse_message(raw, received)
    rules = load_rules(settings)
    if page_text is None and ocr:
        page_text = _ocr_pages(mail, rules)
    return {**inspect_json(mail, rules, page_text=page_text), "bounds": bounds_evidence(mail)}


def _ocr_pages(mail, rules) -> str | None:
    from intake.domain.channel import decide_channel
    from intake.domain.records import Channel
    from intake.domain.attachments import is_page

    if decide_channel(mail, rules.channel_rules).channel not in (Channel.FAX, Channel.POST):
        return None
    from intake.adapters.ocr import PageReader

    reader = PageReader()
    texts = []
    for att in mail.attachments:
        if is_page(att):
            res = reader.read_attachment(att.payload, att.content_type, att.filename, page_limit=20,
                                         seconds_per_page=60.0)
            if res.text.strip():
                texts.append(res.text)
    return "\n\f\n".join(texts) if texts else None


def run(args: argparse.Namespace) -> int:
    from intake.settings import load_settings

    settings = load_settings(args.config, require_secrets=False)
    page_text = args.page_text.read_text(encoding="utf-8") if args.page_text else None
    result = inspect_file(args.file, settings, page_text=page_text, ocr=not args.no_ocr)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, default=str))
    else:
        for key, value in result.items():
            if key != "text":
                print(f"{key}: {value}")
        print("text:\n" + result.get("text", ""))
    return 0
