"""The pipeline: the steps a message travels through, in order, and what each is.

    fetch → process → OCR (fax/post pages, then process again) → sweep → send

========  =====================================================================
fetch     IMAP → raw bytes stored durably → ``inbound_message`` row committed
          (stage ``received``) → only then flagged/moved on the server
          (``intake.stages.fetch``)
process   claims ``received`` and ``ocr-done`` rows; outside the transaction
          it parses and decides, inside it registers the case (or attaches
          the follow-up, records the bounce …) and queues the mail in the
          outbox in the same transaction (``intake.stages.process``)
ocr       claims ``ocr`` rows (fax/post pages); outside it reads the pages,
          inside it stores the text and hands the row back (``ocr-done``)
          (``intake.stages.ocr_stage``)
sweep     the charter clocks: reminders, overdue marks, escalations, progress
          notices, digests, from rows, once each (``intake.stages.sweep``)
send      outbox → SMTP over ``[smtp] connections`` connections; each mail
          journalled the moment the server accepts it (``intake.senders``)
========  =====================================================================

``process`` and ``ocr`` are ``Stage`` objects the generic runner
(``intake.runner``) runs: it claims, runs the two halves, commits and catches.
Every step's one pass is a function here (``*_pass``). The daemon
(``intake/daemon.py``, ``intake run``) runs each step in a loop of its own,
woken when a step before it did something (``WAKES``; each report's ``worked``); ``intake run --once``
runs each pass once, in this order, and exits (``run_once`` there).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from intake.runner import RunReport, Stage, run_stage
from intake.stages import ocr_stage, process
from intake.stages.fetch import FetchReport, MailSource, fetch_once
from intake.stages.duties import daily_duties
from intake.stages.sweep import SweepReport, sweep

if TYPE_CHECKING:
    from intake.app import App
    from intake.senders import SenderPool
    from intake.stages.send import SendReport

PROCESS = Stage(
    name="process",
    claims=("received", "ocr-done"),
    outside=process.parse_and_decide,
    inside=process.apply_message,
    # A group of messages per transaction: one fsync per group, yet short enough (tens of ms) that
    # the fetcher and the senders get SQLite's write lock between groups.
    group_size=8,
)

OCR = Stage(
    name="ocr",
    claims=("ocr",),
    outside=ocr_stage.read_pages,
    inside=ocr_stage.store_pages,
    group_size=1,
    claim_batch=1,                 # seconds per page: claim one message at a time
)

ORDER = ("fetch", "process", "ocr", "sweep", "send")

WAKES = {
    "fetch": ("process",),         # new rows to process
    "process": ("ocr", "send"),    # pages to read; mail queued
    "ocr": ("process",),           # pages read: register the message
    "sweep": ("send",),            # timed mail queued
    "send": (),
}


def fetch_pass(app: App, source: MailSource, on_batch: Callable[[], None] | None = None) -> FetchReport:
    imap = app.settings.imap
    return fetch_once(app.engine, app.store, source, mailbox=imap.mailbox,
                      processed_mailbox=imap.processed_mailbox, now=app.now(), on_batch=on_batch)


def process_pass(app: App) -> RunReport:
    return run_stage(app, PROCESS)


def ocr_pass(app: App) -> RunReport:
    return run_stage(app, OCR)


def sweep_pass(app: App, ops=None) -> SweepReport:
    """The charter clocks' timed mail, then the once-a-day duties (retention purge, operator alerts)."""
    report = sweep(app)
    report.queued += daily_duties(app, app.now(), ops)
    return report


def send_pass(senders: SenderPool) -> SendReport:
    return senders.send_due()
