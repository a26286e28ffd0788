"""``Reconnecting``: the retry wrapper the daemon's loops call ``ImapSource`` through.

Each call (re)connects and re-selects as needed and is retried after a
jittered exponential backoff (1, 2, 4 ... 60 s) until the server is back.
One warning is logged per outage and one info line when it ends.
"""

from __future__ import annotations

import logging
import random
import time
from typing import TYPE_CHECKING, Callable, Iterable, Sequence, TypeVar

from intake.adapters.imap_errors import ConnectionLost, UidValidityChanged

if TYPE_CHECKING:  # imap_source re-exports this module's class: no import at run time
    from intake.adapters.imap_source import FetchedMessage, ImapSource

__all__ = ["Reconnecting"]

log = logging.getLogger("intake.imap")

T = TypeVar("T")


class Reconnecting:
    """Retry wrapper around an ``ImapSource``.

    Each call ensures a connection with ``mailbox`` selected, runs the
    operation and, on ``ConnectionLost``, waits (1, 2, 4 ... ``max_delay``
    s, +/- ``jitter``) and tries again until it succeeds.  TLS and
    authentication errors propagate.  If the mailbox comes back with a
    different UIDVALIDITY, ``UidValidityChanged`` is raised once (the new
    value is then current, so the next call proceeds).
    """

    def __init__(self, source: ImapSource, *, mailbox: str | None = None,
                 base_delay: float = 1.0, max_delay: float = 60.0,
                 jitter: float = 0.2,
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic,
                 rng: Callable[[], float] = random.random,
                 logger: logging.Logger = log):
        self.source = source
        self.mailbox = mailbox or source.settings.mailbox
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.jitter = jitter
        self._sleep = sleep
        self._clock = clock
        self._rng = rng
        self._log = logger
        self._attempt = 0
        self._outage_since: float | None = None
        self.uidvalidity: int | None = None

    def _delay(self) -> float:
        raw = min(self.max_delay, self.base_delay * (2 ** self._attempt))
        self._attempt += 1
        factor = 1.0 + self.jitter * (2.0 * self._rng() - 1.0)
        return max(0.0, min(self.max_delay, raw * factor))

    def _ensure(self) -> None:
        if self.source.connected and self.source.mailbox == self.mailbox:
            return
        if not self.source.connected:
            self.source.connect()
        uidvalidity, _uidnext = self.source.select(self.mailbox)
        old, self.uidvalidity = self.uidvalidity, uidvalidity
        if old is not None and old != uidvalidity:
            raise UidValidityChanged(self.mailbox, old, uidvalidity)

    def call(self, op: Callable[[ImapSource], T]) -> T:
        while True:
            try:
                self._ensure()
                result = op(self.source)
            except ConnectionLost as exc:
                self.source.close()
                if self._outage_since is None:
                    self._outage_since = self._clock()
                    self._log.warning(
                        "imap connection lost (%s); reconnecting with backoff",
                        exc)
                else:
                    self._log.debug("imap still unreachable: %s", exc)
                self._sleep(self._delay())
                continue
            if self._outage_since is not None:
                self._log.info("imap connection restored after %.0f s",
                               self._clock() - self._outage_since)
                self._outage_since = None
            self._attempt = 0
            return result

    @property
    def in_outage(self) -> bool:
        return self._outage_since is not None

    # convenience proxies ------------------------------------------------
    def select(self) -> tuple[int, int]:
        """Re-select; returns (uidvalidity, uidnext)."""
        def op(s: ImapSource) -> tuple[int, int]:
            uidvalidity, uidnext = s.select(self.mailbox)
            old, self.uidvalidity = self.uidvalidity, uidvalidity
            if old is not None and old != uidvalidity:
                raise UidValidityChanged(self.mailbox, old, uidvalidity)
            return uidvalidity, uidnext
        return self.call(op)

    def pending_uids(self, after_uid: int) -> list[int]:
        return self.call(lambda s: s.pending_uids(after_uid))

    def fetch(self, uids: Sequence[int]) -> list[FetchedMessage]:
        return self.call(lambda s: s.fetch(uids))

    def mark_done(self, uids: Iterable[int]) -> None:
        uids = list(uids)
        return self.call(lambda s: s.mark_done(uids))

    def move(self, uids: Iterable[int], dest: str) -> None:
        uids = list(uids)
        return self.call(lambda s: s.move(uids, dest))

    def uids_flagged_done(self) -> list[int]:
        return self.call(lambda s: s.uids_flagged_done())

    def wait_for_new(self, timeout_s: float) -> bool:
        """Like ImapSource.wait_for_new; after a reconnect returns True at
        once (mail may have arrived during the outage)."""
        first = [True]

        def op(s: ImapSource) -> bool:
            if first[0]:
                first[0] = False
                return s.wait_for_new(timeout_s)
            return True
        return self.call(op)

    def close(self) -> None:
        self.source.close()
