"""A local SMTP sink (aiosmtpd) that stores every message it accepts.

``SmtpSink(directory)`` listens on 127.0.0.1 on two free ports:

* ``port``      plain SMTP offering STARTTLS (optionally required)
* ``ssl_port``  implicit TLS ("SMTPS", for ``security = "ssl"``)

both with a certificate from the private CA (``intake.devservers.certs``).
Each accepted message is written atomically (tmp + fsync + rename) as
``<n>-<timestamp>.eml`` with the envelope in ``<n>-<timestamp>.json``, and
only then answered with 250. The writes run in a small thread pool, off the
asyncio loop: one connection still waits for its own fsync before its 250,
but a slow fsync no longer stalls every other connection (concurrent fsyncs
share the file system's journal commits, as a real MTA's queue does).
``fail_next(n, code)`` makes the next ``n`` messages be answered with a 4xx
or 5xx reply at end of DATA (nothing stored) for retry tests.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as _dt
import json
import re
import signal
import ssl
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from intake.adapters.raw_store import write_atomically
from intake.devservers.certs import TlsCa, create_ca
from intake.devservers.dovecot import free_port

__all__ = ["SmtpSink", "SinkMessage"]

_NAME = re.compile(r"^(\d+)-.*\.eml$")


@dataclass(frozen=True)
class SinkMessage:
    number: int
    mail_from: str
    rcpt_to: list[str]
    raw: bytes
    path: Path
    tls: bool
    authenticated_as: str | None
    received_at: _dt.datetime | None = None    # when the sink began storing it (before its 250)


class _Handler:
    def __init__(self, sink: "SmtpSink", implicit_tls: bool = False):
        self.sink = sink
        self.implicit_tls = implicit_tls

    async def handle_DATA(self, server, session, envelope):
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.sink._writer(), self.sink._store, session, envelope,
                                          self.implicit_tls)


class SmtpSink:
    def __init__(self, directory: Path | str, *, port: int | None = None,
                 ssl_port: int | None = None, ca: TlsCa | None = None,
                 require_starttls: bool = False,
                 auth: tuple[str, str] | None = None,
                 host: str = "127.0.0.1"):
        self.directory = Path(directory).absolute()
        self.host = host
        self.port = port or 0
        self.ssl_port = ssl_port or 0
        self.require_starttls = require_starttls
        self.auth = auth
        self._ca = ca
        self._lock = threading.Lock()
        self._counter = 0
        self._failures: list[tuple[int, str]] = []
        self._controllers: list[Controller] = []
        self._pool: ThreadPoolExecutor | None = None

    WRITERS = 16

    def _writer(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.WRITERS, thread_name_prefix="smtp-sink-write")
            return self._pool

    @property
    def ca_file(self) -> Path:
        assert self._ca is not None, "start() first"
        return self._ca.ca_file

    # ------------------------------------------------------------ control
    def fail_next(self, n: int = 1, code: int = 451,
                  text: str | None = None) -> None:
        """Answer the next ``n`` messages with ``code`` (4xx or 5xx)."""
        if not (400 <= code < 600):
            raise ValueError("code must be 4xx or 5xx")
        if text is None:
            text = ("4.3.0 sink: temporary failure (test)" if code < 500
                    else "5.7.1 sink: rejected for good (test)")
        with self._lock:
            self._failures.extend([(code, text)] * n)

    def _store(self, session, envelope, implicit_tls: bool = False) -> str:
        with self._lock:
            if self._failures:
                code, text = self._failures.pop(0)
                return f"{code} {text}"
            self._counter += 1
            n = self._counter
        now = _dt.datetime.now(_dt.timezone.utc)
        stem = f"{n}-{now.strftime('%Y%m%dT%H%M%S.%fZ')}"
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        meta = {
            "number": n,
            "mail_from": envelope.mail_from,
            "rcpt_to": list(envelope.rcpt_tos),
            "mail_options": list(envelope.mail_options),
            "received_at": now.isoformat(),
            "peer": list(session.peer) if session.peer else None,
            "tls": implicit_tls or session.ssl is not None,
            "authenticated_as": _login_name(session),
            "eml": f"{stem}.eml",
        }
        # sidecar first: once the .eml exists, its envelope is readable
        write_atomically(self.directory / f"{stem}.json",
                      json.dumps(meta, ensure_ascii=False, indent=1).encode())
        write_atomically(self.directory / f"{stem}.eml", raw)
        return "250 2.0.0 Ok: stored as " + stem

    # --------------------------------------------------------------- read
    def messages(self) -> list[SinkMessage]:
        out = []
        for eml in self.directory.glob("*.eml"):
            m = _NAME.match(eml.name)
            if not m:
                continue
            meta = json.loads(eml.with_suffix(".json").read_text())
            out.append(SinkMessage(
                number=int(m.group(1)), mail_from=meta["mail_from"],
                rcpt_to=meta["rcpt_to"], raw=eml.read_bytes(), path=eml,
                tls=meta["tls"], authenticated_as=meta.get("authenticated_as"),
                received_at=_dt.datetime.fromisoformat(meta["received_at"]) if meta.get("received_at") else None))
        out.sort(key=lambda s: s.number)
        return out

    def clear(self) -> None:
        for p in list(self.directory.glob("*.eml")) + list(
                self.directory.glob("*.json")):
            p.unlink()

    # ---------------------------------------------------------------- run
    def start(self) -> "SmtpSink":
        self.directory.mkdir(parents=True, exist_ok=True)
        existing = [int(m.group(1)) for p in self.directory.glob("*.eml")
                    if (m := _NAME.match(p.name))]
        self._counter = max(existing, default=0)
        if self._ca is None:
            self._ca = create_ca(self.directory / ".tls")
        cert = self._ca.issue("smtp-sink", directory=self._ca.directory)
        server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server_ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        server_ctx.load_cert_chain(cert.chain_file, cert.key_file)
        kwargs = dict(tls_context=server_ctx,
                      require_starttls=self.require_starttls,
                      decode_data=False, enable_SMTPUTF8=True,
                      server_hostname="sink.localhost")
        if self.auth is not None:
            kwargs.update(authenticator=self._authenticate,
                          auth_required=False, auth_require_tls=True)
        self.port = self.port or free_port(self.host)
        self.ssl_port = self.ssl_port or free_port(self.host)
        plain = Controller(_Handler(self), hostname=self.host, port=self.port,
                           **kwargs)
        kw_ssl = {k: v for k, v in kwargs.items()
                  if k not in ("tls_context", "require_starttls")}
        if self.auth is not None:
            kw_ssl["auth_require_tls"] = False  # already TLS from byte 0
        implicit = Controller(_Handler(self, implicit_tls=True), hostname=self.host,
                              port=self.ssl_port, ssl_context=server_ctx,
                              **kw_ssl)
        try:
            plain.start()
            self._controllers.append(plain)
            implicit.start()
            self._controllers.append(implicit)
        except Exception:
            self.stop()
            raise
        return self

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        if isinstance(auth_data, LoginPassword) and self.auth is not None:
            user = auth_data.login.decode()
            if (user, auth_data.password.decode()) == self.auth:
                return AuthResult(success=True, auth_data=user)
        return AuthResult(success=False, handled=False)

    def stop(self) -> None:
        ctrls, self._controllers = self._controllers, []
        for c in ctrls:
            try:
                c.stop()
            except Exception:
                pass
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)

    def __enter__(self) -> "SmtpSink":
        if not self._controllers:
            self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _login_name(session) -> str | None:
    data = getattr(session, "auth_data", None)
    if data is None:
        return None
    return data if isinstance(data, str) else str(data)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m intake.devservers.smtp_sink",
        description="Run a local SMTP sink storing messages as .eml files.")
    ap.add_argument("--dir", required=True, type=Path)
    ap.add_argument("--port", type=int, default=0,
                    help="plain/STARTTLS port (0 = pick a free one)")
    ap.add_argument("--ssl-port", type=int, default=0,
                    help="implicit-TLS port (0 = pick a free one)")
    ap.add_argument("--require-starttls", action="store_true")
    args = ap.parse_args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    signal.signal(signal.SIGINT, lambda *a: stop.set())
    sink = SmtpSink(args.dir, port=args.port or None,
                    ssl_port=args.ssl_port or None,
                    require_starttls=args.require_starttls)
    sink.start()
    try:
        print(json.dumps({"host": sink.host, "port": sink.port,
                          "ssl_port": sink.ssl_port,
                          "ca_file": str(sink.ca_file),
                          "dir": str(sink.directory)}), flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        sink.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
