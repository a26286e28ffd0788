"""What the daemon's loops tell the operator: progress, readiness, the watchdog, metrics, health.

The daemon holds one ``OpsRuntime`` and calls it from its loops (the hooks are one line each):

* ``ops.tick("fetch")`` after each completed fetch cycle, ``ops.tick("send")`` after each send
  cycle: the progress the watchdog and ``/healthz`` judge. The first fetch cycle means the
  schema was checked (before the daemon started) and the mailbox opened: ``READY=1``.
* ``WATCHDOG=1`` is sent from ``tick`` once every watched loop has ticked since the last ping, so
  a hung loop stops the pings and systemd restarts the service (no timer thread that would go
  on pinging while the loops hang).
* ``ops.error("imap"|"smtp")`` counts a failed cycle; ``ops.stopping()`` sends ``STOPPING=1``.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from prometheus_client import CollectorRegistry, Counter

from intake.adapters.sd_notify import SdNotifier

log = logging.getLogger("intake.ops")

WATCHED_LOOPS = ("fetch", "send")


@dataclass
class Progress:
    """When each loop last completed a cycle (monotonic seconds)."""

    loops: tuple[str, ...] = WATCHED_LOOPS
    clock: Callable[[], float] = time.monotonic
    started: float = field(default_factory=time.monotonic)
    last: dict[str, float] = field(default_factory=dict)

    def tick(self, loop: str) -> None:
        self.last[loop] = self.clock()

    def stale(self, max_age: float) -> dict[str, float | None]:
        """Loops whose last cycle is older than ``max_age`` (None: never completed one), if the
        process has been up that long."""
        now = self.clock()
        if now - self.started < max_age:
            return {}
        return {name: (None if name not in self.last else round(now - self.last[name], 1))
                for name in self.loops if name not in self.last or now - self.last[name] > max_age}


class OpsRuntime:
    def __init__(self, *, notifier: SdNotifier | None = None, progress: Progress | None = None,
                 registry: CollectorRegistry | None = None):
        self.notifier = notifier or SdNotifier()
        self.progress = progress or Progress()
        self.registry = registry or CollectorRegistry()
        self.errors = Counter("intake_errors", "Failed fetch/send cycles by server", ["server"], registry=self.registry)
        for server in ("imap", "smtp"):
            self.errors.labels(server=server)
        self._lock = threading.Lock()
        self._since_ping: set[str] = set()
        self.ready_sent = False
        self.watchdog_pings = 0
        self.server = None          # the metrics HTTP server, when one runs

    def tick(self, loop: str) -> None:
        with self._lock:
            self.progress.tick(loop)
            self._since_ping.add(loop)
            if loop == "fetch" and not self.ready_sent:
                self.ready_sent = self.notifier.notify("READY=1", "STATUS=mailbox open, loops running") or True
                log.info("- ready: schema checked, mailbox open")
            if self._since_ping >= set(self.progress.loops):
                self._since_ping.clear()
                if self.notifier.notify("WATCHDOG=1"):
                    self.watchdog_pings += 1

    def error(self, server: str, count: int = 1) -> None:
        if count > 0:
            self.errors.labels(server=server).inc(count)

    def stopping(self) -> None:
        self.notifier.notify("STOPPING=1", "STATUS=stopping")

    def close(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
        self.notifier.close()


def start_ops(app, *, notifier: SdNotifier | None = None) -> OpsRuntime:
    """The daemon's OpsRuntime, with ``/metrics`` and ``/healthz`` served when ``[metrics] listen`` is set."""
    from intake.metrics import serve

    ops = OpsRuntime(notifier=notifier)
    m = app.settings.metrics
    if m.listen:
        try:
            ops.server = serve(app, ops, m.listen, m.stale_seconds)
        except OSError as exc:     # mail goes on without metrics; the operator sees why
            log.error("- metrics: cannot listen on %s: %s", m.listen, exc)
    return ops
