"""Pytest fixtures for real local servers (no mocks).

Import them in a conftest with ``from tests.devservers_fixtures import *``.

* ``tls_ca``        (session)  private CA (``TlsCa``: ``.ca_file``, ``.issue()``)
* ``dovecot``       (function) fresh ``PrivateDovecot`` (empty mailbox) per
                               test; starts in well under 0.1 s
* ``make_dovecot``  (function) ``make_dovecot(**options)`` starts another
                               ``PrivateDovecot`` with options (e.g.
                               ``imap_capability=``), stopped after the test
* ``smtp_sink``     (function) fresh ``SmtpSink`` (STARTTLS ``.port`` and
                               implicit-TLS ``.ssl_port``) per test
* ``postgres_url``  (session)  ``postgresql+psycopg://postgres@127.0.0.1:5432/
                               intake_test_<random>``, a fresh database
                               dropped at session end.  Skips the test when
                               PostgreSQL is unreachable, unless
                               ``INTAKE_REQUIRE_POSTGRES=1`` (then fails).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from pathlib import Path

import pytest

from intake.devservers.certs import TlsCa, create_ca
from intake.devservers.dovecot import PrivateDovecot
from intake.devservers.smtp_sink import SmtpSink

__all__ = ["tls_ca", "dovecot", "make_dovecot", "smtp_sink", "postgres_url", "fresh_postgres_url",
           "second_fresh_postgres_url"]

POSTGRES_ADMIN_URL = os.environ.get(
    "INTAKE_TEST_POSTGRES_ADMIN_URL",
    "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(scope="session")
def tls_ca(tmp_path_factory) -> TlsCa:
    return create_ca(tmp_path_factory.mktemp("tls-ca"))


@contextlib.contextmanager
def _private_dovecot(tls_ca, **options):
    # Not tmp_path: as root, Dovecot's unprivileged processes must be able to
    # traverse the directory, and pytest's base temp dir is mode 0700.
    d = Path(tempfile.mkdtemp(prefix="intake-dovecot-"))
    os.chmod(d, 0o711)
    server = PrivateDovecot(d, ca=tls_ca, **options)
    try:
        server.start()
        yield server
    finally:
        server.kill()  # graceful stop takes ~1 s; maildir is crash-safe
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def dovecot(tls_ca):
    with _private_dovecot(tls_ca) as server:
        yield server


@pytest.fixture
def make_dovecot(tls_ca):
    with contextlib.ExitStack() as servers:
        yield lambda **options: servers.enter_context(_private_dovecot(tls_ca, **options))


@pytest.fixture
def smtp_sink(tls_ca, tmp_path):
    sink = SmtpSink(tmp_path / "smtp-sink", ca=tls_ca)
    sink.start()
    try:
        yield sink
    finally:
        sink.stop()


@contextlib.contextmanager
def _fresh_database():
    """Create a uniquely named PostgreSQL database; drop it afterwards."""
    try:
        import psycopg
        from psycopg import sql
    except ImportError as exc:  # pragma: no cover
        _pg_unavailable(f"psycopg not importable: {exc}")
    required = os.environ.get("INTAKE_REQUIRE_POSTGRES") == "1"
    try:
        admin = psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True,
                                connect_timeout=3)
    except psycopg.OperationalError as exc:
        _pg_unavailable(f"PostgreSQL unreachable at {POSTGRES_ADMIN_URL}: "
                        f"{exc}", required)
    name = f"intake_test_{uuid.uuid4().hex[:12]}"
    with admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(
            sql.Identifier(name)))
        try:
            base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
            yield base.replace("postgresql://", "postgresql+psycopg://",
                               1) + "/" + name
        finally:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
                          .format(sql.Identifier(name)))


@pytest.fixture(scope="session")
def postgres_url():
    """One database for the whole session (tests must tolerate each other's rows)."""
    with _fresh_database() as url:
        yield url


@pytest.fixture
def fresh_postgres_url():
    """A new, empty database for this test alone."""
    with _fresh_database() as url:
        yield url


@pytest.fixture
def second_fresh_postgres_url():
    """Another new, empty database for this test (a restore target)."""
    with _fresh_database() as url:
        yield url


def _pg_unavailable(reason: str, required: bool | None = None) -> None:
    if required is None:
        required = os.environ.get("INTAKE_REQUIRE_POSTGRES") == "1"
    if required:
        pytest.fail(f"INTAKE_REQUIRE_POSTGRES=1 but {reason}", pytrace=False)
    pytest.skip(reason)
