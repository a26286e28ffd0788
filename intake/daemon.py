"""The daemon's loops and ``run --once``.

Five loops, each in its own thread, each woken by an event: fetch (IMAP IDLE or
poll), process (parse, decide, register), OCR (fax/post pages, its own worker
so it never holds up e-mail), send (outbox → SMTP) and sweep (the charter
clocks' reminders, overdue marks, escalations, progress notices, the daily
digest; ``intake.stages.sweep``). APScheduler only sets
the events on a timer; every piece of state lives in database rows, so a
restart loses nothing and a second instance can share the work.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from dataclasses import dataclass, field

from apscheduler.schedulers.background import BackgroundScheduler

from intake.adapters.imap_source import ImapSource, Reconnecting
from intake.adapters.smtp_mailer import SmtpMailer
from intake.runner import GROUP_SIZE, RunReport, process_ocr, process_received
from intake.stages.admin import record_template_changes
from intake.stages.fetch import FetchReport, fetch_once
from intake.forking import fork_child
from intake.parse_ahead import ParseAhead
from intake.senders import ForkedSender, SenderPool
from intake.stages.send import SendReport, deliver_due
from intake.stages.sweep import SweepReport, sweep
from intake.ops_runtime import start_ops
from intake.stages.duties import daily_duties

log = logging.getLogger("intake.daemon")


@dataclass
class OnceReport:
    fetch: FetchReport = field(default_factory=FetchReport)
    process: RunReport = field(default_factory=RunReport)
    ocr: RunReport = field(default_factory=RunReport)
    send: SendReport = field(default_factory=SendReport)
    sweep: SweepReport = field(default_factory=SweepReport)


def make_page_reader():
    from intake.adapters.ocr import PageReader

    return PageReader()


class _PageReaderOnFirstUse:
    """The page reader, built (its imports loaded: about 0.3 s) only when a page is to be read."""

    def __init__(self):
        self._reader = None

    def __getattr__(self, name):
        if self._reader is None:
            self._reader = make_page_reader()
        return getattr(self._reader, name)


SWITCH_INTERVAL_SECONDS = 0.0005
"""The GIL hand-over interval while ``run --once`` fetches beside the process stage. With
Python's 5 ms default the fetch thread, whose IMAP reply or fsync has arrived, waits up to
5 ms for the CPU-bound process stage to let go, at every step."""


def run_once(app, *, imap_factory=None, mailer: SmtpMailer | None = None, page_reader=None,
             fork: bool = False) -> OnceReport:
    """Fetch everything pending, process it (OCR included), send what is due, return.

    The stages overlap: the fetcher stores and commits messages batch by
    batch (store → commit → mark on the server) while the process stage works
    through what is committed, and the senders (``intake.senders``: ``[smtp]
    connections`` SMTP connections) deliver each mail as soon as its case is
    committed. With ``fork`` (the CLI's choice) the fetcher and the senders run
    in child processes, so that they do not compete with processing for the
    interpreter lock, and a third child parses and decides the claimed messages
    ahead of the groups being applied (``intake.parse_ahead``); otherwise they
    are threads and the process stage parses in place. (A second process applying
    messages was tried: it gained nothing, as applying holds SQLite's one write
    lock for most of its work.) With ``mailer`` given,
    that one connection sends, after processing. Whatever is killed where, the
    claims, the transactions and the accepted-mail journal keep each message
    registered once and each mail sent once (tests/e2e/test_crash_safety.py).
    """
    report = OnceReport()
    senders = None
    if mailer is None:
        factory = lambda: SmtpMailer(app.settings.smtp)  # noqa: E731
        senders = (ForkedSender(app, factory) if fork
                   else SenderPool(app, factory, app.settings.smtp.connections, poll_seconds=0.2)).start()
    wake = senders.wake if senders is not None else None
    old_interval = sys.getswitchinterval()
    sys.setswitchinterval(min(old_interval, SWITCH_INTERVAL_SECONDS))
    try:
        fetcher = (_BackgroundProcess(app, lambda: _fetch(app, imap_factory), "fetcher")
                   if fork else _Background(lambda: _fetch(app, imap_factory), "run-once-fetch"))
        fetcher.start()
        ahead = ParseAhead(app, chunk=GROUP_SIZE).start() if fork else None
        try:
            while True:
                fetched_all = fetcher.finished()
                more = process_received(app, on_commit=wake, ahead=ahead)
                report.process.add(more)
                if fetched_all:
                    break
                if not (more.processed or more.failed):
                    fetcher.finished(0.02)
        finally:
            if ahead is not None:
                ahead.close()
            fetcher.join()
        report.fetch = fetcher.result()
        reader = page_reader or _PageReaderOnFirstUse()
        report.ocr = process_ocr(app, reader, limit=10_000)
        if report.ocr.processed:
            report.process.add(process_received(app, on_commit=wake))
        report.sweep = sweep(app)          # reminders, overdue, digests … due now (intake.stages.sweep)
    finally:
        sys.setswitchinterval(old_interval)
        if senders is not None:
            report.send = senders.finish()
    if mailer is not None:
        try:
            report.send = deliver_due(app, mailer)
        finally:
            mailer.close()
    return report


def _fetch(app, imap_factory=None) -> FetchReport:
    settings = app.settings
    source = (imap_factory or ImapSource)(settings.imap)
    try:
        source.connect()
        return fetch_once(app.engine, app.store, source, mailbox=settings.imap.mailbox,
                          processed_mailbox=settings.imap.processed_mailbox, now=app.now())
    finally:
        source.close()


class _BackgroundProcess:
    """``_Background`` in a forked child (``intake.forking``): its work does not take turns with
    the caller's at the interpreter lock."""

    def __init__(self, app, fn, name: str):
        self.app, self.fn, self.name = app, fn, name
        self._child = None
        self._result = None

    def start(self) -> None:
        self._child = fork_child(self.name, self.app, self.fn)

    def finished(self, timeout: float = 0) -> bool:
        return self._child.finished(timeout)

    def join(self) -> None:
        if self._child is not None:
            child, self._child = self._child, None
            try:
                self._result = (True, child.result())
            except Exception as exc:
                self._result = (False, exc)

    def result(self):
        self.join()
        ok, value = self._result
        if not ok:
            raise value
        return value


class _Background:
    """Run ``fn`` in a thread; ``result()`` returns its value or re-raises its error."""

    def __init__(self, fn, name: str):
        self.fn = fn
        self.done = threading.Event()
        self._value = None
        self._error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _run(self) -> None:
        try:
            self._value = self.fn()
        except BaseException as exc:  # re-raised in the caller's thread
            self._error = exc
        finally:
            self.done.set()

    def finished(self, timeout: float = 0) -> bool:
        return self.done.wait(timeout)

    def join(self) -> None:
        self.thread.join()

    def result(self):
        self.join()
        if self._error is not None:
            raise self._error
        return self._value


class Daemon:
    def __init__(self, app, *, page_reader=None, template_check_seconds: float = 10):
        self.app = app
        self.template_check_seconds = template_check_seconds
        self.stop_event = threading.Event()
        self.wake_process = threading.Event()
        self.wake_ocr = threading.Event()
        self.wake_send = threading.Event()
        self.wake_sweep = threading.Event()
        self.page_reader = page_reader
        self.scheduler = BackgroundScheduler(timezone="UTC")
        self.ops = start_ops(app)          # progress, sd_notify, /metrics, /healthz (intake.ops_runtime)

    # -- loops --------------------------------------------------------
    def fetch_loop(self) -> None:
        s = self.app.settings.imap
        source = Reconnecting(ImapSource(s), mailbox=s.mailbox)
        try:
            while not self.stop_event.is_set():
                try:
                    rep = fetch_once(self.app.engine, self.app.store, source, mailbox=s.mailbox,
                                     processed_mailbox=s.processed_mailbox, now=self.app.now())
                    self.ops.tick("fetch")
                    if rep.registered:
                        self.wake_process.set()
                    source.wait_for_new(float(s.poll_seconds))
                except Exception as exc:  # never let the fetch loop die
                    self.ops.error("imap")
                    log.error("- fetch loop error: %s", exc, exc_info=True)
                    self.stop_event.wait(5)
        finally:
            source.close()

    def process_loop(self) -> None:
        while not self.stop_event.is_set():
            self.wake_process.wait(5)
            self.wake_process.clear()
            try:
                rep = process_received(self.app)
                if rep.processed:          # some may have been queued for OCR; its claim is cheap if not
                    self.wake_ocr.set()
                    self.wake_send.set()
            except Exception as exc:
                log.error("- process loop error: %s", exc, exc_info=True)

    def ocr_loop(self) -> None:
        reader = self.page_reader or make_page_reader()
        while not self.stop_event.is_set():
            self.wake_ocr.wait(30)
            self.wake_ocr.clear()
            try:
                if process_ocr(self.app, reader).processed:
                    self.wake_process.set()
            except Exception as exc:
                log.error("- ocr loop error: %s", exc, exc_info=True)

    def send_loop(self) -> None:
        """``[smtp] connections`` senders, woken when the process stage or the sweeper queued mail."""
        pool = SenderPool(self.app, lambda: SmtpMailer(self.app.settings.smtp),
                          self.app.settings.smtp.connections, poll_seconds=10)
        try:
            pool.start()
            while not self.stop_event.is_set():
                self.wake_send.wait(10)
                self.wake_send.clear()
                pool.wake()
                self.ops.tick("send")
        except Exception as exc:
            log.error("- send loop error: %s", exc, exc_info=True)
        finally:
            pool.stop()

    def sweep_loop(self) -> None:
        """Timed work (reminders, overdue, escalations, progress notices, digests): all from rows."""
        while not self.stop_event.is_set():
            self.wake_sweep.wait(60)
            self.wake_sweep.clear()
            if self.stop_event.is_set():
                return
            try:
                if sweep(self.app).queued | daily_duties(self.app, self.app.now(), self.ops):
                    self.wake_send.set()
            except Exception as exc:
                log.error("- sweep loop error: %s", exc, exc_info=True)

    def refresh_templates(self) -> None:
        """Pick up admins' edits: a passing edit serves at once, a failing one is rejected and reported."""
        try:
            if record_template_changes(self.app, self.app.templates.refresh()):
                self.wake_send.set()
        except Exception as exc:
            log.error("- template refresh failed: %s", exc, exc_info=True)

    # -- lifecycle ----------------------------------------------------
    def run(self) -> int:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self.stop_event.set())
        threads = [threading.Thread(target=fn, name=fn.__name__, daemon=True)
                   for fn in (self.fetch_loop, self.process_loop, self.ocr_loop, self.send_loop, self.sweep_loop)]
        self.scheduler.add_job(self.wake_process.set, "interval", seconds=30, id="wake-process")
        self.scheduler.add_job(self.wake_ocr.set, "interval", seconds=60, id="wake-ocr")
        self.scheduler.add_job(self.wake_send.set, "interval", seconds=30, id="wake-send")
        self.scheduler.add_job(self.refresh_templates, "interval", seconds=self.template_check_seconds, id="templates")
        self.scheduler.add_job(self.wake_sweep.set, "interval", seconds=self.app.settings.reminders.sweep_seconds,
                               id="wake-sweep")
        self.scheduler.start()
        self.wake_sweep.set()              # the first sweep at start (an interval job first fires after one interval)
        record_template_changes(self.app, [c for c in self.app.templates.startup_changes if c.status == "rejected"])
        for t in threads:
            t.start()
        log.info("- intake daemon started (worker %s)", self.app.worker_id)
        while not self.stop_event.is_set():
            self.stop_event.wait(1)
        log.info("- intake daemon stopping")
        self.ops.stopping()
        self.scheduler.shutdown(wait=False)
        for ev in (self.wake_process, self.wake_ocr, self.wake_send, self.wake_sweep):
            ev.set()
        deadline = time.monotonic() + 15
        for t in threads:
            t.join(max(0.1, deadline - time.monotonic()))
        self.ops.close()
        return 0
