"""A per-message budget of time and memory for the pure half of a stage.

Time: a watchdog timer raises ``OverBudget`` in the thread that runs the pure half
once its budget is spent (``PyThreadState_SetAsyncExc``: delivered at the next
Python bytecode, so at the checkpoints that every pure-Python loop has — the
parser, the classifier and html.parser are such loops; one long C call finishes
first). The runner catches it like any failure and sets the message aside at once
with the reason: trying again would only spend the same budget again.

Memory: ``limit_memory`` sets the process's RLIMIT_AS, so that a message that
needs more raises ``MemoryError`` inside its own pure half (caught the same way)
instead of the kernel killing the daemon.
"""

from __future__ import annotations

import ctypes
import logging
import resource
import threading
from contextlib import contextmanager

log = logging.getLogger("intake.budget")


class OverBudget(Exception):
    """The pure half of a stage took longer than its budget for one message."""

    set_aside_at_once = True


def _raise_in(thread_id: int, exc_type: type[BaseException] | None) -> None:
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id),
                                               ctypes.py_object(exc_type) if exc_type else None)


@contextmanager
def time_budget(seconds: float, what: str):
    """Run the body; raise ``OverBudget`` in it if it takes more than ``seconds``."""
    if seconds <= 0:
        yield
        return
    target = threading.get_ident()
    lock = threading.Lock()
    state = {"done": False, "fired": False}

    def expire() -> None:
        with lock:
            if not state["done"]:
                state["fired"] = True
                _raise_in(target, OverBudget)

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()
    try:
        yield
    except OverBudget:
        raise OverBudget(f"{what} took more than {seconds:g} s (the per-message budget)") from None
    finally:
        timer.cancel()
        with lock:
            state["done"] = True
            fired = state["fired"]
        if fired:
            _raise_in(target, None)    # a pending, not yet delivered interruption is dropped here
    if fired:                          # … and raised here, inside the caller's try, with the reason
        raise OverBudget(f"{what} took more than {seconds:g} s (the per-message budget)")


def limit_memory(megabytes: int) -> None:
    """Cap the process's address space (``[processing] memory_mb``); 0 leaves it as it is."""
    if megabytes <= 0:
        return
    limit = megabytes * 1024 * 1024
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY and hard < limit:
        limit = hard
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    log.info("memory limit: %d MB of address space (RLIMIT_AS)", limit // (1024 * 1024))
