"""``intake report``: the charter compliance report (html, csv, json) and the yearly disclosure table."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path

FORMATS = ("html", "csv", "json")


def register(subparsers) -> None:
    p = subparsers.add_parser("report", help="charter compliance report per clause (html, csv, json)")
    p.add_argument("--from", dest="start", metavar="YYYY-MM-DD", help="first day of the period (Seoul)")
    p.add_argument("--to", dest="end", metavar="YYYY-MM-DD", help="last day of the period (inclusive)")
    p.add_argument("--format", choices=FORMATS, default="html")
    p.add_argument("--out", metavar="FILE", help="write here (default: standard output; with --disclosure a "
                                                   "path prefix, default disclosure-YEAR)")
    p.add_argument("--department", metavar="ID", help="only this department's cases")
    p.add_argument("--channel", metavar="CHANNEL", help="only cases received by email | fax | post")
    p.add_argument("--as-of", metavar="ISO-TIME", help="count open clocks as of this moment (default now), "
                                                      "e.g. 2026-12-31T18:00+09:00")
    p.add_argument("--year", type=int, metavar="YYYY", help="a calendar year (instead of --from/--to)")
    p.add_argument("--disclosure", action="store_true",
                   help="the yearly public-disclosure summary (clause, promise, cases, rate, survey mean) "
                        "as PREFIX.csv and PREFIX.html")
    p.set_defaults(handler=cmd_report)


def _period(args: argparse.Namespace) -> tuple[date, date]:
    if args.year is not None:
        if args.start or args.end:
            raise ValueError("give either --year or --from/--to, not both")
        return date(args.year, 1, 1), date(args.year, 12, 31)
    if not (args.start and args.end):
        raise ValueError("give --from and --to (YYYY-MM-DD), or --year")
    try:
        start, end = date.fromisoformat(args.start), date.fromisoformat(args.end)
    except ValueError as exc:
        raise ValueError(f"--from/--to must be dates YYYY-MM-DD: {exc}") from None
    if end < start:
        raise ValueError(f"--to {end} is before --from {start}")
    return start, end


def _as_of(text: str | None):
    from datetime import datetime

    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"--as-of {text!r} is not an ISO time (e.g. 2026-12-31T18:00+09:00)") from None
    if moment.tzinfo is None:
        raise ValueError(f"--as-of {text!r} needs a UTC offset (e.g. +09:00)")
    return moment


def cmd_report(args: argparse.Namespace) -> int:
    from intake.app import build_app
    from intake.db import require_current_schema
    from intake.settings import load_settings

    try:
        start, end = _period(args)
        _as_of(args.as_of)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.disclosure and args.year is None:
        print("error: --disclosure needs --year YYYY", file=sys.stderr)
        return 2
    app = build_app(load_settings(args.config, require_secrets=False))
    try:
        require_current_schema(app.engine)
        filters = {"department": args.department, "channel": args.channel, "now": _as_of(args.as_of)}
        if args.disclosure:
            return _disclosure(app, start, end, args.out or f"disclosure-{args.year}", filters)
        return _write(args.out, render(app, args.format, start, end, filters))
    finally:
        app.engine.dispose()


def render(app, fmt: str, start: date, end: date, filters: dict) -> str:
    from intake.domain.report_formats import report_to_csv, report_to_json
    from intake.stages.report_data import compute_report, labels

    report = compute_report(app, start, end, **filters)
    if fmt == "json":
        return json.dumps(report_to_json(report, labels(app)), ensure_ascii=False, indent=1) + "\n"
    if fmt == "csv":
        return report_to_csv(report, labels(app))
    from intake.adapters.report_html import render_report_html

    return render_report_html(report, labels(app), app.org.name)


def _write(out: str | None, text: str) -> int:
    if out is None:
        sys.stdout.write(text)
        return 0
    path = Path(out)
    path.write_text(text, encoding="utf-8", newline="")
    print(f"report written to {path}", file=sys.stderr)
    return 0


def _disclosure(app, start: date, end: date, prefix: str, filters: dict) -> int:
    from intake.adapters.report_html import render_disclosure_html
    from intake.domain.report_formats import disclosure_csv
    from intake.stages.report_data import compute_report

    report = compute_report(app, start, end, **filters)
    for suffix, text in ((".csv", disclosure_csv(report)), (".html", render_disclosure_html(report, app.org.name))):
        path = Path(prefix + suffix)
        path.write_text(text, encoding="utf-8", newline="")
        print(path)
    return 0
