"""Logging to standard error, one line per event, in a form journald keeps.

Lines read ``<level> <logger>: <case ref or -> <message>``: the stages put the
case reference first in their messages so ``journalctl -u intake | grep
2026-000123`` finds a case's whole story. Under systemd (JOURNAL_STREAM set)
the timestamp is left to journald and the level goes out as a ``<N>`` syslog
prefix that journald turns into the entry's priority.

No line carries a resident registration number (주민등록번호) in clear:
``RrnMaskingFilter`` on the handler masks them (``######-*******``) in the
message, its arguments, the exception text and the stack.
"""

from __future__ import annotations

import logging
import os
import sys

from intake.domain.pii import contains_rrn, mask_rrn

_SYSLOG_PRIORITY = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3, logging.CRITICAL: 2}


class _JournalFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        msg = super().format(record).replace("\n", " | ")
        return f"<{_SYSLOG_PRIORITY.get(record.levelno, 6)}>{msg}"


class RrnMaskingFilter(logging.Filter):
    """Masks 주민등록번호 in every record a handler writes (message, arguments, traceback, stack)."""

    _exc_formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string: keep what can be shown
            message = f"{record.msg!r} % {record.args!r}"
        if contains_rrn(message):
            message = mask_rrn(message)
        record.msg, record.args = message, None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._exc_formatter.formatException(record.exc_info)
        if record.exc_text and contains_rrn(record.exc_text):
            record.exc_text = mask_rrn(record.exc_text)
        if record.stack_info and contains_rrn(record.stack_info):
            record.stack_info = mask_rrn(record.stack_info)
        return True


def setup_logging(verbose: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RrnMaskingFilter())
    if os.environ.get("JOURNAL_STREAM"):
        handler.setFormatter(_JournalFormatter("%(name)s: %(message)s"))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for noisy in ("apscheduler", "imapclient", "mail-parser", "mailparser", "alembic", "sqlalchemy", "asyncio", "mail.log"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
