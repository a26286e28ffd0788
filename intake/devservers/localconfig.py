"""Write a complete config folder for local servers (the demo and the tests).

It copies the rule files (staff, categories, channels, calendar, policies)
from a source config folder and writes an ``intake.toml`` pointing at a
private Dovecot, a local SMTP sink and a database URL. The IMAP password goes
to a ``password_file`` beside it, never into intake.toml.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

RULE_FILES = ("staff.toml", "categories.toml", "channels.toml", "calendar.toml", "policies.toml", "spam.toml")
REPO_CONFIG = Path(__file__).resolve().parents[2] / "config"
REPO_TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


@dataclass(frozen=True)
class LocalServers:
    imap_port: int
    imap_security: str          # ssl | starttls | none
    imap_user: str
    imap_password: str
    smtp_port: int
    smtp_security: str
    ca_file: Path | None
    host: str = "127.0.0.1"


def _q(value: str) -> str:
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


# long: the intake.toml it writes is one f-string, read as the file itself
def write_local_config(folder: Path, servers: LocalServers, *, database_url: str, storage: Path,
                       templates: Path = REPO_TEMPLATES, source: Path = REPO_CONFIG,
                       processed_mailbox: str = "", extra: str = "", storage_extra: str = "",
                       smtp_extra: str = "") -> Path:
    """``extra`` is appended as further sections; ``storage_extra`` and ``smtp_extra`` add keys to
    ``[storage]`` and ``[smtp]``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name in RULE_FILES:
        if (source / name).exists():
            shutil.copyfile(source / name, folder / name)
    (folder / "imap-password").write_text(servers.imap_password + "\n", encoding="utf-8")
    (folder / "imap-password").chmod(0o600)
    ca = f"ca_file = {_q(servers.ca_file)}\n" if servers.ca_file else ""
    if "key_file" not in storage_extra and "encrypt" not in storage_extra:
        storage_extra = f'key_file = "store.key"\n{storage_extra}'
        ensure_key_file(folder / "store.key")
    text = f"""# Generated for local servers by intake.devservers.localconfig
[organization]
name = "남북교류협력지원협회"
domain = "sonosa.or.kr"
intake_address = "consulting@sonosa.or.kr"
timezone = "Asia/Seoul"

[imap]
host = {_q(servers.host)}
port = {servers.imap_port}
security = {_q(servers.imap_security)}
username = {_q(servers.imap_user)}
password_file = "imap-password"
mailbox = "INBOX"
processed_mailbox = {_q(processed_mailbox)}
idle = true
poll_seconds = 5
timeout_seconds = 10
{ca}
[smtp]
host = {_q(servers.host)}
port = {servers.smtp_port}
security = {_q(servers.smtp_security)}
username = ""
from_address = "consulting@sonosa.or.kr"
timeout_seconds = 10
{smtp_extra}
{ca}
[database]
url = {_q(database_url)}

[storage]
path = {_q(storage)}
{storage_extra}

[templates]
path = {_q(templates)}

[processing]
max_attempts = 3
retry_base_seconds = 1
triage_staff = "park.jiyoung"
admin_addresses = ["minsu.kim@example.org"]
{extra}"""
    if "[metrics]" not in extra:      # tests and the demo run side by side: no fixed port
        text += '\n[metrics]\nlisten = ""\n'
    path = folder / "intake.toml"
    path.write_text(text, encoding="utf-8")
    return path


def ensure_key_file(path: Path) -> None:
    """A store key for a local config (kept when the folder is written again)."""
    from intake.adapters.keyring import init_key_file

    if not path.exists():
        init_key_file(path)


OFFLINE_SERVERS = LocalServers(imap_port=9, imap_security="none", imap_user="offline", imap_password="offline",
                               smtp_port=9, smtp_security="none", ca_file=None)
"""Server settings for a config whose servers are never contacted (benchmarks and tests of the
stages between fetch and send; port 9 is discard)."""


def offline_config(folder: Path, *, database_url: str | None = None) -> Path:
    """``write_local_config`` for ``OFFLINE_SERVERS``, with SQLite and the store in ``folder``."""
    folder = Path(folder)
    return write_local_config(folder / "config", OFFLINE_SERVERS,
                              database_url=database_url or f"sqlite:///{folder / 'intake.db'}",
                              storage=folder / "store")

