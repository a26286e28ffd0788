"""What the daemon benches share: a private Dovecot and SMTP sink on 127.0.0.1 with a config for
them (SQLite), and ``intake run`` started exactly as systemd starts it."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@dataclass
class LocalSetup:
    dovecot: object
    sink: object
    config: Path
    db_path: Path
    env: dict


@contextlib.contextmanager
def local_servers(tmp: Path, *, extra: str = ""):
    """Dovecot + SMTP sink (one private CA), a config for them (``extra`` appended to its
    ``[processing]`` section), ``intake db upgrade`` done; the servers stop at the end."""
    from intake.devservers.certs import create_ca
    from intake.devservers.dovecot import PrivateDovecot
    from intake.devservers.localconfig import LocalServers, write_local_config
    from intake.devservers.smtp_sink import SmtpSink

    ca = create_ca(tmp / "ca")
    dovecot = PrivateDovecot(tmp / "dovecot", ca=ca).start()
    sink = SmtpSink(tmp / "sink", ca=ca).start()
    try:
        servers = LocalServers(imap_port=dovecot.imaps_port, imap_security="ssl", imap_user=dovecot.user,
                               imap_password=dovecot.password, smtp_port=sink.port, smtp_security="starttls",
                               ca_file=Path(ca.ca_file))
        db_path = tmp / "intake.db"
        cfg = write_local_config(tmp / "config", servers, database_url=f"sqlite:///{db_path}",
                                 storage=tmp / "store", extra=extra)
        env = {k: v for k, v in os.environ.items() if k != "JOURNAL_STREAM"}
        subprocess.run([sys.executable, "-m", "intake", "--config", str(cfg), "db", "upgrade"], cwd=str(REPO),
                       env=env, check=True, capture_output=True, timeout=600)
        yield LocalSetup(dovecot=dovecot, sink=sink, config=cfg, db_path=db_path, env=env)
    finally:
        sink.stop()
        dovecot.stop()


def wait_for_log(path: Path, text: str, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if path.exists() and text in path.read_text(errors="replace"):
            return True
        time.sleep(0.1)
    return False


@contextlib.contextmanager
def running_daemon(setup: LocalSetup, log_path: Path):
    """``python -m intake --config CFG run`` (what the systemd unit runs), started and killed at the end
    if still running."""
    with open(log_path, "wb") as logf:
        proc = subprocess.Popen([sys.executable, "-m", "intake", "--config", str(setup.config), "run"],
                                cwd=str(REPO), env=setup.env, stdout=logf, stderr=subprocess.STDOUT)
    try:
        if not wait_for_log(log_path, "intake daemon started", 60):
            raise RuntimeError("the daemon did not start:\n" + log_path.read_text(errors="replace")[-3000:])
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
