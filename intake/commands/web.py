"""``intake web``: the staff console (a separate process beside the daemon, same database and config).

    intake web                       serve on [web] listen
    intake web --init-secret         create [web] secret_file (kept when it exists)
    intake web --sign-in-link ID     print a one-time sign-in link for a staff member (demo, first admin)
    intake web --revoke ID           end every console session of a staff member
"""

from __future__ import annotations

import argparse
import sys


def register(subparsers) -> None:
    p = subparsers.add_parser("web", help="the staff web console (sign-in by mailed link)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--init-secret", action="store_true", help="create [web] secret_file with a new random secret")
    g.add_argument("--sign-in-link", metavar="ID", help="print a one-time sign-in link (15 minutes) for staff ID")
    g.add_argument("--revoke", metavar="ID", help="end every console session of staff ID")
    p.set_defaults(handler=cmd_web)


def cmd_web(args: argparse.Namespace) -> int:
    from intake.settings import load_settings
    from intake.web import auth

    settings = load_settings(args.config, require_secrets=False)
    path = settings.web.secret_file
    if args.init_secret:
        if path is None:
            print("error: [web] secret_file is not set in the config", file=sys.stderr)
            return 2
        created = auth.init_secret(path)
        print(f"{'created' if created else 'kept the existing'} console secret {path}")
        return 0
    try:
        keys = auth.keys_from(settings.web)
    except auth.SecretError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from intake.app import build_app
    from intake.db import require_current_schema

    app = build_app(load_settings(args.config))
    require_current_schema(app.engine)
    if args.sign_in_link or args.revoke:
        return _link_or_revoke(args, app, keys)
    from intake.web.search import refresh_statistics
    from intake.web.server import create_app, serve

    refresh_statistics(app.engine)

    print(f"intake web: {settings.web.console_url}/ (listening on {settings.web.listen})", file=sys.stderr)
    serve(create_app(app, keys=keys), settings.web.host_port)
    return 0


def _link_or_revoke(args, app, keys) -> int:
    from intake.web import auth

    staff_id = args.sign_in_link or args.revoke
    member = app.settings.roster.member(staff_id)
    if member is None or not member.active:
        print(f"error: no active staff member {staff_id!r} in staff.toml", file=sys.stderr)
        return 1
    now = app.now()
    with app.engine.begin() as conn:
        if args.revoke:
            n = auth.revoke_all(conn, staff_id, now)
            auth.audit_event(conn, now, "web-sessions-revoked", "cli", {"staff": staff_id, "sessions": n})
            print(f"{n} session(s) of {staff_id} ended")
            return 0
        token = auth.new_link(conn, keys, staff_id, now)
        auth.audit_event(conn, now, "web-sign-in-link", "cli", {"staff": staff_id, "printed": True})
    print(f"{app.settings.web.console_url}/login/link/{token}")
    return 0
