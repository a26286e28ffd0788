"""Logging to standard error, one line per event, in a form journald keeps.

Lines read ``<level> <logger>: <case ref or -> <message>``: the stages put the
case reference first in their messages so ``journalctl -u intake | grep
2026-000123`` finds a case's whole story. Under systemd (JOURNAL_STREAM set)
the timestamp is left to journald and the level goes out as a ``<N>`` syslog
prefix that journald turns into the entry's priority.
"""

from __future__ import annotations

import logging
import os
import sys

_SYSLOG_PRIORITY = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3, logging.CRITICAL: 2}


class _JournalFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        msg = super().format(record).replace("\n", " | ")
        return f"<{_SYSLOG_PRIORITY.get(record.levelno, 6)}>{msg}"


def setup_logging(verbose: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if os.environ.get("JOURNAL_STREAM"):
        handler.setFormatter(_JournalFormatter("%(name)s: %(message)s"))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for noisy in ("apscheduler", "imapclient", "mail-parser", "mailparser", "alembic", "sqlalchemy", "asyncio", "mail.log"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
