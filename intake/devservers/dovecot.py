"""A private, throw-away Dovecot IMAP server for tests and the README demo.

``PrivateDovecot(directory)`` writes its own ``dovecot.conf`` under
``directory`` and runs ``dovecot -F -c CONF`` as a child process.  Nothing
outside ``directory`` is written or read apart from the Dovecot binaries
(no /etc/dovecot, no /var/run/dovecot, no system service).

Layout under ``directory``::

    dovecot.conf  dovecot.log  passwd
    run/          base_dir (sockets, pid file)
    state/        state_dir
    tls/          private CA + server certificate (unless a CA is given)
    mail/<user>/Maildir

Running as root vs non-root (Dovecot 2.3.19):

* Dovecot refuses UID 0 as a *mail* user, hard-coded: ``first_valid_uid = 0``
  does not help ("Mail access for users with UID 0 is not permitted").
  As root the master runs as root (so login processes are chrooted and
  internal services use the packaged ``dovecot``/``dovenull`` accounts) and
  mail is accessed as a dedicated unprivileged account (default: the
  ``dovecot`` system user, override with ``mail_user=``).  The mail folder
  and the passwd file are chowned to it, and ``directory`` (and all its
  parents) must be traversable by it: ``start()`` checks this and explains.
* As non-root every service runs as the current user: the config sets
  ``default_internal_user``/``default_login_user``/``default_internal_group``
  to it and disables the login/anvil chroots, which need root.
  ``first_valid_uid``/``first_valid_gid`` are lowered so system-range
  accounts work too.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import pwd
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterable

from intake.devservers.certs import TlsCa, create_ca
from intake.devservers.dovecot_config import (
    DovecotLayout, DovecotStartError, check_traversable, config_text, mail_accounts)

__all__ = ["PrivateDovecot", "DovecotStartError", "free_port"]

DOVECOT_BINARY = "/usr/sbin/dovecot"


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _tail(path: Path, lines: int = 30) -> str:
    try:
        data = path.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(data[-lines:])


class PrivateDovecot:
    def __init__(self, directory: Path | str, *, user: str = "consulting",
                 password: str = "intake-test-pw", ca: TlsCa | None = None,
                 mail_user: str | None = None,
                 binary: str = DOVECOT_BINARY,
                 startup_timeout: float = 15.0,
                 imap_capability: str | None = None):
        self.directory = Path(directory).absolute()
        self.host = "127.0.0.1"
        self.user = user
        self.password = password
        self.imap_port = 0
        self.imaps_port = 0
        self._ca = ca
        self._mail_user = mail_user
        self._binary = binary
        self._startup_timeout = startup_timeout
        #: Dovecot's ``imap_capability`` (None: its default list); see
        #: ``dovecot_config.capability_without`` for a server without MOVE or UIDPLUS.
        self.imap_capability = imap_capability
        self._proc: subprocess.Popen | None = None
        self.conf_file = self.directory / "dovecot.conf"
        self.log_file = self.directory / "dovecot.log"
        self.maildir = self.directory / "mail" / user / "Maildir"

    # ------------------------------------------------------------------ paths
    @property
    def ca_file(self) -> Path:
        assert self._ca is not None, "start() first"
        return self._ca.ca_file

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    # ------------------------------------------------------------ configure
    def _write_config(self) -> None:
        d = self.directory
        uid, gid, extra = mail_accounts(self._mail_user)
        if self._ca is None:
            self._ca = create_ca(d / "tls")
        cert = self._ca.issue("dovecot", directory=d / "tls")
        (d / "state").mkdir(exist_ok=True)
        self.maildir.mkdir(parents=True, exist_ok=True)
        passwd = d / "passwd"
        home = d / "mail" / self.user
        passwd.write_text(
            f"{self.user}:{{PLAIN}}{self.password}:{uid}:{gid}::{home}::\n")
        if os.geteuid() == 0:
            os.chmod(d, 0o711)
            for p in [d / "mail", home, *home.rglob("*")]:
                os.chown(p, uid, gid)
            # read by the auth process, which runs as $default_internal_user
            # (dovecot); TLS keys are read by the config process (root).
            os.chown(passwd, 0, pwd.getpwnam("dovecot").pw_gid
                     if _has_user("dovecot") else gid)
            os.chmod(passwd, 0o640)
            check_traversable(d, uid, gid)
        layout = DovecotLayout(
            directory=d, user=self.user, passwd=passwd, log_file=self.log_file,
            imap_port=self.imap_port, imaps_port=self.imaps_port,
            cert_chain=cert.chain_file, cert_key=cert.key_file,
            imap_capability=self.imap_capability)
        self.conf_file.write_text(config_text(layout, uid, gid, extra))

    # ---------------------------------------------------------------- run
    def start(self, *, reuse_ports: bool = False) -> "PrivateDovecot":
        """Start on two free ports (or the previous ones with
        ``reuse_ports``, as ``restart()`` does); returns once both accept
        connections.  Raises DovecotStartError with the log's tail."""
        if self._proc is not None:
            raise RuntimeError("already started")
        self.directory.mkdir(parents=True, exist_ok=True)
        last_error: Exception | None = None
        reuse = reuse_ports and bool(self.imap_port and self.imaps_port)
        for _attempt in range(1 if reuse else 3):
            if not reuse:
                self.imap_port = free_port()
                self.imaps_port = free_port()
                while self.imaps_port == self.imap_port:
                    self.imaps_port = free_port()
            self._write_config()
            try:
                self._spawn_and_wait()
                return self
            except DovecotStartError as exc:
                last_error = exc
                if "in use" not in str(exc):
                    raise
        raise last_error  # type: ignore[misc]

    def _spawn_and_wait(self) -> None:
        log_offset = self.log_file.stat().st_size if self.log_file.exists() else 0
        stderr = open(self.directory / "dovecot.stderr", "ab")
        try:
            self._proc = subprocess.Popen(
                [self._binary, "-F", "-c", str(self.conf_file)],
                stdin=subprocess.DEVNULL, stdout=stderr, stderr=stderr,
                start_new_session=True, close_fds=True)
        finally:
            stderr.close()
        deadline = time.monotonic() + self._startup_timeout
        pending = {self.imap_port, self.imaps_port}
        while pending:
            if self._proc.poll() is not None:
                self._proc = None
                raise DovecotStartError(self._failure_text(
                    "dovecot exited during startup", log_offset))
            for port in list(pending):
                try:
                    with socket.create_connection((self.host, port), 0.2):
                        pending.discard(port)
                except OSError:
                    pass
            if pending and time.monotonic() > deadline:
                self.stop()
                raise DovecotStartError(self._failure_text(
                    f"dovecot did not listen on {sorted(pending)} within "
                    f"{self._startup_timeout}s", log_offset))
            if pending:
                time.sleep(0.02)

    def _failure_text(self, what: str, log_offset: int) -> str:
        log = ""
        try:
            with open(self.log_file, "rb") as f:
                f.seek(log_offset)
                log = f.read().decode(errors="replace")
        except OSError:
            pass
        log = "\n".join(log.splitlines()[-30:])
        err = _tail(self.directory / "dovecot.stderr", 15)
        return f"{what}\n--- {self.log_file} (tail) ---\n{log}\n--- stderr ---\n{err}"

    def stop(self, timeout: float = 0.5) -> None:
        """SIGTERM the master; SIGKILL the process group after ``timeout``
        (Dovecot's graceful shutdown takes ~1 s, too slow for tests; its
        maildir writes are crash-safe)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()  # the master stops its children itself
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._killpg(proc.pid)
                proc.wait(5)
        # children (imap, auth, ...) leave with the master; make sure
        self._killpg(proc.pid)

    def restart(self) -> None:
        """Stop (if running) and start again on the same ports, with the
        same mail store."""
        self.stop()
        self.start(reuse_ports=True)

    def kill(self) -> None:
        """SIGKILL the master and every child: simulates a crashed server."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        self._killpg(proc.pid)
        proc.wait(5)

    @staticmethod
    def _killpg(pgid: int) -> None:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def __enter__(self) -> "PrivateDovecot":
        if self._proc is None:
            self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # -------------------------------------------------------------- client
    def client(self, security: str = "ssl", timeout: float = 10.0):
        """A logged-in imapclient.IMAPClient (caller logs out)."""
        import ssl as _ssl

        from imapclient import IMAPClient

        ctx = _ssl.create_default_context(cafile=str(self.ca_file))
        if security == "ssl":
            c = IMAPClient(self.host, self.imaps_port, ssl=True,
                           ssl_context=ctx, timeout=timeout)
        else:
            c = IMAPClient(self.host, self.imap_port, ssl=False,
                           timeout=timeout)
            if security == "starttls":
                c.starttls(ctx)
        c.login(self.user, self.password)
        return c

    def append(self, mailbox: str, raw: bytes, flags: Iterable = (),
               internaldate: _dt.datetime | None = None) -> int | None:
        """APPEND ``raw``; returns the new UID (from APPENDUID) when known."""
        c = self.client()
        try:
            if not c.folder_exists(mailbox):
                c.create_folder(mailbox)
            resp = c.append(mailbox, raw, flags=tuple(flags),
                            msg_time=internaldate)
            return _appenduid(resp)
        finally:
            _logout(c)

    def recreate_mailbox(self, mailbox: str = "INBOX") -> int:
        """Delete and re-create ``mailbox`` (emptied); returns the new
        UIDVALIDITY, which differs from the old one.

        INBOX cannot be deleted over IMAP, so for INBOX the maildir's
        ``dovecot-uidlist``/index files are removed instead, with the same
        visible effect: a new UIDVALIDITY and UIDs starting from 1 again.
        """
        c = self.client()
        try:
            old = c.folder_status(mailbox, [b"UIDVALIDITY"])[b"UIDVALIDITY"] \
                if c.folder_exists(mailbox) else None
            if mailbox.upper() == "INBOX":
                _logout(c)
                c = None
                self._reset_inbox()
            else:
                if old is not None:
                    c.delete_folder(mailbox)
                c.create_folder(mailbox)
            c2 = self.client()
            try:
                new = c2.folder_status(mailbox, [b"UIDVALIDITY"])[b"UIDVALIDITY"]
            finally:
                _logout(c2)
            if old is not None and new == old:
                # UIDVALIDITY is time-based: same second -> bump by retrying
                time.sleep(1.05)
                return self.recreate_mailbox(mailbox)
            return new
        finally:
            if c is not None:
                _logout(c)

    set_uidvalidity = recreate_mailbox

    def _reset_inbox(self) -> None:
        """Remove INBOX messages and index/uidlist so Dovecot rebuilds it
        with a fresh UIDVALIDITY."""
        md = self.maildir
        for sub in ("cur", "new", "tmp"):
            for f in (md / sub).glob("*"):
                f.unlink()
        for f in md.glob("dovecot*"):
            # keep dovecot-uidvalidity*: Dovecot hands out the next
            # UIDVALIDITY from it, so the new one differs at once
            if f.is_file() and not f.name.startswith("dovecot-uidvalidity"):
                f.unlink()

    def seed(self, folder: Path | str, mailbox: str = "INBOX") -> list[int | None]:
        uids = []
        for eml in sorted(Path(folder).glob("*.eml")):
            uids.append(self.append(mailbox, eml.read_bytes()))
        return uids


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def _appenduid(resp) -> int | None:
    # b'[APPENDUID 1700000000 5] Append completed.'
    try:
        text = resp.decode() if isinstance(resp, bytes) else str(resp)
        if "APPENDUID" in text:
            return int(text.split("APPENDUID", 1)[1].split("]")[0].split()[1])
    except (ValueError, IndexError):
        pass
    return None


def _logout(c) -> None:
    try:
        c.logout()
    except Exception:
        try:
            c.shutdown()
        except Exception:
            pass


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m intake.devservers.dovecot",
        description="Run a private Dovecot (IMAP) until SIGTERM/SIGINT.")
    ap.add_argument("--dir", required=True, type=Path)
    ap.add_argument("--seed", type=Path, default=None,
                    help="folder of .eml files to APPEND to INBOX")
    ap.add_argument("--user", default="consulting")
    ap.add_argument("--password", default="intake-demo-pw")
    args = ap.parse_args(argv)

    stop = {"flag": False}

    def _on_signal(signum, frame):
        stop["flag"] = True

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    dv = PrivateDovecot(args.dir, user=args.user, password=args.password)
    dv.start()
    try:
        seeded = dv.seed(args.seed) if args.seed else []
        print(json.dumps({
            "host": dv.host, "imap_port": dv.imap_port,
            "imaps_port": dv.imaps_port, "user": dv.user,
            "password": dv.password, "ca_file": str(dv.ca_file),
            "seeded": len(seeded), "pid": dv.pid,
        }), flush=True)
        while not stop["flag"]:
            if dv._proc is None or dv._proc.poll() is not None:
                print("dovecot exited unexpectedly:\n" + _tail(dv.log_file),
                      file=sys.stderr)
                return 1
            time.sleep(0.2)
    finally:
        dv.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
