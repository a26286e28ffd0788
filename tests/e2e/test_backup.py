"""intake backup / restore round trip (SQLite online backup, pg_dump/pg_restore), then new mail."""

from __future__ import annotations

import json
import shutil

import pytest
from sqlmodel import select

from intake.db import head_revision
from intake.devservers.localconfig import LocalServers, write_local_config
from intake.models import Case, InboundMessage
from tests.e2e.harness import IntakeEnv, make_env, sample_bytes


@pytest.fixture(params=["sqlite", "postgres"])
def db_urls(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'a.db'}", f"sqlite:///{tmp_path / 'b.db'}"
    return request.getfixturevalue("fresh_postgres_url"), request.getfixturevalue("second_fresh_postgres_url")


def _second_env(tmp_path, first: IntakeEnv, db_url: str, key_from=None) -> IntakeEnv:
    folder = tmp_path / "b" / "config"
    folder.mkdir(parents=True)
    if key_from is not None:
        shutil.copy2(key_from, folder / "store.key")      # the operator's separately kept key
    s = first.app().settings
    servers = LocalServers(imap_port=s.imap.port, imap_security=s.imap.security, imap_user=s.imap.username,
                           imap_password=s.imap.password, smtp_port=s.smtp.port, smtp_security=s.smtp.security,
                           ca_file=s.imap.ca_file)
    config = write_local_config(folder, servers, database_url=db_url, storage=tmp_path / "b" / "store")
    return IntakeEnv(config=config, dovecot=first.dovecot, sink=first.sink, db_url=db_url, tmp=tmp_path / "b")


def test_backup_restore_round_trip_then_new_mail(tmp_path, dovecot, smtp_sink, db_urls):
    url_a, url_b = db_urls
    first = make_env(tmp_path / "a", dovecot, smtp_sink, url_a)
    first.append(sample_bytes("sample-001.eml"))
    assert first.run_once().process.processed == 1
    done = first.run_cli("backup", str(tmp_path / "bk"))
    assert done.returncode == 0, done.stderr
    manifest = json.loads((tmp_path / "bk" / "manifest.json").read_text())
    assert manifest["schema_revision"] == head_revision() and manifest["store_files"] >= 1
    assert "plaintext" not in manifest["files_by_key"]
    assert not list((tmp_path / "bk").rglob("store.key")), "the key is not in the backup"

    keyless = _second_env(tmp_path / "x", first, "sqlite:///" + str(tmp_path / "x.db"))
    refused = keyless.run_cli("restore", str(tmp_path / "bk"))
    assert refused.returncode == 1 and "lacks the keys" in refused.stderr

    second = _second_env(tmp_path, first, url_b, key_from=first.config.parent / "store.key")
    restored = second.run_cli("restore", str(tmp_path / "bk"))
    assert restored.returncode == 0, restored.stderr
    again = second.run_cli("restore", str(tmp_path / "bk"))
    assert again.returncode == 1 and "not empty" in again.stderr

    shutil.rmtree(tmp_path / "a" / "store")          # the restored copy stands on its own
    dovecot.append("INBOX", sample_bytes("sample-002.eml"))
    report = second.run_once()
    assert report.fetch.registered == 1 and report.process.processed == 1, "only the new mail is fetched"
    app = second.app()
    with second.session() as s:
        refs = sorted(c.ref for c in s.exec(select(Case)).all())
        assert refs == ["2026-000001", "2026-000002"] or (len(refs) == 2 and len(set(refs)) == 2)
        first_raw = s.exec(select(InboundMessage).order_by(InboundMessage.id)).first().raw_path
    assert first_raw.startswith(str(tmp_path / "b" / "store" / "raw"))
    assert app.store.read(first_raw) == sample_bytes("sample-001.eml")
    app.engine.dispose()
