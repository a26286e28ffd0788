"""Senders: the outbox drained over several SMTP connections, beside the other stages.

``SenderPool`` runs ``[smtp] connections`` threads, each with its own SMTP
connection, each claiming a small batch of due outbox rows at a time
(``intake.stages.send.deliver_claimed``); an idle worker waits until
``wake()`` (new rows committed) or a short poll interval. The daemon runs one
in-process.

``ForkedSender`` runs a ``SenderPool`` in a child process for ``run --once``,
so that sending (TLS, SMTP round trips, its commits) does not compete for the
interpreter lock with the CPU-bound process stage. The parent wakes it through
a pipe after each commit and closes the pipe when nothing more will be queued;
the child then sends what is due and reports back. When the parent is killed
its end of the pipe closes just the same: the child finishes the mail it has in
hand and what is already committed, then exits. It is not killed with the
parent: a sender killed between the SMTP server's store and its 250 would leave
a mail that goes out twice, and the parent's crash would often land exactly
there (the child sends each mail the moment the parent commits it).

Crash safety is the sender's own (``intake/stages/send.py``): a mail the
server accepted is journalled before anything else, so a crash of either
process never sends it twice, and a claimed mail not yet sent is sent after
its claim expires.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
import time
from typing import Callable

from intake.db import is_sqlite, make_engine
from intake.forking import ChildHandle, fork_child, keep_from_children, release_from_children
from intake.stages.send import Accepted, Mailer, SendReport, deliver_claimed, mark_sent, settle_interrupted

log = logging.getLogger("intake.send")

BATCH = 40
"""Rows a worker claims at a time: small enough that the connections share the work, large
enough that the claims (write transactions, which the process stage must wait for) stay few."""

LINGER_SECONDS = 0.25
"""A woken worker waits this long before it claims, so that one claim takes the mail of several
group commits (16 messages, 32 mails each) instead of one each; a quarter of a second later is
no loss for an acknowledgement."""


class SenderPool:
    def __init__(self, app, mailer_factory: Callable[[], Mailer], connections: int, *,
                 poll_seconds: float = 1.0):
        self.app = app
        self.mailer_factory = mailer_factory
        self.connections = max(1, connections)
        self.poll_seconds = poll_seconds
        self._cond = threading.Condition()
        self._generation = 0
        self._finishing = False
        self._stopping = False
        self._threads: list[threading.Thread] = []
        self._reports = [SendReport() for _ in range(self.connections)]
        self._errors: list[BaseException] = []

    def start(self) -> "SenderPool":
        try:
            settle_interrupted(self.app, self._reports[0])
        except Exception as exc:   # the workers' own claims still work; the next start tries again
            log.error("- could not reconcile interrupted mail: %s", exc, exc_info=True)
        self._threads = [threading.Thread(target=self._work, args=(i,), name=f"sender-{i}", daemon=True)
                         for i in range(self.connections)]
        for t in self._threads:
            t.start()
        return self

    def wake(self) -> None:
        """New rows may be due: an idle worker claims again (and wakes the next if it found a full batch)."""
        with self._cond:
            self._generation += 1
            self._cond.notify()

    def finish(self) -> SendReport:
        """Send everything due now, then stop; the merged report of all workers."""
        with self._cond:
            self._finishing = True
            self._cond.notify_all()
        return self._join()

    def stop(self, timeout: float = 15) -> SendReport:
        """Stop after the batches in hand (the daemon's shutdown)."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        return self._join(timeout)

    def _join(self, timeout: float | None = None) -> SendReport:
        for t in self._threads:
            t.join(timeout)
        total = SendReport()
        for r in self._reports:
            total.add(r)
        if self._errors:
            raise self._errors[0]
        return total

    def _work(self, index: int) -> None:
        report = self._reports[index]
        mailer = self.mailer_factory()
        unmarked: list[Accepted] = []
        try:
            while not self._stopping:
                with self._cond:
                    seen = self._generation
                try:
                    claimed = deliver_claimed(self.app, mailer, BATCH, report, unmarked)
                except Exception as exc:   # a database or store error: log it, drop the connection, go on
                    log.error("- sender %d error: %s", index, exc, exc_info=True)
                    mailer.close()
                    if self._finishing:
                        self._errors.append(exc)
                        return
                    claimed = 0
                if claimed >= BATCH:       # there may be more: another worker can take some
                    self.wake()
                    continue
                with self._cond:
                    if self._finishing or self._stopping:
                        if not claimed:
                            return
                        continue
                    if self._generation == seen:
                        self._cond.wait(self.poll_seconds)
                    lingering = not (self._finishing or self._stopping)
                if lingering:
                    time.sleep(LINGER_SECONDS)
        finally:
            try:
                mark_sent(self.app, unmarked, report)
            finally:
                mailer.close()


def sender_app(app):
    """The app for a sender process of its own: on SQLite its commits (claims, sent marks) are not
    fsynced each (``make_engine(synced_commits=False)``), so that no fsync runs while it holds the
    database's one write lock, which the process stage waits for. What a power loss could undo
    is redone: a claim lost puts the mail back in the queue, a lost sent mark leaves it claimed
    until the journal settles it (or it is sent again, as for journal lines a power loss loses).
    A crash of the process loses nothing (WAL mode)."""
    if not is_sqlite(app.engine):
        return app
    return dataclasses.replace(app, engine=make_engine(app.settings.database.url, synced_commits=False))


class ForkedSender:
    """A ``SenderPool`` in a child process (see the module docstring). Fork it before starting threads."""

    def __init__(self, app, mailer_factory: Callable[[], Mailer]):
        self.app = app
        self.mailer_factory = mailer_factory
        self.wake_fd: int | None = None
        self._child: ChildHandle | None = None

    def start(self) -> "ForkedSender":
        wake_r, wake_w = os.pipe()
        self._child = fork_child("forked sender", self.app, lambda: self._serve(wake_r), close_in_child=[wake_w])
        os.close(wake_r)
        os.set_blocking(wake_w, False)
        keep_from_children(wake_w)        # its EOF is the child's signal to finish
        self.wake_fd = wake_w
        return self

    def wake(self) -> None:
        """Tell the sender new mail may be due (also from a forked processor, which shares the pipe)."""
        try:
            os.write(self.wake_fd, b".")
        except BlockingIOError:        # the pipe is full: the child has wake-ups pending anyway
            pass
        except BrokenPipeError:        # the child is gone: finish() reports it
            pass

    def finish(self) -> SendReport:
        """No more rows will be queued: the child sends what is due, reports and exits. (Forked
        processors hold the pipe too; the child sees its end only when they have exited.)"""
        release_from_children(self.wake_fd)
        os.close(self.wake_fd)
        return self._child.result()

    def _serve(self, wake_r: int) -> SendReport:
        pool = SenderPool(sender_app(self.app), self.mailer_factory, self.app.settings.smtp.connections,
                          poll_seconds=0.5).start()
        try:
            while os.read(wake_r, 4096):        # b"" = every writer closed it: finish
                pool.wake()
        finally:
            report = pool.finish()
        return report
