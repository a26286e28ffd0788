"""Human-readable summaries for ``intake run --once`` and the demo."""

from __future__ import annotations

from collections import Counter

from sqlmodel import select

from intake.db import transaction
from intake.models import Case, InboundMessage, Outbox


def print_once_report(app, report, out=None) -> None:
    import sys

    out = out or sys.stdout
    f, p, s = report.fetch, report.process, report.send
    print(f"fetched {f.fetched} message(s): {f.registered} new, {f.duplicates} duplicate(s)"
          f"{' (UIDVALIDITY resync)' if f.resynced else ''}", file=out)
    print(f"processed {p.processed} (OCR'd {report.ocr.processed}), failed {p.failed + report.ocr.failed}, "
          f"set aside {p.set_aside + report.ocr.set_aside}", file=out)
    with transaction(app.engine) as session:
        kinds = Counter(k for k in session.exec(select(InboundMessage.kind).where(
            InboundMessage.id.in_(f.new_ids or [-1]))).all())
        cases = session.exec(select(Case).join(InboundMessage, InboundMessage.case_id == Case.id)
                             .where(InboundMessage.id.in_(f.new_ids or [-1]), InboundMessage.kind == "case")
                             .order_by(Case.ref)).all()
        roster = app.settings.roster
        if kinds:
            print("kinds: " + ", ".join(f"{k or 'pending'} {n}" for k, n in sorted(kinds.items(), key=str)), file=out)
        if cases:
            print(f"\n{'case':<12} {'channel':<6} {'category':<24} {'handler':<16} due (Asia/Seoul)", file=out)
        for c in cases:
            member = roster.member(c.handler_id)
            who = f"{member.name}({c.handler_id})" if member else c.handler_id
            due = c.due_at.astimezone(app.settings.tz).strftime("%Y-%m-%d %H:%M")
            print(f"{c.ref:<12} {c.channel:<6} {c.category:<24} {who:<16} {due}", file=out)
        purposes = Counter(session.exec(select(Outbox.purpose).where(Outbox.status == "sent",
                                                                      Outbox.sent_at.is_not(None))).all())
    print(f"\nmail sent this run: {s.sent} (deferred {s.deferred}, failed {s.failed}); "
          f"all sent so far by purpose: " + (", ".join(f"{k} {n}" for k, n in sorted(purposes.items())) or "none"),
          file=out)
    sw = getattr(report, "sweep", None)
    if sw is not None and (sw.lines or sw.failed):
        print(f"timed (charter clocks): {sw.queued} mail(s) queued, {sw.recomputed} due time(s) recomputed"
              f"{f', {sw.failed} clock(s) failed' if sw.failed else ''}", file=out)
        for line in sw.lines:
            print(f"  {line}", file=out)
