"""End-to-end harness: a config folder for the test servers, the app, and helpers.

``intake_env`` gives an ``IntakeEnv`` wired to a fresh private Dovecot, a
fresh SMTP sink and a database (SQLite by default; the ``db_url`` fixture is
parametrised to PostgreSQL in the tests that ask for both).
"""

from __future__ import annotations

import email
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from email.policy import default as default_policy
from pathlib import Path


from intake.app import App, build_app
from intake.daemon import OnceReport, run_once
from intake.db import make_engine, transaction, upgrade
from intake.devservers.localconfig import LocalServers, write_local_config
from intake.settings import load_settings

__all__ = ["IntakeEnv", "make_env", "SAMPLES", "REPO", "sample_bytes", "FixedClock", "wait_for",
           "copies_outside_the_smtp_window"]

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "tests" / "data" / "samples"


def sample_bytes(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def wait_for(predicate, timeout: float, interval: float = 0.2) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` seconds have passed."""
    import time

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(interval)
    return False


def copies_outside_the_smtp_window(sink, kills: list[float], window: float = 0.25) -> list[str]:
    """Message-IDs the sink holds twice where the first copy was NOT being accepted as the daemon died.

    SMTP has one window no client can close (RFC 1047): the server has stored the mail and is about to
    answer 250 when the sender dies; the restarted sender cannot know and sends it again. The sender
    journals every 250 before anything else, so a second copy is only possible when a kill landed
    within the server's own store-and-answer time of the first copy; any other second copy is a bug.
    """
    first: dict[str, object] = {}
    bad = []
    for m in sink.messages():
        mid = email.message_from_bytes(m.raw, policy=default_policy)["Message-ID"]
        if mid not in first:
            first[mid] = m
            continue
        start = first[mid].received_at.timestamp()
        if not any(0 <= k - start <= window for k in kills) or first[mid].raw != m.raw:
            bad.append(mid)
    return bad


class FixedClock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class IntakeEnv:
    config: Path
    dovecot: object
    sink: object
    db_url: str
    tmp: Path

    def app(self, clock=None) -> App:
        settings = load_settings(self.config)
        engine = make_engine(settings.database.url)
        return build_app(settings, clock=clock or (lambda: datetime.now(timezone.utc)), engine=engine)

    def run_once(self, clock=None) -> OnceReport:
        app = self.app(clock)
        try:
            return run_once(app)
        finally:
            app.engine.dispose()

    def run_cli(self, *args: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
        full_env = dict(os.environ)
        full_env.update(env or {})
        return subprocess.run([sys.executable, "-m", "intake", "--config", str(self.config), *args],
                              capture_output=True, text=True, env=full_env, timeout=timeout, cwd=str(REPO))

    def append(self, raw: bytes, internaldate: datetime | None = None) -> int | None:
        return self.dovecot.append("INBOX", raw, internaldate=internaldate)

    def session(self):
        return transaction(make_engine(self.db_url))


def make_env(tmp: Path, dovecot, sink, db_url: str, *, imap_security: str = "ssl",
             processed_mailbox: str = "", extra: str = "", templates: Path | None = None,
             storage_extra: str = "", smtp_extra: str = "") -> IntakeEnv:
    port = dovecot.imaps_port if imap_security == "ssl" else dovecot.imap_port
    servers = LocalServers(imap_port=port, imap_security=imap_security, imap_user=dovecot.user,
                           imap_password=dovecot.password, smtp_port=sink.port, smtp_security="starttls",
                           ca_file=Path(dovecot.ca_file))
    kwargs = {"templates": templates} if templates else {}
    config = write_local_config(tmp / "config", servers, database_url=db_url, storage=tmp / "store",
                                processed_mailbox=processed_mailbox, extra=extra, storage_extra=storage_extra,
                                smtp_extra=smtp_extra, **kwargs)
    upgrade(make_engine(db_url))
    return IntakeEnv(config=config, dovecot=dovecot, sink=sink, db_url=db_url, tmp=tmp)
