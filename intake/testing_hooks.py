"""Test seams, read here and nowhere else: crash points and the clock skew.

``INTAKE_CRASH_AT=name[:n]`` makes the process kill itself with SIGKILL the n-th
time (default 1st) it reaches the named crash point. The variable is read once,
when the process first reaches any crash point; unset (always, in production),
``crash_point`` is one comparison and nothing else.

The crash points, in the order one message meets them:

``after-fetch-commit``       raw stored and rows committed, not yet flagged on the server
``before-<stage>-commit``    a message's effects written in its transaction, not committed
                             (``<stage>`` is a pipeline stage's name: ``process``, ``ocr``;
                             raised by the runner for every stage alike)
``after-<stage>-commit``     a message's transaction committed
``before-smtp-send``         an outbox row claimed (committed), not yet sent
``after-smtp-accepted``      the server said 250, the journal has it, the row is not yet marked sent
``after-smtp-commit``        the row is marked sent
``sweep-before-commit``      a clock's timed actions written (ledger rows and mail), not committed

``INTAKE_CRASH_ON_MESSAGE=text`` makes the process kill itself each time a stage starts on a
message whose Message-ID contains ``text``: a message that kills the process every time
(``intake.claims``).
"""

from __future__ import annotations

import os
import signal

_counts: dict[str, int] = {}
_wanted: tuple[str, int] | None = None
_read = False


def _crash_spec() -> tuple[str, int] | None:
    global _wanted, _read
    if not _read:
        spec = os.environ.get("INTAKE_CRASH_AT") or ""
        name, _, nth = spec.partition(":")
        _wanted = (name, int(nth or 1)) if name else None
        _read = True
    return _wanted


def crash_point(name: str) -> None:
    wanted = _crash_spec()
    if wanted is None or wanted[0] != name:
        return
    _counts[name] = _counts.get(name, 0) + 1
    if _counts[name] >= wanted[1]:
        os.kill(os.getpid(), signal.SIGKILL)


def crash_on_message(message_id: str | None) -> None:
    marker = os.environ.get("INTAKE_CRASH_ON_MESSAGE")
    if marker and message_id and marker in message_id:
        os.kill(os.getpid(), signal.SIGKILL)


def clock_skew_seconds() -> float:
    """``INTAKE_TEST_CLOCK_SKEW_SECONDS``: run the daemon's clock ahead (tests simulate time passing,
    e.g. a killed worker's claim expiring). Unset in production."""
    return float(os.environ.get("INTAKE_TEST_CLOCK_SKEW_SECONDS") or 0)
