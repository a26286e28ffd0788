"""Sign-in without passwords, sessions as rows, CSRF tokens.

A staff member enters their registered address; a single-use link valid 15 minutes goes to
that address through the outbox (and is sent at once, see ``intake.web.mailing``). Opening the
link shows a button; only pressing it (a POST) signs in, so a mail scanner that fetches links
cannot use the link up. A session is a row: revocable, expiring after ``[web] session_hours``.

Tokens are random; the database keeps only keyed hashes (HMAC-SHA256 with the console secret).

Rate limits are rows too (``web_sign_in_attempt``): at most ``ADDRESS_LIMIT`` requests per
address and ``CLIENT_LIMIT`` per client address within ``LIMIT_WINDOW``. Rows, not an
in-process counter, because they hold across restarts and across several ``intake web``
processes behind one proxy, and they are the record of who asked (keyed hashes only).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, insert, select, update

from intake.models import AuditEvent
from intake.stages.rows import audit_values
from intake.web.tables import WebSession, WebSignInAttempt, WebSignInLink

LINK_MINUTES = 15
LIMIT_WINDOW = timedelta(minutes=15)
ADDRESS_LIMIT = 3
CLIENT_LIMIT = 10
SESSION_COOKIE = "intake_session"
PRESESSION_COOKIE = "intake_pre"


class SecretError(Exception):
    """The console secret file is missing or unusable (the message says which and why)."""


def init_secret(path: Path) -> bool:
    """Write a new random secret (mode 0600); False when the file exists already (kept)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(secrets.token_hex(32) + "\n")
    return True


def keys_from(web) -> "Keys":
    """The console's keys from ``[web]``; SecretError names what to do when there is no secret."""
    if web.secret_file is None:
        raise SecretError("[web] secret_file is not set; set it and run intake web --init-secret")
    if not web.secret:
        raise SecretError(f"[web] secret_file {web.secret_file} does not exist; create it with intake web --init-secret")
    return Keys(web.secret)


@dataclass(frozen=True)
class Keys:
    secret: bytes

    def digest(self, purpose: str, value: str) -> str:
        return hmac.new(self.secret, f"{purpose}\0{value}".encode("utf-8"), hashlib.sha256).hexdigest()

    def csrf_token(self, base: str) -> str:
        """The CSRF token of a browser: bound to its session (or pre-session) cookie."""
        return self.digest("csrf", base)

    def csrf_ok(self, base: str | None, given: str | None) -> bool:
        return bool(base and given) and hmac.compare_digest(self.csrf_token(base), given)


# ------------------------------------------------------------------ sign-in requests


def _count_since(conn, column, value: str, since: datetime) -> int:
    t = WebSignInAttempt.__table__
    return conn.execute(select(func.count()).select_from(t).where(t.c[column] == value, t.c.at >= since)).scalar_one()


def limited(conn, keys: Keys, address: str, client: str, now: datetime) -> bool:
    """True when this address or this client asked too often recently."""
    since = now - LIMIT_WINDOW
    return (_count_since(conn, "address_hash", keys.digest("address", address), since) >= ADDRESS_LIMIT
            or _count_since(conn, "client_hash", keys.digest("client", client), since) >= CLIENT_LIMIT)


def record_attempt(conn, keys: Keys, address: str, client: str, outcome: str, now: datetime) -> None:
    conn.execute(insert(WebSignInAttempt.__table__).values(
        at=now, address_hash=keys.digest("address", address), client_hash=keys.digest("client", client),
        outcome=outcome))


def new_link(conn, keys: Keys, staff_id: str, now: datetime) -> str:
    """A new sign-in link token for ``staff_id`` (the row keeps its hash)."""
    token = secrets.token_urlsafe(32)
    conn.execute(insert(WebSignInLink.__table__).values(
        token_hash=keys.digest("link", token), staff_id=staff_id, created_at=now,
        expires_at=now + timedelta(minutes=LINK_MINUTES)))
    return token


def attach_outbox(conn, keys: Keys, token: str, outbox_id: int) -> None:
    t = WebSignInLink.__table__
    conn.execute(update(t).where(t.c.token_hash == keys.digest("link", token)).values(outbox_id=outbox_id))


def link_state(conn, keys: Keys, token: str, now: datetime) -> str:
    """valid | used | expired | unknown (for the page shown before the button)."""
    t = WebSignInLink.__table__
    row = conn.execute(select(t.c.used_at, t.c.expires_at).where(t.c.token_hash == keys.digest("link", token))).first()
    if row is None:
        return "unknown"
    if row.used_at is not None:
        return "used"
    return "expired" if row.expires_at <= now else "valid"


def use_link(conn, keys: Keys, token: str, now: datetime) -> str | None:
    """Use the link once: the staff id it signs in, or None (unknown, used, expired)."""
    t = WebSignInLink.__table__
    row = conn.execute(update(t).where(t.c.token_hash == keys.digest("link", token), t.c.used_at.is_(None),
                                       t.c.expires_at > now)
                       .values(used_at=now).returning(t.c.staff_id)).first()
    return row[0] if row else None


# ------------------------------------------------------------------ sessions


def new_session(conn, keys: Keys, staff_id: str, hours: int, now: datetime) -> str:
    token = secrets.token_urlsafe(32)
    conn.execute(insert(WebSession.__table__).values(
        token_hash=keys.digest("session", token), staff_id=staff_id, created_at=now,
        expires_at=now + timedelta(hours=hours), last_seen_at=now))
    return token


def session_staff(conn, keys: Keys, token: str | None, now: datetime) -> str | None:
    """The staff id of a live session, else None."""
    if not token:
        return None
    t = WebSession.__table__
    row = conn.execute(select(t.c.staff_id).where(t.c.token_hash == keys.digest("session", token),
                                                  t.c.revoked_at.is_(None), t.c.expires_at > now)).first()
    return row[0] if row else None


def revoke_session(conn, keys: Keys, token: str, now: datetime) -> None:
    t = WebSession.__table__
    conn.execute(update(t).where(t.c.token_hash == keys.digest("session", token), t.c.revoked_at.is_(None))
                 .values(revoked_at=now))


def revoke_all(conn, staff_id: str, now: datetime) -> int:
    """End every session of a staff member (``intake web --revoke ID``)."""
    t = WebSession.__table__
    return conn.execute(update(t).where(t.c.staff_id == staff_id, t.c.revoked_at.is_(None))
                        .values(revoked_at=now)).rowcount


def audit_event(conn, now: datetime, event: str, actor: str, detail: dict | None = None) -> None:
    conn.execute(insert(AuditEvent.__table__).values(audit_values(now, event, actor=actor, detail=detail)))
