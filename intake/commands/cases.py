"""Admin commands over the database: ``intake cases list|show|reassign|reclassify|spam|…``, ``intake messages``."""

from __future__ import annotations

import argparse
import json
import sys

from sqlmodel import select

from intake.commands.actor import actor_of


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
    from intake.commands.letter import add_letter_parser

    add_letter_parser(cs)     # cases letter REF --out FILE.pdf (intake.commands.letter)

    _register_actions(cs)

    msgs = subparsers.add_parser("messages", help="received messages (failed, set aside, quarantined)")
    ms = msgs.add_subparsers(dest="messages_command", required=True)
    ml = ms.add_parser("list", help="list received messages")
    ml.add_argument("--stage", default=None, help="received | ocr | done | quarantine | set-aside")
    ml.set_defaults(handler=messages_list)
    mr = ms.add_parser("retry", help="put a set-aside message back into processing")
    mr.add_argument("id", type=int)
    mr.set_defaults(handler=messages_retry)
    from intake.commands.release import register_release

    register_release(ms)      # messages release ID (issue 15: spam released by staff)


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
    from intake.models import AuditEvent, Case, CaseClock, InboundMessage, Outbox

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
        clocks = s.exec(select(CaseClock).where(CaseClock.case_id == case.id).order_by(CaseClock.id)).all()
    print(f"{case.ref} [{case.status}{', OVERDUE' if case.overdue else ''}] {case.subject}")
    print(f"  channel {case.channel}, category {case.category}, handler {case.handler_id} ({case.department})")
    print(f"  received {case.received_at.astimezone(tz):%Y-%m-%d %H:%M}, policy {case.policy}, "
          f"due {case.due_at.astimezone(tz):%Y-%m-%d %H:%M}")
    print(f"  customer {case.customer_name} <{case.customer_address or '-'}> phone {case.customer_phone or '-'} "
          f"fax {case.customer_fax or '-'}")
    print(f"  evidence: {case.evidence}")
    for c in clocks:
        due = c.due_at.astimezone(tz).strftime("%Y-%m-%d %H:%M") if c.due_at else "on hold"
        ext = f", extended: {c.extension_reason}" if c.extension_date else ""
        print(f"  clock {c.policy} [{c.state}] started {c.started_at.astimezone(tz):%Y-%m-%d %H:%M}, due {due}"
              f"{', overdue' if c.overdue_at else ''}{ext}")
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

    actor = actor_of(args)
    return _correct(args, lambda s, app, case, now: reassign(s, app, case, args.to, args.reason, actor, now))


def cases_reclassify(args: argparse.Namespace) -> int:
    from intake.stages.corrections import reclassify

    actor = actor_of(args)
    return _correct(args, lambda s, app, case, now: reclassify(s, app, case, args.category, args.reason, actor, now))


# ------------------------------------------------------------------ staff actions (same as the e-mail commands)


def _register_actions(cs) -> None:
    def action(name: str, help_text: str, handler):
        p = cs.add_parser(name, help=help_text)
        p.add_argument("ref")
        p.add_argument("--actor", default=None, metavar="ID", help="who acts (default cli:$USER)")
        p.set_defaults(handler=handler)
        return p

    action("hold", "put a case's pausable clock on hold (#hold)", cases_hold).add_argument(
        "--reason", required=True, help="why (told to the customer)")
    action("resume", "end a hold; the clock runs again (#resume)", cases_resume)
    ex = action("extend", "extend the deadline once, with a reason (#extend)", cases_extend)
    ex.add_argument("--date", required=True, metavar="YYYY-MM-DD", help="the new due date (a business day)")
    ex.add_argument("--reason", required=True, help="why (told to the customer)")
    action("close", "close a case (#close)", cases_close).add_argument("--note", default="", help="closing note")
    ca = action("called", "record the postal request's phone call (#called)", cases_called)
    ca.add_argument("--written", action="store_true", help="the customer wants a written reply: start its clock")
    ca.add_argument("--note", default="", help="what was said")
    action("approved", "record the ministry's approval: starts the issuance clock (#approved)", cases_approved)
    action("error", "record a service error: contact within 24 h, fix in 3 days (#error)", cases_error).add_argument(
        "--what", required=True, help="what went wrong")
    action("note", "add an internal note (#note)", cases_note).add_argument("--text", required=True)
    de = action("decide", "record a suggestion's review outcome and tell the customer (#decision)", cases_decide)
    de.add_argument("outcome", choices=("채택", "불채택"), help="채택 (adopted) or 불채택 (not adopted)")
    de.add_argument("reason", help="why (told to the customer)")
    action("spam", "close a case as spam: pending mail to the sender cancelled, message quarantined, the model "
           "learns from it (#spam)", cases_spam).add_argument("--reason", default="", help="why (audit trail)")
    an = action("answer", "send the handler's answer to the customer, signed, and record it", cases_answer)
    an.add_argument("--text-file", required=True, metavar="FILE", help="the answer text (UTF-8), '-' for stdin")


def _act(args: argparse.Namespace, change) -> int:
    """One staff action in one transaction; a refused action changes nothing."""
    from intake.stages.case_actions import ActionError

    try:
        return _correct(args, change)
    except ActionError as exc:
        print(f"error: {exc}; nothing changed", file=sys.stderr)
        return 1


def cases_hold(args: argparse.Namespace) -> int:
    from intake.stages.case_actions import hold

    actor = actor_of(args)
    return _act(args, lambda s, app, case, now: hold(s, app, case, args.reason, actor, now))


def cases_resume(args: argparse.Namespace) -> int:
    from intake.stages.case_actions import resume

    actor = actor_of(args)
    return _act(args, lambda s, app, case, now: resume(s, app, case, actor, now))


def cases_extend(args: argparse.Namespace) -> int:
    from datetime import date

    from intake.stages.case_actions import extend

    try:
        new_date = date.fromisoformat(args.date)
    except ValueError:
        print(f"error: --date {args.date!r} is not a date (YYYY-MM-DD); nothing changed", file=sys.stderr)
        return 2
    actor = actor_of(args)
    return _act(args, lambda s, app, case, now: extend(s, app, case, new_date, args.reason, actor, now))


def cases_close(args: argparse.Namespace) -> int:
    from intake.stages.case_actions import close

    actor = actor_of(args)
    return _act(args, lambda s, app, case, now: close(s, app, case, args.note, actor, now))


def cases_called(args: argparse.Namespace) -> int:
    from intake.stages.case_actions import called

    actor = actor_of(args)
    return _act(args, lambda s, app, case, now: called(s, app, case, args.written, args.note, actor, now))


def cases_approved(args: argparse.Namespace) -> int:
    from intake.stages.case_actions import approved

    actor = actor_of(args)
    return _act(args, lambda s, app, case, now: approved(s, app, case, actor, now))


def cases_error(args: argparse.Namespace) -> int:
    from intake.stages.case_actions import service_error

    actor = actor_of(args)
    return _act(args, lambda s, app, case, now: service_error(s, app, case, args.what, actor, now))


def cases_note(args: argparse.Namespace) -> int:
    from intake.stages.case_actions import note

    actor = actor_of(args)
    return _act(args, lambda s, app, case, now: note(s, app, case, args.text, actor, now))


def cases_answer(args: argparse.Namespace) -> int:
    from intake.stages.case_actions import answer

    try:
        text = sys.stdin.read() if args.text_file == "-" else open(args.text_file, encoding="utf-8").read()
    except (OSError, UnicodeDecodeError) as exc:
        print(f"error: cannot read {args.text_file}: {exc}; nothing changed", file=sys.stderr)
        return 2
    actor = actor_of(args)
    return _act(args, lambda s, app, case, now: answer(s, app, case, text, actor, now))


def cases_decide(args: argparse.Namespace) -> int:
    from intake.stages.suggestions import decide

    actor = actor_of(args)
    return _act(args, lambda s, app, case, now: decide(s, app, case, args.outcome, args.reason, actor, now))


def cases_spam(args: argparse.Namespace) -> int:
    from intake.stages.spam_marking import mark_spam

    actor = actor_of(args)
    return _act(args, lambda s, app, case, now: mark_spam(s, app, case, args.reason, actor, now))
