"""SMTP mailer adapter: send raw RFC 5322 bytes, classify failures.

* ``security = "ssl"``: ``SMTP_SSL`` with a verifying context;
  ``"starttls"``: ``starttls(context=ctx)`` with a verifying context (a bare
  ``starttls()`` accepts any certificate); ``"none"``: plain SMTP.
* Failures: 4xx replies, connection errors and timeouts raise
  ``TemporaryDeliveryError``; 5xx replies raise ``PermanentDeliveryError``.
  Both carry ``smtp_code`` and ``smtp_text`` (``None`` for network errors)
  and name the code and server text in their message.
* TLS/certificate failures and rejected AUTH are configuration problems,
  not properties of the message: they raise ``SmtpTlsError`` /
  ``SmtpAuthError``, subclasses of ``TemporaryDeliveryError``, so nothing
  is dropped while an operator fixes the configuration.
* One connection is reused across ``send`` calls without a probe per mail
  (an RSET round trip per mail cost as much as the mail): when the reused
  connection turns out to be gone at MAIL FROM (disconnected, reset, timed
  out or a 421 reply), nothing has been accepted yet, so it is re-opened and
  the mail started again, once. A failure on a fresh connection is reported.
  One ``SmtpMailer`` is one connection: use one per thread.
"""

from __future__ import annotations

import logging
import smtplib
import socket
import ssl
from typing import Callable

from intake.errors import PermanentDeliveryError, TemporaryDeliveryError
from intake.settings_types import SmtpSettings

__all__ = ["SmtpMailer", "SmtpTlsError", "SmtpAuthError"]

log = logging.getLogger("intake.smtp")


class SmtpTlsError(TemporaryDeliveryError):
    """TLS could not be established (untrusted certificate, no STARTTLS)."""


class SmtpAuthError(TemporaryDeliveryError):
    """The server rejected our AUTH credentials."""


def _error(cls, where: str, code: int | None, text: str | None,
           what: str = ""):
    detail = f"{code} {text}" if code is not None else (text or "")
    exc = cls(f"smtp {where}: {what}{': ' if what else ''}{detail}".rstrip(": "))
    exc.smtp_code = code
    exc.smtp_text = text
    return exc


def _text(msg) -> str:
    if isinstance(msg, bytes):
        return msg.decode("utf-8", "replace")
    return str(msg)


def _classify(where: str, code: int, text, what: str = ""):
    cls = PermanentDeliveryError if 500 <= code < 600 else TemporaryDeliveryError
    return _error(cls, where, code, _text(text), what)


ConnectFactory = Callable[[SmtpSettings, "ssl.SSLContext | None"], smtplib.SMTP]


def default_connect(settings: SmtpSettings,
                    context: ssl.SSLContext | None) -> smtplib.SMTP:
    """Open the TCP (or implicit-TLS) connection and read the greeting."""
    if settings.security == "ssl":
        return smtplib.SMTP_SSL(settings.host, settings.port,
                                context=context,
                                timeout=settings.timeout_seconds)
    return smtplib.SMTP(settings.host, settings.port,
                        timeout=settings.timeout_seconds)


class SmtpMailer:
    def __init__(self, settings: SmtpSettings,
                 connect_factory: ConnectFactory | None = None):
        if settings.security not in ("ssl", "starttls", "none"):
            raise ValueError(f"unknown SMTP security {settings.security!r}")
        self.settings = settings
        self._connect_factory = connect_factory or default_connect
        self._conn: smtplib.SMTP | None = None
        self.where = f"{settings.host}:{settings.port}"

    # --------------------------------------------------------- connection
    def _context(self) -> ssl.SSLContext:
        cafile = str(self.settings.ca_file) if self.settings.ca_file else None
        ctx = ssl.create_default_context(cafile=cafile)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        return ctx

    def connect(self) -> None:
        self.close()
        s = self.settings
        ctx = self._context() if s.security in ("ssl", "starttls") else None
        conn = None
        try:
            conn = self._connect_factory(s, ctx)
            conn.ehlo()
            if s.security == "starttls":
                if not conn.has_extn("starttls"):
                    raise _error(SmtpTlsError, self.where, None,
                                 "server does not offer STARTTLS")
                code, resp = conn.starttls(context=ctx)
                if code != 220:
                    raise _error(SmtpTlsError, self.where, code, _text(resp),
                                 "STARTTLS refused")
                conn.ehlo()
            if s.username:
                conn.login(s.username, s.password)
        except TemporaryDeliveryError:
            _quiet_close(conn)
            raise
        except ssl.SSLCertVerificationError as exc:
            _quiet_close(conn)
            raise _error(SmtpTlsError, self.where, None,
                         f"server certificate not trusted (ca_file="
                         f"{s.ca_file}): {exc.verify_message}") from exc
        except smtplib.SMTPAuthenticationError as exc:
            _quiet_close(conn)
            raise _error(SmtpAuthError, self.where, exc.smtp_code,
                         _text(exc.smtp_error), "AUTH refused") from exc
        except smtplib.SMTPNotSupportedError as exc:
            _quiet_close(conn)
            raise _error(SmtpAuthError, self.where, None, str(exc)) from exc
        except smtplib.SMTPResponseException as exc:
            _quiet_close(conn)
            raise _classify(self.where, exc.smtp_code, exc.smtp_error,
                            "connect") from exc
        except (OSError, smtplib.SMTPException) as exc:
            _quiet_close(conn)
            raise _error(TemporaryDeliveryError, self.where, None,
                         f"connect failed: {exc!r}") from exc
        self._conn = conn

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.quit()
        except Exception:
            _quiet_close(conn)

    def __enter__(self) -> "SmtpMailer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --------------------------------------------------------------- send
    def send(self, raw: bytes, mail_from: str, rcpt_to: list[str]) -> None:
        """Send ``raw`` as-is. Raises TemporaryDeliveryError or
        PermanentDeliveryError; returns only when every recipient was
        accepted."""
        if not rcpt_to:
            raise ValueError("no recipients")
        fresh = self._conn is None
        if fresh:
            self.connect()
        try:
            refused = self._transaction(raw, mail_from, list(rcpt_to), fresh)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = {r: c for r, (c, _m) in exc.recipients.items()}
            detail = "; ".join(f"{r}: {c} {_text(m)}"
                               for r, (c, m) in exc.recipients.items())
            permanent = all(500 <= c < 600 for c in codes.values())
            first_code, first_msg = next(iter(exc.recipients.values()))
            err = _error(PermanentDeliveryError if permanent
                         else TemporaryDeliveryError, self.where, first_code,
                         _text(first_msg), f"recipients refused ({detail})")
            self._after_failure(first_code)
            raise err from exc
        except smtplib.SMTPServerDisconnected as exc:
            self._drop()
            raise _error(TemporaryDeliveryError, self.where, None,
                         f"server disconnected: {exc}") from exc
        except smtplib.SMTPResponseException as exc:
            self._after_failure(exc.smtp_code)
            what = ("MAIL FROM refused" if isinstance(
                exc, smtplib.SMTPSenderRefused) else "DATA refused"
                if isinstance(exc, smtplib.SMTPDataError) else "")
            raise _classify(self.where, exc.smtp_code, exc.smtp_error,
                            what) from exc
        except (OSError, socket.timeout) as exc:
            self._drop()
            raise _error(TemporaryDeliveryError, self.where, None,
                         f"connection error: {exc!r}") from exc
        except smtplib.SMTPException as exc:
            self._drop()
            raise _error(TemporaryDeliveryError, self.where, None,
                         repr(exc)) from exc
        if refused:
            # some recipients accepted, some not: report it, keep classes
            detail = "; ".join(f"{r}: {c} {_text(m)}"
                               for r, (c, m) in refused.items())
            permanent = all(500 <= c < 600 for c, _m in refused.values())
            code, msg = next(iter(refused.values()))
            raise _error(PermanentDeliveryError if permanent
                         else TemporaryDeliveryError, self.where, code,
                         _text(msg), f"some recipients refused ({detail})")

    def _options(self, conn: smtplib.SMTP, raw: bytes, mail_from: str,
                 rcpt_to: list[str]) -> list[str]:
        options: list[str] = []
        if conn.does_esmtp and conn.has_extn("size"):
            options.append(f"SIZE={len(raw)}")
        if not raw.isascii() and conn.has_extn("8bitmime"):   # any byte >= 0x80
            options.append("BODY=8BITMIME")
        if not all(a.isascii() for a in [mail_from, *rcpt_to]):
            if not conn.has_extn("smtputf8"):
                raise _error(PermanentDeliveryError, self.where, None,
                             "non-ASCII address but server lacks SMTPUTF8")
            options.append("SMTPUTF8")
        return options

    def _mail_from(self, raw: bytes, mail_from: str, rcpt_to: list[str],
                   fresh: bool) -> smtplib.SMTP:
        """MAIL FROM on the current connection; a reused connection that is
        gone is re-opened and MAIL FROM sent again (nothing accepted yet)."""
        conn = self._conn
        assert conn is not None
        try:
            code, resp = conn.mail(mail_from, self._options(conn, raw, mail_from, rcpt_to))
        except (smtplib.SMTPServerDisconnected, OSError):
            if fresh:
                raise
            code, resp = 421, b"connection lost"
        if code == 421 and not fresh:
            log.debug("smtp %s: reused connection gone (%s %s); reconnecting", self.where, code, _text(resp))
            self._drop()
            self.connect()
            conn = self._conn
            assert conn is not None
            code, resp = conn.mail(mail_from, self._options(conn, raw, mail_from, rcpt_to))
        if code != 250:
            self._reset_or_drop(code)
            raise smtplib.SMTPSenderRefused(code, resp, mail_from)
        return conn

    def _transaction(self, raw: bytes, mail_from: str, rcpt_to: list[str],
                     fresh: bool) -> dict:
        """``smtplib.SMTP.sendmail`` in steps, with the reconnect at MAIL FROM."""
        conn = self._mail_from(raw, mail_from, rcpt_to, fresh)
        refused = {}
        for rcpt in rcpt_to:
            code, resp = conn.rcpt(rcpt)
            if code not in (250, 251):
                refused[rcpt] = (code, resp)
            if code == 421:
                self._drop()
                raise smtplib.SMTPRecipientsRefused(refused)
        if len(refused) == len(rcpt_to):
            self._reset_or_drop(0)
            raise smtplib.SMTPRecipientsRefused(refused)
        code, resp = conn.data(raw)
        if code != 250:
            self._reset_or_drop(code)
            raise smtplib.SMTPDataError(code, resp)
        return refused

    def _reset_or_drop(self, code: int) -> None:
        """After a refused step: RSET to start clean, or drop the connection
        when the server is closing it (421) or RSET fails."""
        if code == 421 or code < 0 or self._conn is None:
            self._drop()
            return
        try:
            self._conn.rset()
        except (OSError, smtplib.SMTPException):
            self._drop()

    def _after_failure(self, code: int) -> None:
        # 421 = server is closing the connection; -1 = garbled reply
        if code == 421 or code < 0:
            self._drop()

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        _quiet_close(conn)


def _quiet_close(conn) -> None:
    if conn is None:
        return
    try:
        conn.close()
    except Exception:
        pass
