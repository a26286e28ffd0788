"""The ``intake`` command: wiring only.

    intake [--config PATH] run [--once]
    intake check-config
    intake db upgrade | current
    intake inspect FILE.eml [--json]
    intake deadline --received ISO --policy ID [--json]
    intake templates list | lint [NAME…] | preview NAME
    intake messages list [--stage S] | retry ID
    intake cases list | show REF
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import NoReturn

from intake.errors import ConfigErrors, IntakeError
from intake.logging_setup import setup_logging

log = logging.getLogger("intake")


def _config_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, default=None,
                        help="path to intake.toml (default $INTAKE_CONFIG, else config/intake.toml)")


def build_parser() -> argparse.ArgumentParser:
    from intake.commands import (backup, cases, deadline, evaluate, inspect, privacy, report, store, templates,
                                 train, web)

    parser = argparse.ArgumentParser(prog="intake", description="E-mail, fax and post intake daemon")
    _config_arg(parser)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the daemon (or one pass with --once)")
    run.add_argument("--once", action="store_true", help="fetch and process everything pending, send what is due, exit")
    run.set_defaults(handler=cmd_run)

    check = sub.add_parser("check-config", help="validate intake.toml, staff.toml and the rule files")
    check.set_defaults(handler=cmd_check_config)

    db = sub.add_parser("db", help="database schema")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    up = db_sub.add_parser("upgrade", help="apply Alembic migrations up to the code's schema")
    up.set_defaults(handler=cmd_db_upgrade)
    cur = db_sub.add_parser("current", help="print the schema revision")
    cur.set_defaults(handler=cmd_db_current)

    inspect.register(sub)
    deadline.register(sub)
    templates.register(sub)
    cases.register(sub)
    evaluate.register(sub)
    report.register(sub)
    web.register(sub)
    store.register(sub)
    privacy.register(sub)
    backup.register(sub)
    train.register(sub)
    return parser


def entry() -> NoReturn:
    """The ``intake`` program (console script and ``python -m intake``)."""
    sys.exit(main())


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging(verbose=args.verbose)
    handler = getattr(args, "handler", None) or getattr(args, "func")
    if args.command == "templates" and not hasattr(args, "templates_dir"):
        args.templates_dir = _templates_dir(args)
    try:
        return int(handler(args) or 0)
    except ConfigErrors as exc:
        print("configuration errors:", file=sys.stderr)
        for err in exc.errors:
            print(f"  {err}", file=sys.stderr)
        return 2
    except IntakeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _templates_dir(args) -> Path:
    """``[templates] path`` from the config, when the config can be read; else ./templates."""
    from intake.settings import load_settings

    try:
        return load_settings(args.config, require_secrets=False).templates.path
    except (ConfigErrors, OSError):
        return Path("templates")


def load(args):
    from intake.settings import load_settings

    return load_settings(args.config)


def cmd_run(args) -> int:
    from intake.app import build_app
    from intake.daemon import Daemon, run_once
    from intake.db import require_current_schema
    from intake.reporting import print_once_report

    settings = load(args)
    app = build_app(settings, clock=_clock())
    try:
        require_current_schema(app.engine)
        if args.once:
            report = run_once(app)
            print_once_report(app, report)
            return 0
        return Daemon(app).run()
    finally:
        app.engine.dispose()


def _clock():
    from datetime import datetime, timedelta, timezone

    from intake.testing_hooks import clock_skew_seconds

    skew = timedelta(seconds=clock_skew_seconds())
    if not skew:
        return lambda: datetime.now(timezone.utc)
    return lambda: datetime.now(timezone.utc) + skew


def cmd_check_config(args) -> int:
    from intake.app import build_app

    settings = load(args)
    app = build_app(settings)
    problems = app.templates.lint()
    if problems:
        print("template problems:", file=sys.stderr)
        for p in problems:
            print(f"  {p}", file=sys.stderr)
        return 2
    print(f"{settings.config_file}: ok ({len(settings.roster.staff)} staff in "
          f"{len(settings.roster.departments)} departments, "
          f"{len(app.rules.category_rules.categories)} categories, {len(app.policies)} policies)")
    return 0


def cmd_db_upgrade(args) -> int:
    from intake.db import current_revision, make_engine, upgrade

    settings = load(args)
    engine = make_engine(settings.database.url)
    upgrade(engine)
    print(f"database at revision {current_revision(engine)}")
    return 0


def cmd_db_current(args) -> int:
    from intake.db import current_revision, head_revision, make_engine

    settings = load(args)
    engine = make_engine(settings.database.url)
    print(json.dumps({"current": current_revision(engine), "head": head_revision()}))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
