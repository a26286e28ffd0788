"""The IMAP adapter's errors (``imap_source`` and ``imap_reconnect`` raise them).

``ConnectionLost`` is retryable; ``ImapTlsError`` and ``ImapAuthError`` are
configuration problems and are not retried; ``UidValidityChanged`` tells the
caller to resynchronise.
"""

from __future__ import annotations

from intake.errors import IntakeError

__all__ = ["ImapError", "ConnectionLost", "ImapTlsError", "ImapAuthError", "UidValidityChanged"]


class ImapError(IntakeError):
    """Base class for IMAP adapter errors."""


class ConnectionLost(ImapError):
    """The connection is gone (network error, timeout, server died)."""


class ImapTlsError(ImapError):
    """TLS could not be established: certificate not trusted, no STARTTLS."""


class ImapAuthError(ImapError):
    """The server rejected the credentials."""


class UidValidityChanged(ImapError):
    """After a reconnect the mailbox has a different UIDVALIDITY."""

    def __init__(self, mailbox: str, old: int, new: int):
        self.mailbox, self.old, self.new = mailbox, old, new
        super().__init__(
            f"UIDVALIDITY of {mailbox!r} changed from {old} to {new}")

