"""systemd's notify protocol without a dependency: one datagram to ``$NOTIFY_SOCKET``.

``READY=1``, ``WATCHDOG=1``, ``STOPPING=1``, ``STATUS=…``. Outside systemd (no socket in the
environment) every call does nothing. A socket name starting with ``@`` is in the abstract
namespace (a leading NUL byte)."""

from __future__ import annotations

import logging
import os
import socket

log = logging.getLogger("intake.sd_notify")


class SdNotifier:
    def __init__(self, address: str | None = None):
        address = os.environ.get("NOTIFY_SOCKET") if address is None else address
        self.address = "\0" + address[1:] if address and address.startswith("@") else address
        self._sock: socket.socket | None = None

    @property
    def active(self) -> bool:
        return bool(self.address)

    def notify(self, *fields: str) -> bool:
        """Send ``fields`` (``"READY=1"``, …) as one message; False if it could not be sent."""
        if not self.address:
            return False
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            self._sock.sendto("\n".join(fields).encode(), self.address)
            return True
        except OSError as exc:
            log.warning("- sd_notify %s to %r failed: %s", fields, self.address, exc)
            return False

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
