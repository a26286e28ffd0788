"""``intake messages release ID --reason TEXT [--actor ID]``: a quarantined message becomes a case.

Registered under ``intake messages`` (commands.cases builds that parser); the work is
``intake.stages.release``. The release is a staff correction that ``intake train`` learns from.
"""

from __future__ import annotations

import argparse
import sys


def register_release(message_subparsers) -> None:
    p = message_subparsers.add_parser("release", help="release a quarantined message: register it as a case")
    p.add_argument("id", type=int)
    p.add_argument("--reason", required=True, help="why it is not spam (kept in the audit trail)")
    p.add_argument("--actor", default=None, metavar="ID", help="who releases it (default cli:$USER)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from datetime import datetime, timezone

    from intake.app import build_app
    from intake.commands.actor import actor_of
    from intake.db import require_current_schema, transaction
    from intake.settings import load_settings
    from intake.stages.release import ReleaseError, release_message

    app = build_app(load_settings(args.config, require_secrets=False))
    try:
        require_current_schema(app.engine)
        with transaction(app.engine) as session:
            case = release_message(session, app, args.id, args.reason, actor_of(args), datetime.now(timezone.utc))
            ref, category, handler = case.ref, case.category, case.handler_id
    except ReleaseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        app.engine.dispose()
    print(f"message #{args.id} released: case {ref} ({category}, handler {handler}); acknowledgement queued")
    return 0
