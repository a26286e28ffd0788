"""Frozen settings records (the validated form of config/*.toml).

The loader lives in ``intake.settings`` (one validator per section, driven by
its ``SECTIONS`` table; the typed reader is ``intake.settings_reader``). The
records adapters are handed live here, so an adapter imports only this module;
adapters take only the record they need (an ``ImapSettings``, an
``SmtpSettings``), never the whole config.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class OrganizationSettings:
    name: str = "남북교류협력지원협회"
    domain: str = "sonosa.or.kr"
    intake_address: str = "consulting@sonosa.or.kr"
    timezone: str = "Asia/Seoul"


@dataclass(frozen=True)
class ImapSettings:
    host: str = "127.0.0.1"
    port: int = 993
    security: str = "ssl"            # ssl | starttls | none
    username: str = "consulting"
    password: str = ""               # resolved from password_env / password_file
    mailbox: str = "INBOX"
    processed_mailbox: str = ""      # "" = flag only; else MOVE there after commit
    idle: bool = True
    poll_seconds: int = 60
    ca_file: Path | None = None
    timeout_seconds: float = 30.0    # socket timeout for every command
    idle_renew_seconds: int = 540    # re-issue IDLE at least this often (< 10 min)


@dataclass(frozen=True)
class SmtpSettings:
    host: str = "127.0.0.1"
    port: int = 587
    security: str = "starttls"       # ssl | starttls | none
    username: str = ""               # "" = no AUTH
    password: str = ""
    from_address: str = "consulting@sonosa.or.kr"
    ca_file: Path | None = None
    timeout_seconds: float = 30.0
    connections: int = 4             # parallel SMTP connections of the sender
