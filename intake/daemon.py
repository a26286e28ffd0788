"""Running the pipeline (``intake/pipeline.py``): for ever (``Daemon``) or once (``run_once``).

Both run the same passes of the same steps in one process; the difference is
only what happens between passes.

``Daemon`` (``intake run``, systemd's service): one thread per step. The fetch
thread waits for new mail with IMAP IDLE (or polls); every other step waits for
its wake-up event, set when a step before it did something (``pipeline.WAKES``)
or by a timeout (rows whose retry time has come). APScheduler only wakes the
sweeper on its interval and checks the templates for edits. Every piece of
state lives in database rows, so a restart loses nothing and a second instance
can share the work (PostgreSQL).

``run_once`` (``intake run --once``): fetch → process → OCR (then process
again) → sweep → send, each pass once, then return.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from intake import pipeline, workers
from intake.adapters.imap_source import ImapSource, Reconnecting
from intake.adapters.smtp_mailer import SmtpMailer
from intake.budget import limit_memory
from intake.runner import RunReport
from intake.senders import SenderPool
from intake.stages.admin import record_template_changes
from intake.stages.fetch import FetchReport
from intake.stages.send import Mailer, SendReport
from intake.stages.sweep import SweepReport
from intake.ops_runtime import start_ops

if TYPE_CHECKING:
    from intake.app import App

log = logging.getLogger("intake.daemon")

STOP_SECONDS = 8.0
"""On SIGTERM, how long the daemon waits for its steps to finish the pass in hand. A step still
busy after that (an SMTP server that does not answer) is abandoned: everything it had not
committed is done again by the next start (claims expire; the sent journal prevents doubles)."""

POLL_SECONDS = {"process": 5.0, "ocr": 30.0, "sweep": 60.0, "send": 10.0}
"""How long a step waits for a wake-up before it looks anyway (retries whose time has come)."""


@dataclass
class OnceReport:
    fetch: FetchReport = field(default_factory=FetchReport)
    process: RunReport = field(default_factory=RunReport)
    ocr: RunReport = field(default_factory=RunReport)
    sweep: SweepReport = field(default_factory=SweepReport)
    send: SendReport = field(default_factory=SendReport)


def senders_for(app: App, mailer_factory: Callable[[], Mailer] | None = None) -> SenderPool:
    factory = mailer_factory or (lambda: SmtpMailer(app.settings.smtp))
    return SenderPool(app, factory, app.settings.smtp.connections)


def run_once(app: App, *, imap_factory=None, mailer_factory: Callable[[], Mailer] | None = None) -> OnceReport:
    """One pass of every step, in the pipeline's order. Whatever is killed where, the claims, the
    transactions and the accepted-mail journal keep each message registered once and each mail
    sent once (tests/e2e/test_crash_safety.py)."""
    report = OnceReport()
    workers.register(app.engine, app.worker_id, app.now())
    # A long run must keep its claims: without beats, another instance takes them over (and sends
    # again) once this run has looked dead for STALE_SECONDS.
    heartbeat = workers.Heartbeat(app.engine, app.worker_id, app.now).start()
    try:
        _once_passes(app, report, imap_factory, mailer_factory)
    finally:
        heartbeat.stop()
    workers.retire(app.engine, app.worker_id)
    return report


def _once_passes(app: App, report: OnceReport, imap_factory, mailer_factory) -> None:
    with _timed("fetch"):
        source = (imap_factory or ImapSource)(app.settings.imap)
        try:
            source.connect()
            report.fetch = pipeline.fetch_pass(app, source)
        finally:
            source.close()
    with _timed("process"):
        report.process = pipeline.process_pass(app)
    with _timed("ocr"):
        report.ocr = pipeline.ocr_pass(app)
        if report.ocr.worked:
            report.process.add(pipeline.process_pass(app))
    with _timed("sweep"):
        report.sweep = pipeline.sweep_pass(app)
    with _timed("send"):
        senders = senders_for(app, mailer_factory)
        try:
            report.send = pipeline.send_pass(senders)
        finally:
            senders.close()


@contextlib.contextmanager
def _timed(step: str):
    t0 = time.perf_counter()
    yield
    log.info("- %s pass: %.2f s", step, time.perf_counter() - t0)


class Daemon:
    def __init__(self, app: App, *, template_check_seconds: float = 10):
        self.app = app
        self.template_check_seconds = template_check_seconds
        self.stop_event = threading.Event()
        self.fetching = threading.Event()     # set during a fetch pass (not while waiting for mail)
        self.wake = {name: threading.Event() for name in pipeline.ORDER}
        from apscheduler.schedulers.background import BackgroundScheduler   # not loaded by run --once

        self.scheduler = BackgroundScheduler(timezone="UTC")
        self.ops = start_ops(app)          # progress, sd_notify, /metrics, /healthz (intake.ops_runtime)

    # -- loops --------------------------------------------------------
    def fetch_loop(self) -> None:
        s = self.app.settings.imap
        source = Reconnecting(ImapSource(s), mailbox=s.mailbox)
        try:
            while not self.stop_event.is_set():
                try:
                    self.fetching.set()
                    try:
                        # process starts on each stored batch while a big mailbox drains
                        self._woke("fetch", pipeline.fetch_pass(self.app, source,
                                                                on_batch=self.wake["process"].set))
                        self.ops.tick("fetch")
                    finally:
                        self.fetching.clear()
                    source.wait_for_new(float(s.poll_seconds))
                except Exception as exc:  # never let the fetch loop die
                    self.ops.error("imap")
                    log.error("- fetch loop error: %s", exc, exc_info=True)
                    self.stop_event.wait(5)
        finally:
            source.close()

    def step_loop(self, name: str, one_pass: Callable[[], object]) -> None:
        """Wait for a wake-up (or the poll interval), run the pass, wake the steps after it."""
        while not self.stop_event.is_set():
            self.wake[name].wait(POLL_SECONDS[name])
            self.wake[name].clear()
            if self.stop_event.is_set():
                return
            try:
                report = one_pass()
                self._woke(name, report)
                self.ops.tick(name)        # the watchdog and /healthz see progress, not a timer
                if name == "send":         # mail the server refused or could not take now
                    self.ops.error("smtp", report.deferred + report.failed)
            except Exception as exc:  # logged; the next wake-up tries again
                if name == "send":
                    self.ops.error("smtp")
                log.error("- %s loop error: %s", name, exc, exc_info=True)

    def _woke(self, name: str, report) -> None:
        if report.worked:
            for following in pipeline.WAKES[name]:
                self.wake[following].set()

    def refresh_templates(self) -> None:
        """Pick up admins' edits: a passing edit serves at once, a failing one is rejected and reported."""
        try:
            if record_template_changes(self.app, self.app.templates.refresh()):
                self.wake["send"].set()
        except Exception as exc:
            log.error("- template refresh failed: %s", exc, exc_info=True)

    # -- lifecycle ----------------------------------------------------
    def run(self) -> int:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self.stop_event.set())
        limit_memory(self.app.settings.processing.memory_mb)
        workers.register(self.app.engine, self.app.worker_id, self.app.now())
        senders = senders_for(self.app)
        passes = {"process": lambda: pipeline.process_pass(self.app),
                  "ocr": lambda: pipeline.ocr_pass(self.app),
                  "sweep": lambda: pipeline.sweep_pass(self.app, self.ops),
                  "send": lambda: pipeline.send_pass(senders)}
        threads = [threading.Thread(target=self.fetch_loop, name="fetch", daemon=True)]
        threads += [threading.Thread(target=self.step_loop, args=(name, fn), name=name, daemon=True)
                    for name, fn in passes.items()]
        self.scheduler.add_job(self.refresh_templates, "interval", seconds=self.template_check_seconds,
                               id="templates")
        self.scheduler.add_job(self.wake["sweep"].set, "interval", seconds=self.app.settings.reminders.sweep_seconds,
                               id="wake-sweep")
        self.scheduler.start()
        # a dead worker's claims are free: every step looks now, not at its next poll
        heartbeat = workers.Heartbeat(self.app.engine, self.app.worker_id, self.app.now,
                                      on_freed=lambda: [e.set() for e in self.wake.values()]).start()
        record_template_changes(self.app, [c for c in self.app.templates.startup_changes if c.status == "rejected"])
        for name in ("process", "ocr", "sweep", "send"):   # the first pass of each at start
            self.wake[name].set()
        for t in threads:
            t.start()
        log.info("- intake daemon started (worker %s)", self.app.worker_id)
        while not self.stop_event.wait(1):
            pass
        log.info("- intake daemon stopping")
        self.ops.stopping()
        self.scheduler.shutdown(wait=False)
        heartbeat.stop()
        for event in self.wake.values():
            event.set()
        deadline = time.monotonic() + STOP_SECONDS
        for t in threads:
            if t.name == "fetch" and not self.fetching.is_set():
                continue       # waiting in IMAP IDLE: nothing to finish (the connection just closes)
            t.join(max(0.0, deadline - time.monotonic()))
        busy = [t.name for t in threads if t.is_alive() and (t.name != "fetch" or self.fetching.is_set())]
        if busy:
            log.warning("- still busy at exit, left to the next start: %s", ", ".join(busy))
        if "send" not in busy:
            senders.close()
        if not busy:
            workers.retire(self.app.engine, self.app.worker_id)
        self.ops.close()
        return 0
