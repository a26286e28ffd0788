"""Admin commands over the database: ``intake cases list|show|reassign|reclassify`` and ``intake messages list|retry``."""

from __future__ import annotations

import argparse
import json
import sys

from sqlmodel import select


def register(subparsers) -> None:
    cases = subparsers.add_parser("cases", help="registered cases")
    cs = cases.add_subparsers(dest="cases_command", required=True)
    ls = cs.add_parser("list", help="list cases")
    ls.add_argument("--status", default=None, help="open | answered | closed")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(handler=cases_list)
    show = cs.add_parser("show", help="one case with its messages, mail and audit trail")
    show.add_argument("ref")
    show.set_defaults(handler=cases_show)
    ra = cs.add_parser("reassign", help="give a case to another person or department (due time unchanged)")
    ra.add_argument("ref")
    ra.add_argument("--to", required=True, metavar="ID", help="staff id, or department id (routing rule chooses)")
    ra.add_argument("--reason", required=True, help="why (kept in the audit trail)")
    ra.add_argument("--actor", default=None, metavar="ID", help="who makes the change (default cli:$USER)")
    ra.set_defaults(handler=cases_reassign)
    rc = cs.add_parser("reclassify", help="change a case's category (and handler when the department changes)")
    rc.add_argument("ref")
    rc.add_argument("--category", required=True, metavar="ID", help="category id from categories.toml")
    rc.add_argument("--reason", required=True, help="why (kept in the audit trail)")
    rc.add_argument("--actor", default=None, metavar="ID", help="who makes the change (default cli:$USER)")
    rc.set_defaults(handler=cases_reclassify)

    msgs = subparsers.add_parser("messages", help="received messages (failed, set aside, quarantined)")
    ms = msgs.add_subparsers(dest="messages_command", required=True)
    ml = ms.add_parser("list", help="list received messages")
    ml.add_argument("--stage", default=None, help="received | ocr | done | quarantine | set-aside")
    ml.set_defaults(handler=messages_list)
    mr = ms.add_parser("retry", help="put a set-aside message back into processing")
    mr.add_argument("id", type=int)
    mr.set_defaults(handler=messages_retry)


def _engine(args):
    from intake.db import make_engine, require_current_schema
    from intake.settings import load_settings

    settings = load_settings(args.config, require_secrets=False)
    engine = make_engine(settings.database.url)
    require_current_schema(engine)
    return settings, engine


def cases_list(args: argparse.Namespace) -> int:
    from intake.db import transaction
    from intake.models import Case

    settings, engine = _engine(args)
    with transaction(engine) as s:
        q = select(Case).order_by(Case.ref)
        if args.status:
            q = q.where(Case.status == args.status)
        rows = s.exec(q).all()
    tz = settings.tz
    if args.json:
        print(json.dumps([{"ref": c.ref, "status": c.status, "channel": c.channel, "category": c.category,
                           "handler": c.handler_id, "due": c.due_at.astimezone(tz).isoformat(),
                           "subject": c.subject} for c in rows], ensure_ascii=False))
        return 0
    for c in rows:
        print(f"{c.ref}  {c.status:<8} {c.channel:<5} {c.category:<24} {c.handler_id:<14} "
              f"{c.due_at.astimezone(tz):%Y-%m-%d %H:%M}  {c.subject[:40]}")
    return 0


def cases_show(args: argparse.Namespace) -> int:
    from intake.db import transaction
    from intake.models import AuditEvent, Case, InboundMessage, Outbox

    settings, engine = _engine(args)
    tz = settings.tz
    with transaction(engine) as s:
        case = s.exec(select(Case).where(Case.ref == args.ref)).first()
        if case is None:
            print(f"no case {args.ref}")
            return 1
        msgs = s.exec(select(InboundMessage).where(InboundMessage.case_id == case.id)).all()
        mails = s.exec(select(Outbox).where(Outbox.case_id == case.id).order_by(Outbox.id)).all()
        events = s.exec(select(AuditEvent).where(AuditEvent.case_id == case.id).order_by(AuditEvent.id)).all()
    print(f"{case.ref} [{case.status}] {case.subject}")
    print(f"  channel {case.channel}, category {case.category}, handler {case.handler_id} ({case.department})")
    print(f"  received {case.received_at.astimezone(tz):%Y-%m-%d %H:%M}, policy {case.policy}, "
          f"due {case.due_at.astimezone(tz):%Y-%m-%d %H:%M}")
    print(f"  customer {case.customer_name} <{case.customer_address or '-'}> phone {case.customer_phone or '-'} "
          f"fax {case.customer_fax or '-'}")
    print(f"  evidence: {case.evidence}")
    for m in msgs:
        print(f"  message #{m.id} {m.kind} {m.received_at.astimezone(tz):%Y-%m-%d %H:%M} {m.subject}")
    for o in mails:
        print(f"  mail #{o.id} {o.purpose} to {o.rcpt_to}: {o.status} ({o.template} {o.template_version})"
              f"{' — ' + o.last_error if o.last_error else ''}")
    for e in events:
        print(f"  {e.at.astimezone(tz):%Y-%m-%d %H:%M:%S} {e.actor} {e.event} {e.detail or ''}")
    return 0


def messages_list(args: argparse.Namespace) -> int:
    from intake.db import transaction
    from intake.models import InboundMessage

    settings, engine = _engine(args)
    with transaction(engine) as s:
        q = select(InboundMessage).order_by(InboundMessage.id)
        if args.stage:
            q = q.where(InboundMessage.stage == args.stage)
        rows = s.exec(q).all()
    for m in rows:
        err = (m.last_error or "").splitlines()[0] if m.last_error else ""
        print(f"#{m.id} {m.stage:<10} {m.kind or '-':<10} attempts {m.attempts} {m.from_address or '-'} "
              f"{(m.subject or '')[:40]} {err} raw={m.raw_path}")
    return 0


def messages_retry(args: argparse.Namespace) -> int:
    from datetime import datetime, timezone

    from intake.db import transaction
    from intake.models import InboundMessage

    settings, engine = _engine(args)
    with transaction(engine) as s:
        row = s.get(InboundMessage, args.id)
        if row is None:
            print(f"no message #{args.id}")
            return 1
        row.stage, row.attempts = "received", 0
        row.next_attempt_at = datetime.now(timezone.utc)
        row.claimed_until = None
        s.add(row)
    print(f"message #{args.id} queued for processing again")
    return 0


def _actor(args: argparse.Namespace) -> str:
    if args.actor:
        return args.actor
    import getpass

    try:
        return f"cli:{getpass.getuser()}"[:64]
    except Exception:  # noqa: BLE001 - no login name in some containers
        return "cli"


def _correct(args: argparse.Namespace, change) -> int:
    """Run one correction in one transaction; any error rolls everything back."""
    from intake.app import build_app
    from intake.db import require_current_schema, transaction
    from intake.settings import load_settings
    from intake.stages.corrections import CorrectionError, find_case

    settings = load_settings(args.config, require_secrets=False)
    app = build_app(settings)
    try:
        require_current_schema(app.engine)
        now = app.now()
        try:
            with transaction(app.engine) as s:
                case = find_case(s, args.ref)
                summary = change(s, app, case, now)
        except CorrectionError as exc:
            print(f"error: {exc}; nothing changed", file=sys.stderr)
            return 1
    finally:
        app.engine.dispose()
    print(summary)
    return 0


def cases_reassign(args: argparse.Namespace) -> int:
    from intake.stages.corrections import reassign

    actor = _actor(args)
    return _correct(args, lambda s, app, case, now: reassign(s, app, case, args.to, args.reason, actor, now))


def cases_reclassify(args: argparse.Namespace) -> int:
    from intake.stages.corrections import reclassify

    actor = _actor(args)
    return _correct(args, lambda s, app, case, now: reclassify(s, app, case, args.category, args.reason, actor, now))
