"""Senders: the outbox drained over ``[smtp] connections`` SMTP connections at once.

``SenderPool.send_due()`` is the send stage's one pass: one thread per
connection, each claiming a batch of due outbox rows at a time and sending them
(``intake.stages.send.deliver_due``), until nothing is due; then it returns.
The connections stay open between passes (a connection the server has closed
meanwhile is opened again at the next mail). The daemon calls ``send_due``
whenever the process stage or the sweeper has queued mail; ``run --once`` calls
it once, at the end.

Crash safety is the sender's own (``intake/stages/send.py``): a mail the
server accepted is journalled before anything else, so a crash never sends it
twice, and a claimed mail not yet sent is sent after its claim expires.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Callable

from intake.stages.send import Mailer, SendReport, deliver_due, settle_interrupted

if TYPE_CHECKING:
    from intake.app import App

log = logging.getLogger("intake.send")


class SenderPool:
    def __init__(self, app: App, mailer_factory: Callable[[], Mailer], connections: int):
        self.app = app
        self.mailers = [mailer_factory() for _ in range(max(1, connections))]

    def send_due(self) -> SendReport:
        """Send everything due now over all connections; the merged report. A worker's error (a
        database or store error) is raised here once the others have finished."""
        report = SendReport()
        settle_interrupted(self.app, report)
        if len(self.mailers) == 1:
            report.add(deliver_due(self.app, self.mailers[0], settle=False))
            return report
        reports = [SendReport() for _ in self.mailers]
        errors: list[BaseException] = []

        def work(i: int) -> None:
            try:
                reports[i] = deliver_due(self.app, self.mailers[i], settle=False)
            except BaseException as exc:      # re-raised in the caller's thread
                self.mailers[i].close()
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(i,), name=f"sender-{i}", daemon=True)
                   for i in range(len(self.mailers))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for r in reports:
            report.add(r)
        if errors:
            raise errors[0]
        return report

    def close(self) -> None:
        for mailer in self.mailers:
            mailer.close()
