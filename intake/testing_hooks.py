"""Crash points for the crash-safety tests.

``INTAKE_CRASH_AT=name[:n]`` makes the process kill itself with SIGKILL the n-th
time (default 1st) it reaches the named point. Unset (always, in production),
``crash_point`` is a dictionary lookup and nothing else.
"""

from __future__ import annotations

import os
import signal

_counts: dict[str, int] = {}
_parent_pid: int | None = None


def kill_parent_on_crash(parent_pid: int) -> None:
    """In a helper child process (the forked sender): a crash point kills the parent too, so the
    test sees the whole ``run --once`` die at that point, as it would without the child."""
    global _parent_pid
    _parent_pid = parent_pid


def crash_point(name: str) -> None:
    spec = os.environ.get("INTAKE_CRASH_AT")
    if not spec:
        return
    wanted, _, nth = spec.partition(":")
    if wanted != name:
        return
    _counts[name] = _counts.get(name, 0) + 1
    if _counts[name] >= int(nth or 1):
        if _parent_pid is not None:
            os.kill(_parent_pid, signal.SIGKILL)
        os.kill(os.getpid(), signal.SIGKILL)


def clock_skew_seconds() -> float:
    """``INTAKE_TEST_CLOCK_SKEW_SECONDS``: run the daemon's clock ahead (tests simulate time passing,
    e.g. a killed worker's claim expiring). Unset in production."""
    return float(os.environ.get("INTAKE_TEST_CLOCK_SKEW_SECONDS") or 0)
