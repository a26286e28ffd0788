"""IMAP source adapter: a thin, explicit layer over imapclient.

``ImapSource`` owns one connection.  Every network/protocol failure is turned
into ``ConnectionLost`` (retryable); certificate problems raise
``ImapTlsError`` and rejected credentials ``ImapAuthError`` (both are
configuration problems and are not retried).

``Reconnecting`` wraps an ``ImapSource`` so the daemon's loop can stay
simple::

    imap = Reconnecting(ImapSource(settings))
    while True:
        try:
            for msg in imap.fetch(imap.pending_uids(cursor)):
                ...
            imap.wait_for_new(settings.poll_seconds)
        except UidValidityChanged as exc:
            ...  # mailbox was re-created: resynchronise

Each call (re)connects and re-selects as needed and is retried after a
jittered exponential backoff (``intake/adapters/imap_reconnect.py``); the
errors live in ``imap_errors.py``.  All three are importable from here.

imapclient pitfalls handled here:

* ``UID SEARCH n:*`` always matches the last message even when its UID is
  below ``n`` -> results are filtered.
* imapclient 4.x raises on UID range strings in FETCH after the command has
  run -> explicit UID lists only, in batches.
* ``idle_check`` returns ``[]`` forever once the server is gone and blocks
  forever without a socket timeout -> every connection has a timeout, an
  early empty ``idle_check`` triggers a NOOP liveness check, and IDLE is
  interrupted for a NOOP at least every ``liveness_interval`` seconds.
* A selected mailbox only shows new messages after the server syncs it
  (Dovecot does not on UID SEARCH) -> ``pending_uids`` NOOPs first.
* INTERNALDATE: ``normalise_times`` is switched off so the server's offset
  is kept; values are returned as aware UTC datetimes.
* Without MOVE, a move is COPY + ``\\Deleted`` + EXPUNGE, and a plain EXPUNGE
  (imapclient's ``expunge()``, and ``expunge(messages=[])`` too) removes every
  message anyone flagged ``\\Deleted`` -> only ``UID EXPUNGE`` of our own UIDs
  (UIDPLUS, ``uid_expunge``); without UIDPLUS the copies stay flagged, never
  expunged.  Nothing else in intake expunges, deletes or CLOSEs a mailbox.
"""

from __future__ import annotations

import datetime as _dt
import imaplib
import logging
import socket
import ssl
import time
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, Sequence, TypeVar

from imapclient import IMAPClient
from imapclient.exceptions import CapabilityError, LoginError

from intake.adapters.imap_errors import (ConnectionLost, ImapAuthError, ImapError, ImapTlsError,
                                         UidValidityChanged)
from intake.adapters.imap_reconnect import Reconnecting
from intake.settings_types import ImapSettings

__all__ = [
    "ImapSource", "FetchedMessage", "Reconnecting", "ImapError",
    "ConnectionLost", "ImapTlsError", "ImapAuthError", "UidValidityChanged",
    "DONE_KEYWORD",
]

log = logging.getLogger("intake.imap")

DONE_KEYWORD = "$IntakeDone"
_SEEN = b"\\Seen"
_DELETED = b"\\Deleted"

T = TypeVar("T")


@dataclass(frozen=True)
class FetchedMessage:
    uid: int
    uidvalidity: int
    mailbox: str
    raw: bytes
    internaldate: _dt.datetime     # aware, UTC
    flags: tuple[str, ...] = ()


def _aware_utc(value: _dt.datetime) -> _dt.datetime:
    if value.tzinfo is None:
        # naive values from imapclient are local time (normalise_times=True)
        value = value.astimezone()
    return value.astimezone(_dt.timezone.utc)


def _batches(uids: Sequence[int], size: int) -> Iterator[list[int]]:
    for i in range(0, len(uids), size):
        yield list(uids[i:i + size])


def _flag_str(flag) -> str:
    return flag.decode("utf-8", "replace") if isinstance(flag, bytes) else str(flag)


_NETWORK_ERRORS = (OSError, socket.timeout, imaplib.IMAP4.abort, EOFError)


class ImapSource:
    def __init__(self, settings: ImapSettings,
                 client_factory: Callable[..., IMAPClient] | None = None, *,
                 fetch_batch: int = 50, liveness_interval: float = 120.0,
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic):
        if settings.security not in ("ssl", "starttls", "none"):
            raise ValueError(f"unknown IMAP security {settings.security!r}")
        self.settings = settings
        self._factory = client_factory or IMAPClient
        self.fetch_batch = max(1, int(fetch_batch))
        self.liveness_interval = liveness_interval
        self._sleep = sleep
        self._clock = clock
        self._client: IMAPClient | None = None
        self.mailbox: str | None = None
        self.uidvalidity: int | None = None
        self._warned_no_uidplus = False

    # ------------------------------------------------------------ connect
    @property
    def connected(self) -> bool:
        return self._client is not None

    def _ssl_context(self) -> ssl.SSLContext:
        cafile = str(self.settings.ca_file) if self.settings.ca_file else None
        ctx = ssl.create_default_context(cafile=cafile)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        return ctx

    def connect(self) -> None:
        """Connect and log in (no mailbox selected yet)."""
        self.close()
        s = self.settings
        client = None
        where = f"{s.host}:{s.port} ({s.security})"
        try:
            if s.security == "ssl":
                client = self._factory(s.host, port=s.port, ssl=True,
                                       ssl_context=self._ssl_context(),
                                       timeout=s.timeout_seconds)
            else:
                client = self._factory(s.host, port=s.port, ssl=False,
                                       timeout=s.timeout_seconds)
                if s.security == "starttls":
                    client.starttls(self._ssl_context())
            client.normalise_times = False
            client.login(s.username, s.password)
        except ssl.SSLCertVerificationError as exc:
            _shutdown(client)
            raise ImapTlsError(
                f"imap {where}: server certificate not trusted "
                f"(ca_file={s.ca_file}): {exc.verify_message}") from exc
        except CapabilityError as exc:
            _shutdown(client)
            raise ImapTlsError(f"imap {where}: {exc}") from exc
        except LoginError as exc:
            _shutdown(client)
            text = str(exc)
            if "UNAVAILABLE" in text.upper():
                raise ConnectionLost(f"imap {where}: {text}") from exc
            raise ImapAuthError(
                f"imap {where}: login as {s.username!r} refused: {text}"
            ) from exc
        except (*_NETWORK_ERRORS, imaplib.IMAP4.error) as exc:
            _shutdown(client)
            raise ConnectionLost(f"imap {where}: {exc!r}") from exc
        self._client = client
        self.mailbox = None
        self.uidvalidity = None

    def _c(self) -> IMAPClient:
        if self._client is None:
            raise ConnectionLost("imap: not connected")
        return self._client

    def _run(self, what: str, fn: Callable[[IMAPClient], T]) -> T:
        """Run ``fn`` on the client, mapping network failures."""
        client = self._c()
        try:
            return fn(client)
        except _NETWORK_ERRORS as exc:
            self._drop()
            raise ConnectionLost(f"imap {what}: {exc!r}") from exc

    def _drop(self) -> None:
        client, self._client = self._client, None
        _shutdown(client)

    def close(self) -> None:
        """LOGOUT if possible; never raises (dead sockets are fine)."""
        client, self._client = self._client, None
        if client is None:
            return
        try:
            client.logout()
        except Exception:
            _shutdown(client)

    def __enter__(self) -> "ImapSource":
        if not self.connected:
            self.connect()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------ mailbox
    def select(self, mailbox: str | None = None) -> tuple[int, int]:
        """SELECT ``mailbox`` (default settings.mailbox) read-write;
        returns (uidvalidity, uidnext)."""
        mailbox = mailbox or self.settings.mailbox
        info = self._run(f"select {mailbox}",
                         lambda c: c.select_folder(mailbox))
        uidvalidity = info.get(b"UIDVALIDITY")
        uidnext = info.get(b"UIDNEXT")
        if uidvalidity is None or uidnext is None:
            st = self._run("status", lambda c: c.folder_status(
                mailbox, [b"UIDVALIDITY", b"UIDNEXT"]))
            uidvalidity = st[b"UIDVALIDITY"] if uidvalidity is None else uidvalidity
            uidnext = st[b"UIDNEXT"] if uidnext is None else uidnext
        self.mailbox = mailbox
        self.uidvalidity = int(uidvalidity)
        return self.uidvalidity, int(uidnext)

    def _selected(self) -> str:
        if self.mailbox is None:
            raise ImapError("imap: no mailbox selected; call select() first")
        return self.mailbox

    def pending_uids(self, after_uid: int) -> list[int]:
        """UIDs greater than ``after_uid``, ascending (NOOP + UID SEARCH).

        ``UID SEARCH n:*`` also returns the highest UID when it is below n
        (``*`` is the last message), so the result is filtered.
        """
        self._selected()
        after_uid = int(after_uid)
        # A selected mailbox's view is only refreshed when the server syncs
        # it; Dovecot does not do that for UID SEARCH, so NOOP first.
        self.noop()
        found = self._run("search", lambda c: c.search(
            ["UID", f"{after_uid + 1}:*"]))
        return sorted(u for u in set(found) if u > after_uid)

    def fetch(self, uids: Sequence[int]) -> list[FetchedMessage]:
        """Fetch full messages (without setting \\Seen) in UID order.
        UIDs that no longer exist are skipped."""
        mailbox = self._selected()
        wanted = sorted({int(u) for u in uids})
        out: list[FetchedMessage] = []
        for batch in _batches(wanted, self.fetch_batch):
            data = self._run("fetch", lambda c: c.fetch(
                batch, ["BODY.PEEK[]", "INTERNALDATE", "FLAGS"]))
            for uid in batch:
                item = data.get(uid)
                if item is None or b"BODY[]" not in item:
                    continue
                out.append(FetchedMessage(
                    uid=uid, uidvalidity=self.uidvalidity or 0,
                    mailbox=mailbox, raw=bytes(item[b"BODY[]"]),
                    internaldate=_aware_utc(item[b"INTERNALDATE"]),
                    flags=tuple(_flag_str(f) for f in item.get(b"FLAGS", ()))))
        return out

    def present(self, uids: Iterable[int]) -> list[int]:
        """Which of ``uids`` are still in the selected mailbox (ascending): several instances share
        it, and one may have moved a message away while another was about to."""
        self._selected()
        wanted = sorted({int(u) for u in uids})
        if not wanted:
            return []
        self.noop()                  # Dovecot refreshes the selected view only when asked
        found: set[int] = set()
        for batch in _batches(wanted, self.fetch_batch):
            found.update(self._run("search", lambda c: c.search(["UID", ",".join(map(str, batch))])))
        return [u for u in wanted if u in found]

    def mark_done(self, uids: Iterable[int]) -> None:
        """Add the ``$IntakeDone`` keyword and ``\\Seen`` (to those of ``uids`` still here)."""
        self._selected()
        uids = self.present(uids)
        if not uids:
            return
        flags = [DONE_KEYWORD.encode(), _SEEN]
        for batch in _batches(uids, self.fetch_batch):
            self._run("store", lambda c: c.add_flags(batch, flags, silent=True))

    def uids_flagged_done(self) -> list[int]:
        self._selected()
        return sorted(self._run("search", lambda c: c.search(
            ["KEYWORD", DONE_KEYWORD])))

    def supports(self, capability: str) -> bool:
        return bool(self._run("capability",
                              lambda c: c.has_capability(capability)))

    def move(self, uids: Iterable[int], dest: str) -> None:
        """Move messages to ``dest`` (created if missing).

        MOVE when the server has it.  Otherwise COPY + ``\\Deleted`` and, with
        UIDPLUS, ``UID EXPUNGE`` of exactly these UIDs.  Without UIDPLUS the
        copies left here stay flagged ``\\Deleted`` and nothing is expunged: a
        plain EXPUNGE would also remove the messages someone else flagged
        ``\\Deleted`` and has not expunged yet."""
        self._selected()
        uids = self.present(uids)    # another instance may have moved some already: not an error
        if not uids:
            return
        self.ensure_mailbox(dest)
        if self.supports("MOVE"):
            for batch in _batches(uids, self.fetch_batch):
                try:
                    self._run("move", lambda c: c.move(batch, dest))
                except imaplib.IMAP4.error as exc:
                    if "EXPUNGEISSUED" not in str(exc):
                        raise
                    # another instance moved some of them between our look and our MOVE
                    log.debug("imap: some of UIDs %s were moved meanwhile; moving the rest", batch)
                    rest = self.present(batch)
                    if rest:
                        self._run("move", lambda c: c.move(rest, dest))
            return
        uidplus = self.supports("UIDPLUS")
        if not uidplus:
            self._warn_no_uidplus()
        for batch in _batches(uids, self.fetch_batch):
            self._run("copy", lambda c: c.copy(batch, dest))
            self._run("store", lambda c: c.add_flags(batch, [_DELETED], silent=True))
            if uidplus:
                # uid_expunge checks UIDPLUS itself; never expunge(), which takes
                # everyone's \Deleted messages with it (even as expunge(messages=[]))
                self._run("expunge", lambda c: c.uid_expunge(batch))

    def _warn_no_uidplus(self) -> None:
        if self._warned_no_uidplus:
            return
        self._warned_no_uidplus = True
        log.warning("imap server %s has neither MOVE nor UIDPLUS: moved messages stay in %s flagged "
                    "\\Deleted (intake never expunges a whole mailbox)", self.settings.host, self.mailbox)

    def ensure_mailbox(self, name: str) -> None:
        if self._run("list", lambda c: c.folder_exists(name)):
            return
        try:
            self._run("create", lambda c: c.create_folder(name))
        except imaplib.IMAP4.error:
            # created concurrently?
            if not self._run("list", lambda c: c.folder_exists(name)):
                raise

    # --------------------------------------------------------------- wait
    def noop(self) -> list:
        """NOOP; returns untagged responses. Raises ConnectionLost."""
        def op(c):
            _text, responses = c.noop()
            return responses
        return self._run("noop", op)

    def wait_for_new(self, timeout_s: float) -> bool:
        """Block up to ``timeout_s`` for new mail.

        Returns True when the server reported new messages (EXISTS) or, in
        polling mode, after the poll interval (the caller re-checks).
        Raises ConnectionLost when the connection died.
        """
        self._selected()
        if timeout_s <= 0:
            return bool(_changes(self.noop()))
        if not (self.settings.idle and self.supports("IDLE")):
            self._sleep(timeout_s)
            self.noop()
            return True
        deadline = self._clock() + timeout_s
        renew = max(1.0, min(float(self.settings.idle_renew_seconds), 540.0))
        while True:
            remaining = deadline - self._clock()
            if remaining <= 0:
                return False
            if self._idle_cycle(min(remaining, renew)):
                return True

    def _idle_cycle(self, duration: float) -> bool:
        """One IDLE ... DONE (+ NOOP) cycle of at most ``duration`` s."""
        client = self._c()
        changed = False
        try:
            client.idle()
            end = time.monotonic() + duration
            while not changed:
                left = end - time.monotonic()
                if left <= 0:
                    break
                step = min(left, self.liveness_interval)
                responses = client.idle_check(timeout=step)
                if _changes(responses):
                    changed = True
                elif not responses:
                    # Either the liveness interval is over, or idle_check
                    # woke up early with nothing (EOF / socket error): end
                    # IDLE and NOOP, which raises if the server is gone.
                    break
            _text, responses = client.idle_done()
            changed = changed or _changes(responses)
            _text, responses = client.noop()
            changed = changed or _changes(responses)
        except _NETWORK_ERRORS + (imaplib.IMAP4.error,) as exc:
            self._drop()
            raise ConnectionLost(f"imap idle: {exc!r}") from exc
        return changed


def _changes(responses) -> bool:
    for r in responses or ():
        if (isinstance(r, tuple) and len(r) >= 2
                and r[1] in (b"EXISTS", b"RECENT") and isinstance(r[0], int)):
            return True
    return False


def _shutdown(client) -> None:
    if client is None:
        return
    try:
        client.shutdown()
    except Exception:
        pass
