"""No log line carries a resident registration number in clear (through the configured handler)."""

from __future__ import annotations

import io
import logging
import sys

import pytest

from intake.logging_setup import setup_logging

RRN = "900101-1234567"
RRN_2020 = "201015-4123456"      # issued after 2020-10: no checksum, detected by format, date and S digit


def _configure(buf: io.StringIO) -> logging.Handler:
    """setup_logging(), then point its own stderr handler at ``buf``."""
    setup_logging()
    [ours] = [h for h in logging.getLogger().handlers
              if isinstance(h, logging.StreamHandler) and h.stream is sys.stderr]
    ours.setStream(buf)
    return ours


@pytest.fixture
def log_output():
    """The handler setup_logging() installs, writing to a buffer; the root logger restored afterwards."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    buf = io.StringIO()
    _configure(buf)
    try:
        yield buf
    finally:
        root.handlers[:], root.level = saved


@pytest.mark.parametrize("journal", [False, True])
def test_rrn_masked_in_message_args_exception_and_stack(log_output, monkeypatch, journal):
    if journal:
        monkeypatch.setenv("JOURNAL_STREAM", "8:1234")
        _configure(log_output)
    log = logging.getLogger("intake.register")
    log.info("2026-000001 text: 주민등록번호 %s 입니다", RRN)                 # in an argument
    log.warning(f"2026-000002 raw {RRN_2020} in the message itself")
    log.info("%(who)s wrote %(rrn)s", {"who": "홍길동", "rrn": "880231-1234567"})   # not a date: not an RRN
    try:
        raise ValueError(f"cannot parse {RRN}")
    except ValueError:
        log.exception("2026-000003 failed")
    log.info("2026-000004 stack", stack_info=True, extra={})
    out = log_output.getvalue()
    assert "1234567" not in out.replace("880231-1234567", "")
    assert "4123456" not in out
    assert out.count("######-*******") >= 2 and "201015" not in out
    assert "880231-1234567" in out, "not a valid date: left alone (no false masking)"
    assert "ValueError: cannot parse ######-*******" in out, "the traceback is kept, masked"
    assert "2026-000001 text: 주민등록번호 ######-******* 입니다" in out
    for ref in ("2026-000001", "2026-000002", "2026-000003", "2026-000004"):
        assert ref in out


def test_handler_has_the_filter_and_bad_format_args_still_log(log_output):
    from intake.logging_setup import RrnMaskingFilter

    handlers = [h for h in logging.getLogger().handlers if getattr(h, "stream", None) is log_output]
    assert len(handlers) == 1 and any(isinstance(f, RrnMaskingFilter) for f in handlers[0].filters)
    logging.getLogger("intake").info("two %s %s", RRN)          # wrong argument count
    assert "1234567" not in log_output.getvalue() and "######-*******" in log_output.getvalue()
