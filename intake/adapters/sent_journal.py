"""The accepted-mail journal: closes the gap between an SMTP server's 250 and our commit.

SMTP cannot be made exactly-once from the client side (RFC 1047): the server
has the mail once it answers 250, and a sender killed before it records that
would send the mail again. The record that the mail is ``sent`` is a database
commit, which may wait for the write lock and an fsync, milliseconds that a
crash can land in. So the sender first appends one line
``<outbox id> <message-id>`` to this journal with a single ``write(2)`` on an
``O_APPEND`` descriptor: microseconds, no lock, and it survives the process
being killed (the kernel holds the page). When a crashed sender's claim has
expired, ``accepted`` tells which of its rows the server already took, and
those are marked sent instead of being sent again.

Lines are shorter than ``PIPE_BUF``, so appends from several processes on one
host never interleave. The file is rotated once when it grows past
``max_bytes``; the previous file is still read, and entries older than that
were committed long ago. A power failure can still lose the last lines: that
(and the microseconds between the 250 and the write) is the window that
remains, with the same Message-ID on both copies.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

__all__ = ["SentJournal"]


class SentJournal:
    def __init__(self, path: Path, max_bytes: int = 1 << 20):
        self.path = Path(path)
        self.previous = self.path.with_name(self.path.name + ".1")
        self.max_bytes = max_bytes
        self._fd: int | None = None
        self._lock = threading.Lock()

    def record(self, outbox_id: int, message_id: str) -> None:
        """Append that the server accepted ``outbox_id`` (one write; raises OSError on failure)."""
        line = f"{outbox_id} {message_id.strip()}\n".encode("ascii", "replace")
        with self._lock:
            if self._fd is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
            os.write(self._fd, line)

    def accepted(self, candidates: dict[int, str]) -> set[int]:
        """Which of ``{outbox id: message-id}`` the journal says were accepted."""
        if not candidates:
            return set()
        wanted = {(i, m.strip()) for i, m in candidates.items()}
        found: set[int] = set()
        for path in (self.previous, self.path):
            try:
                data = path.read_bytes()
            except FileNotFoundError:
                continue
            for line in data.decode("ascii", "replace").splitlines():
                head, _, mid = line.partition(" ")
                if head.isdigit() and (int(head), mid) in wanted:
                    found.add(int(head))
        return found

    def rotate_if_large(self) -> None:
        """Start a new file when this one is past ``max_bytes`` (call between sends, not during one)."""
        with self._lock:
            try:
                if self.path.stat().st_size < self.max_bytes:
                    return
            except FileNotFoundError:
                return
            os.replace(self.path, self.previous)
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
