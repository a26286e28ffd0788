"""``intake purge [--dry-run]`` (retention) and ``intake reveal REF --actor ID`` (audited clear view)."""

from __future__ import annotations

import getpass
import json


def register(sub) -> None:
    p = sub.add_parser("purge", help="destroy the personal data of cases past their retention period")
    p.add_argument("--dry-run", action="store_true", help="count what would go; change nothing")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_purge)
    r = sub.add_parser("reveal", help="show a case's original text with 주민등록번호 in clear (audited)")
    r.add_argument("ref")
    r.add_argument("--actor", default=None, help="who asks (default cli:$USER)")
    r.set_defaults(func=cmd_reveal)


def _app(args):
    from datetime import datetime, timedelta, timezone

    from intake.app import build_app
    from intake.settings import load_settings
    from intake.testing_hooks import clock_skew_seconds

    skew = timedelta(seconds=clock_skew_seconds())     # tests only: time passing
    return build_app(load_settings(args.config, require_secrets=False),
                     clock=lambda: datetime.now(timezone.utc) + skew)


def cmd_purge(args) -> int:
    from intake.db import require_current_schema
    from intake.stages.purge import purge_due

    app = _app(args)
    require_current_schema(app.engine)
    report = purge_due(app, app.now(), dry_run=args.dry_run)
    if args.json:
        print(json.dumps(report.as_dict(), ensure_ascii=False))
    else:
        verb = "would purge" if args.dry_run else "purged"
        print(f"{verb}: {report.cases} cases ({', '.join(report.refs) or '-'}), {report.messages} messages, "
              f"{report.attachments} attachments, {report.files} files, {report.mails} mails")
    return 0


def cmd_reveal(args) -> int:
    from intake.db import transaction
    from intake.stages.privacy import reveal_original

    app = _app(args)
    with transaction(app.engine) as session:
        shown = reveal_original(session, args.ref, args.actor or f"cli:{getpass.getuser()}", store=app.store,
                                now=app.now())
    print(f"{shown.ref} (message {shown.inbound_id}; audited as original-revealed)\n{shown.subject}\n\n{shown.text}")
    return 0
