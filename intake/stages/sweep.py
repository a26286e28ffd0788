"""The sweeper: everything the charter clocks owe on time, done from rows, idempotently.

``sweep(app, now)`` is what the daemon's sweep loop (woken by an APScheduler
interval job) and ``run --once`` call. It holds no state between calls; every
decision is made again from the database:

1. calendar.toml (and policies.toml) changed since this process last looked —
   or this is its first sweep: reload them and recompute the due time of every
   live clock; each moved due is stored, logged and audited (``due-recomputed``);
2. clocks whose ``next_check_at`` has come: one transaction per clock computes
   the actions it owes (``intake.domain.clocks``), leaves out those already in
   the ``notice`` ledger, and for each writes the ledger row *first* and then
   its effect — reminder mail to the handler, the overdue mark, the escalation
   to the department head, the progress notice to the customer — and stores
   the clock's next check;
3. the daily digest to each handler with open cases (business days, from
   ``[reminders] digest_time``, working hours only), once per handler per day;
4. the calendar review warning to the admins, at most once a month.

Idempotency: every mail is named by a unique ledger key written in the same
transaction as its outbox row. A second sweep finds the key; a crash before
commit loses both; a second instance either waits for the clock's row lock
(PostgreSQL ``FOR UPDATE SKIP LOCKED``: it skips the row the first one holds;
SQLite: ``BEGIN IMMEDIATE`` serialises) or, at the latest, fails on the unique
key (or on another unique row written first, such as a template version) and
rolls back that one transaction, then tries the clock once more and finds the
other's work done. Nothing is sent twice, and because a clock's
``next_check_at`` only moves past an action once its key is committed,
nothing is skipped.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from intake.db import transaction
from intake.domain import replies
from intake.domain.clocks import CUSTOMER_FACING, ActionKind, DueAction, actions_to_take, recompute, scheduled_actions
from intake.domain.workdays import is_working_moment, needs_review_warning, to_seoul
from intake.errors import ConfigErrors
from intake.models import Case, CaseClock, Notice
from intake.settings_roster import delegate_for
from intake.stages.clocks import LIVE_STATES, done_keys, refresh, reminder_rules, sync_case, to_clock
from intake.stages.case_facts import case_facts, facts_for_staff
from intake.stages.outbox import customer_skip_reason, enqueue
from intake.stages.rows import audit
from intake.testing_hooks import crash_point

log = logging.getLogger("intake.sweep")

BATCH = 200


@dataclass
class SweepReport:
    clocks: int = 0                                   # clock rows looked at
    actions: dict[str, int] = field(default_factory=dict)   # taken, by kind
    queued: int = 0                                   # mails put in the outbox
    raced: int = 0                                    # transactions another instance got to first
    failed: int = 0                                   # clocks whose transaction failed (retried next sweep)
    digests: int = 0
    recomputed: int = 0                               # clocks whose due moved with the calendar
    warnings: int = 0                                 # calendar review warnings queued
    lines: list[str] = field(default_factory=list)

    @property
    def worked(self) -> bool:
        """Mail queued."""
        return self.queued > 0

    def _took(self, kind: str) -> None:
        self.actions[kind] = self.actions.get(kind, 0) + 1


def sweep(app, now: datetime | None = None, *, batch: int = BATCH) -> SweepReport:
    """One pass over everything timed. Safe to run at any moment, from any number of instances."""
    now = now or app.now()
    report = SweepReport()
    check_calendar(app, now, report)
    sweep_clocks(app, now, report, batch=batch)
    send_digests(app, now, report)
    review_warning(app, now, report)
    from intake.stages.survey import send_due_surveys   # issue 13: satisfaction surveys (timed mail)

    report.queued += send_due_surveys(app, now)
    return report


# ------------------------------------------------------------------ clocks


def sweep_clocks(app, now: datetime, report: SweepReport, *, batch: int = BATCH) -> None:
    seen: set[int] = set()
    while True:
        with Session(app.engine) as session:
            ids = list(session.exec(
                select(CaseClock.id).where(CaseClock.state.in_(LIVE_STATES), CaseClock.next_check_at.is_not(None),
                                           CaseClock.next_check_at <= now)
                .order_by(CaseClock.next_check_at, CaseClock.id).limit(batch)).all())
        fresh = [i for i in ids if i not in seen]
        for clock_id in fresh:
            seen.add(clock_id)
            # A lost race (a ledger key, or a template version row, written by another
            # instance first) rolls this clock back; one more try sees what the other did.
            if not _sweep_clock(app, clock_id, now, report):
                _sweep_clock(app, clock_id, now, report)
        if len(ids) < batch or not fresh:
            return


def _sweep_clock(app, clock_id: int, now: datetime, report: SweepReport) -> bool:
    """One clock in one transaction; the report counts only what committed. False: lost a race."""
    mine = SweepReport()
    try:
        with transaction(app.engine) as session:
            row = session.exec(select(CaseClock).where(CaseClock.id == clock_id)
                               .with_for_update(skip_locked=True)).first()
            if row is None or row.state not in LIVE_STATES or row.next_check_at is None or row.next_check_at > now:
                return True   # another instance holds it or has just done it
            case = session.get(Case, row.case_id)
            clock = to_clock(row)
            calendar = app.calendar(clock.started_at)
            actions = scheduled_actions(calendar, app.policies[row.policy], clock, reminder_rules(app))
            for action in actions_to_take(calendar, actions, done_keys(session, row.id), now):
                _take(session, app, case, row, action, now, mine)
            refresh(session, app, row, now)
            sync_case(session, case, now)
            crash_point("sweep-before-commit")
    except IntegrityError:
        report.raced += 1
        log.info("- clock %s: another instance wrote first; rolled back", clock_id)
        return False
    except Exception as exc:   # one clock must not stop the others; its next_check_at is unchanged
        report.failed += 1
        log.error("- clock %s: sweep failed, retried next sweep: %s", clock_id, exc, exc_info=True)
        return True
    report.clocks += 1
    report.queued += mine.queued
    report.lines += mine.lines
    for kind, n in mine.actions.items():
        report.actions[kind] = report.actions.get(kind, 0) + n
    return True


def _ledger(session: Session, key: str, kind: str, now: datetime, *, case: Case | None = None,
            clock: CaseClock | None = None) -> Notice:
    """The ledger row, flushed at once: a duplicate key raises IntegrityError before any effect."""
    notice = Notice(key=key, kind=kind, case_id=case.id if case else None, clock_id=clock.id if clock else None,
                    at=now)
    session.add(notice)
    session.flush()
    return notice


def _queued(session: Session, notice: Notice, outbox_id: int, recipient: str, report: SweepReport) -> None:
    notice.recipient = recipient
    notice.outbox_id = outbox_id
    session.add(notice)
    report.queued += 1


def _context_parts(app, case: Case, row: CaseClock, action: DueAction):
    """Handler, department and the case facts as of this clock (its policy and due time)."""
    handler = app.settings.roster.member(case.handler_id)
    department = app.settings.roster.department(handler.department if handler else case.department)
    category = app.rules.category_rules.category(case.category)
    facts = replace(case_facts(case, category.label if category else case.category),
                    due_at=action.due_at, policy=row.policy)
    return handler, department, facts


def _addressee(app, member, now: datetime):
    """Who gets ``member``'s timed mail today: their delegate while they are away with one (issue 14),
    else themselves; and the audit detail that records the redirect."""
    delegate = app.settings.roster.member(delegate_for(app.settings.roster, member.id, to_seoul(now).date()) or "")
    return (delegate, {"delegate_of": member.id}) if delegate is not None else (member, {})


def _mark_overdue(session: Session, case: Case, row: CaseClock, action: DueAction, detail: dict, now: datetime,
                  report: SweepReport) -> None:
    row.overdue_at = action.due_at
    case.overdue = True
    session.add(row)
    session.add(case)
    audit(session, now, "overdue", case_id=case.id, detail=detail)
    log.info("%s %s clock overdue (due %s)", case.ref, row.policy, detail["due"])
    report.lines.append(f"{case.ref} {row.policy} clock overdue (due {detail['due']})")


def _escalate(session: Session, app, case: Case, notice, handler, department, facts, detail: dict, now: datetime,
              report: SweepReport) -> None:
    """The overdue case's department head is told."""
    head = app.settings.roster.member(department.head) if department.head else None
    if head is None:
        audit(session, now, "escalation-skipped", case_id=case.id,
              detail={**detail, "reason": f"department {department.id} has no head in staff.toml"})
        log.warning("%s overdue, but department %s has no head to tell", case.ref, department.id)
        return
    ctx = replies.overdue_escalation_context(facts_for_staff(facts), handler, replace(department, head=head.name),
                                             app.org, now)
    outbox_id = enqueue(session, app, case, "overdue-escalation", "overdue-escalation", ctx, language="ko",
                        to=head.email, now=now, auto_submitted="auto-generated",
                        reply_to=app.settings.organization.intake_address)
    _queued(session, notice, outbox_id, head.email, report)
    # A head who handles the case is still told (it is the department's record of the overrun).
    audit(session, now, "escalated", case_id=case.id,
          detail={**detail, "to": head.email, "head": head.id, "handler_is_head": head.id == handler.id})
    report.lines.append(f"{case.ref} overdue: escalated to {head.email}"
                        + (" (the handler is the head)" if head.id == handler.id else ""))


def _take(session: Session, app, case: Case, row: CaseClock, action: DueAction, now: datetime,
          report: SweepReport) -> None:
    notice = _ledger(session, action.key, action.kind.value, now, case=case, clock=row)
    report._took(action.kind.value)
    handler, department, facts = _context_parts(app, case, row, action)
    detail = {"policy": row.policy, "due": to_seoul(action.due_at).isoformat(), "key": action.key}

    if action.kind is ActionKind.OVERDUE:
        _mark_overdue(session, case, row, action, detail, now, report)
        return

    if handler is None or department is None:
        audit(session, now, f"{action.kind.value}-skipped", case_id=case.id,
              detail={**detail, "reason": f"handler {case.handler_id!r} or their department is not in staff.toml"})
        log.warning("%s %s not sent: handler %s is not in staff.toml", case.ref, action.kind.value, case.handler_id)
        return

    if action.kind in (ActionKind.REMIND_HALF, ActionKind.REMIND_MORNING):
        ctx = replies.reminder_context(facts_for_staff(facts), handler, department, app.org, now)
        to, redirect = _addressee(app, handler, now)
        outbox_id = enqueue(session, app, case, "reminder", "reminder", ctx, language="ko", to=to.email, now=now,
                       auto_submitted="auto-generated", reply_to=app.settings.organization.intake_address)
        _queued(session, notice, outbox_id, to.email, report)
        audit(session, now, "reminded", case_id=case.id, detail={**detail, "to": to.email, **redirect,
                                                                  "reminder": action.kind.value})
        report.lines.append(f"{case.ref} {action.kind.value} reminder to {to.email}")
        return

    if action.kind is ActionKind.ESCALATE:
        _escalate(session, app, case, notice, handler, department, facts, detail, now, report)
        return

    if action.kind is ActionKind.PROGRESS:
        reason = customer_skip_reason(app, case.customer_address)
        if reason is not None:
            audit(session, now, "progress-notice-skipped", case_id=case.id, detail={**detail, "reason": reason})
            return
        expected, waiting_on = _expected(session, app, case, row, action, now)
        ctx = replies.progress_notice_context(facts, handler, department, app.org, situation="overdue",
                                              expected_at=expected, waiting_on=waiting_on)
        outbox_id = enqueue(session, app, case, "progress-notice", "progress-notice", ctx, language=case.language,
                       to=case.customer_address, now=now, auto_submitted="auto-generated")
        _queued(session, notice, outbox_id, case.customer_address, report)
        audit(session, now, "progress-notice-queued", case_id=case.id,
              detail={**detail, "to": case.customer_address, "expected": to_seoul(expected).isoformat()})
        report.lines.append(f"{case.ref} progress notice to {case.customer_address}")
        return

    raise AssertionError(f"unhandled action {action.kind}")   # pragma: no cover


def _expected(session: Session, app, case: Case, row: CaseClock, action: DueAction, now: datetime):
    """The new expected date and the procedure it waits on (None: the department's review; the
    wording is in the progress-notice template): a later live clock of the case the customer is
    waiting on (e.g. the review behind a reply clock), else the end of the next business day."""
    later = [c for c in session.exec(select(CaseClock).where(CaseClock.case_id == case.id,
                                                              CaseClock.state.in_(LIVE_STATES),
                                                              CaseClock.id != row.id)).all()
             if c.policy in CUSTOMER_FACING and c.due_at is not None and c.due_at > now]
    if later:
        other = max(later, key=lambda c: c.due_at)
        return other.due_at, {"label": app.policies[other.policy].label, "policy": other.policy}
    calendar = app.calendar(now)
    day = calendar.next_business_day(to_seoul(now).date(), include=False)
    return calendar.end_of_working_day(day), None


# ------------------------------------------------------------------ the daily digest


def send_digests(app, now: datetime, report: SweepReport) -> None:
    """Each handler with open cases gets one digest per business day, from digest_time, in working hours."""
    local = to_seoul(now)
    calendar = app.calendar(now)
    if not is_working_moment(calendar, now) or local.time() < app.settings.reminders.digest_at:
        return
    day = local.date()
    roster = app.settings.roster
    with Session(app.engine) as session:
        open_cases = session.exec(select(Case).where(Case.status == "open").order_by(Case.id)).all()
        by_handler: dict[str, list[Case]] = {}
        for case in open_cases:
            by_handler.setdefault(case.handler_id, []).append(case)
        keys = {h: f"digest:{h}:{day.isoformat()}" for h in by_handler}
        done = set(session.exec(select(Notice.key).where(Notice.key.in_(list(keys.values())))).all()) if keys else set()
    for handler_id, cases in sorted(by_handler.items()):
        if keys[handler_id] in done:
            continue
        member = roster.member(handler_id)
        if member is None:
            continue
        mine = SweepReport()
        try:
            with transaction(app.engine) as session:
                notice = _ledger(session, keys[handler_id], "daily-digest", now)
                entries = []
                for case in cases:
                    category = app.rules.category_rules.category(case.category)
                    entries.append((case_facts(case, category.label if category else case.category), member))
                to, redirect = _addressee(app, member, now)
                ctx = replies.daily_digest_context(day, now, to, entries, app.org)
                outbox_id = enqueue(session, app, None, "daily-digest", "daily-digest", ctx, language="ko",
                               to=to.email, now=now, auto_submitted="auto-generated")
                _queued(session, notice, outbox_id, to.email, mine)
                audit(session, now, "digest", detail={"to": to.email, **redirect, "day": day.isoformat(),
                                                       "open": len(cases), "overdue": ctx["overdue_count"]})
            report.digests += 1
            report.queued += mine.queued
            report.lines.append(f"daily digest to {to.email} ({len(cases)} open)")
        except IntegrityError:
            report.raced += 1


# ------------------------------------------------------------------ calendar.toml


def calendar_fingerprint(settings) -> str:
    """What the due times depend on beyond the holidays package: calendar.toml and policies.toml."""
    h = hashlib.sha256()
    for name in ("calendar.toml", "policies.toml"):
        path = settings.config_path(name)
        h.update(name.encode() + b"\0")
        h.update(path.read_bytes() if path.exists() else b"<missing>")
    return h.hexdigest()


def check_calendar(app, now: datetime, report: SweepReport) -> None:
    """Reload the calendar when its files changed (or on this process's first sweep) and
    recompute the due times of live clocks. An invalid edit is logged; the calendar in use stays."""
    from intake.web.overrides import fingerprint as console_fingerprint

    fingerprint = calendar_fingerprint(app.settings) + console_fingerprint(app.engine)   # + the console's days
    if fingerprint == app.calendar_fingerprint:
        return
    first = app.calendar_fingerprint is None
    try:
        app.reload_calendar()
    except ConfigErrors as exc:
        app.calendar_fingerprint = fingerprint   # reported once per edit, not every sweep
        log.error("- calendar.toml/policies.toml changed but are invalid; the calendar in use stays: %s", exc)
        return
    app.calendar_fingerprint = fingerprint
    if not first:
        log.info("- calendar.toml/policies.toml changed: reloaded; recomputing the due times of open cases")
    recompute_dues(app, now, report)


def recompute_dues(app, now: datetime, report: SweepReport) -> None:
    with Session(app.engine) as session:
        rows = session.exec(select(CaseClock).where(CaseClock.state.in_(LIVE_STATES))).all()
    candidates = []
    for row in rows:
        clock = to_clock(row)
        try:
            candidates += recompute(app.calendar(clock.started_at), app.policies, [(clock, row.due_at)])
        except (KeyError, ValueError) as exc:   # a policy removed, an extension now on a closed day …
            log.error("- clock %s: due not recomputed: %s", row.id, exc)
    for moved in candidates:
        try:
            with transaction(app.engine) as session:
                row = session.exec(select(CaseClock).where(CaseClock.id == moved.clock_id).with_for_update()).first()
                if row is None or row.state not in LIVE_STATES:
                    continue
                before = row.due_at
                after = refresh(session, app, row, now)
                if before == after:
                    continue   # another instance stored it already
                if row.overdue_at is not None and (after is None or after > now):
                    row.overdue_at = None   # the new calendar gives it more time
                case = session.get(Case, row.case_id)
                sync_case(session, case, now)
                detail = {"clock": row.id, "policy": row.policy,
                          "before": to_seoul(before).isoformat() if before else None,
                          "after": to_seoul(after).isoformat() if after else None,
                          "reason": "calendar.toml changed"}
                audit(session, now, "due-recomputed", case_id=case.id, detail=detail)
            report.recomputed += 1
            line = f"{case.ref} {row.policy} due moved {detail['before']} -> {detail['after']} (calendar changed)"
            report.lines.append(line)
            log.info("%s", line)
        except Exception as exc:
            log.error("- clock %s: recomputed due not stored: %s", moved.clock_id, exc, exc_info=True)


# ------------------------------------------------------------------ calendar review warning


def review_warning(app, now: datetime, report: SweepReport) -> None:
    """``needs_review_warning``: the current year unreviewed (any month) or, in December, the next one.
    One mail to each admin per month (ledger key ``calendar-review:YYYY-MM``), in working hours."""
    reviewed = tuple(app.calendar_config.reviewed_years)
    if not needs_review_warning(now, reviewed) or not is_working_moment(app.calendar(now), now):
        return
    local = to_seoul(now)
    key = f"calendar-review:{local:%Y-%m}"
    with Session(app.engine) as session:
        if session.exec(select(Notice.id).where(Notice.key == key)).first() is not None:
            return
    year = local.year if local.year not in reviewed else local.year + 1
    admins = app.settings.processing.admin_addresses
    mine = SweepReport()
    try:
        with transaction(app.engine) as session:
            notice = _ledger(session, key, "calendar-review", now)
            path = str(app.settings.config_path("calendar.toml"))
            for address in admins:
                member = app.settings.roster.member_by_email(address)
                ctx = replies.calendar_review_context(member.name if member else "관리자", app.org, year, reviewed,
                                                      path)
                outbox_id = enqueue(session, app, None, "calendar-review", "calendar-review", ctx, language="ko",
                               to=address, now=now, auto_submitted="auto-generated")
                _queued(session, notice, outbox_id, address, mine)
            notice.recipient = ", ".join(admins)[:320] or None
            audit(session, now, "calendar-review-warning", detail={"year": year, "to": list(admins)})
        report.queued += mine.queued
        if admins:
            report.warnings += 1
            report.lines.append(f"calendar review warning for {year} to {', '.join(admins)}")
        log.warning("- calendar.toml: %d is not marked reviewed; %s", year,
                    f"admins told ({', '.join(admins)})" if admins else "no admin_addresses to tell")
    except IntegrityError:
        report.raced += 1
