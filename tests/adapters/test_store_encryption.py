"""The raw store sealed at rest: no readable text on disk, tamper refused, rekey, config errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from intake.adapters.keyring import Keyring, SealedFileError, init_key_file, sealed_key_id
from intake.adapters.raw_store import RawStore, sha256_hex
from intake.commands.store import key_ids_in_use, rekey_store
from intake.devservers.localconfig import offline_config
from intake.errors import ConfigErrors
from intake.settings import load_settings

KOREAN = "남북교류협력 방문증명서 발급을 요청합니다"
ASCII = "Please issue the visit certificate"
MESSAGE = (f"From: a@example.org\r\nSubject: test\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
           f"{KOREAN}\r\n{ASCII}\r\n주민등록번호 800101-1234567\r\n").encode()
ATTACHMENT = f"%PDF-1.4 {ASCII} {KOREAN}".encode()


def _sealed_store(tmp_path: Path) -> tuple[RawStore, Path]:
    key_file = tmp_path / "keys" / "store.key"
    init_key_file(key_file)
    return RawStore(tmp_path / "store", keyring=Keyring(key_file)), key_file


def _every_file(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def test_store_files_hold_no_readable_text(tmp_path):
    store, key_file = _sealed_store(tmp_path)
    msg = store.put_message(MESSAGE)
    att = store.put_attachment(ATTACHMENT)
    assert msg.path.name == f"{sha256_hex(MESSAGE)}.eml", "addressed by the plaintext's hash"
    files = _every_file(tmp_path / "store")
    assert sorted(files) == sorted([msg.path, att.path])
    needles = [KOREAN.encode(), KOREAN.encode("cp949"), ASCII.encode(), b"800101", b"Subject", "방문".encode()]
    for path in files:
        data = path.read_bytes()
        assert sealed_key_id(data) == Keyring(key_file).current.key_id
        for needle in needles:
            assert needle not in data, f"{needle!r} readable in {path}"
    assert store.read(msg.path) == MESSAGE and store.read(att.path) == ATTACHMENT
    assert os.stat(key_file).st_mode & 0o777 == 0o600


def test_put_again_is_deduplicated_and_durable_batch(tmp_path):
    store, _ = _sealed_store(tmp_path)
    first = store.put_messages([MESSAGE, MESSAGE + b"x"])
    before = {p: p.stat().st_mtime_ns for p in _every_file(tmp_path / "store")}
    again = store.put_messages([MESSAGE])
    assert again[0].path == first[0].path
    assert {p: p.stat().st_mtime_ns for p in _every_file(tmp_path / "store")} == before, "not rewritten"


def test_changed_or_swapped_file_is_refused(tmp_path):
    store, _ = _sealed_store(tmp_path)
    a, b = store.put_messages([MESSAGE, MESSAGE + b"other"])
    data = bytearray(a.path.read_bytes())
    data[-1] ^= 1
    a.path.write_bytes(bytes(data))
    with pytest.raises(SealedFileError, match="authentication failed"):
        store.read(a.path)
    b_copy = a.path.with_name(b.path.name.replace(b.sha256[:6], "000000"))
    b_copy.write_bytes(b.path.read_bytes())
    with pytest.raises(SealedFileError):
        store.read(b_copy)


def test_plaintext_file_reads_only_while_it_matches_its_name(tmp_path):
    plain = RawStore(tmp_path / "store")
    blob = plain.put_message(MESSAGE)
    store, _ = _sealed_store(tmp_path)
    assert store.read(blob.path) == MESSAGE, "written before encryption was switched on"
    blob.path.write_bytes(MESSAGE.replace(b"test", b"tost"))
    with pytest.raises(SealedFileError, match="no longer matches"):
        store.read(blob.path)
    with pytest.raises(SealedFileError, match="no \\[storage\\] key_file"):
        plain.read(store.put_message(b"sealed one").path)


def test_rekey_rewrites_every_file_and_retires_the_old_key(tmp_path):
    store, key_file = _sealed_store(tmp_path)
    old_id = store.keyring.current.key_id
    blobs = store.put_messages([MESSAGE, MESSAGE + b"2"]) + [store.put_attachment(ATTACHMENT)]
    legacy = RawStore(tmp_path / "store").put_message(b"From: x\r\n\r\nwritten in clear\r\n")
    report = rekey_store(tmp_path / "store", key_file)
    assert (report.rewritten, report.unchanged, report.retired_keys) == (4, 0, [old_id])
    assert set(key_ids_in_use(store)) == {report.new_key_id}
    assert store.read(blobs[0].path) == MESSAGE, "the running store reloads the key file"
    assert store.read(legacy.path) == b"From: x\r\n\r\nwritten in clear\r\n"
    assert old_id not in key_file.read_text()
    new = store.put_message(b"after rekey")
    assert sealed_key_id(new.path.read_bytes()) == report.new_key_id


def test_rekey_killed_halfway_leaves_every_file_readable(tmp_path):
    config = offline_config(tmp_path)
    settings = load_settings(config)
    store = RawStore(settings.storage.path, keyring=Keyring(settings.storage.key_file))
    old_id = store.keyring.current.key_id
    blobs = store.put_messages([MESSAGE + bytes([n]) for n in range(5)])
    cmd = [sys.executable, "-m", "intake", "--config", str(config), "store", "rekey", "--json"]
    killed = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "INTAKE_CRASH_AT": "store-rekey-file:2"})
    assert killed.returncode == -9
    counts = key_ids_in_use(store)
    assert counts[old_id] == 3 and sum(counts.values()) == 5, "two rewritten, three still on the old key"
    assert old_id in settings.storage.key_file.read_text(), "still in use: never dropped"
    assert [store.read(b.path) for b in blobs] == [MESSAGE + bytes([n]) for n in range(5)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["rewritten"] == 5 and len(report["retired_keys"]) == 2
    verify = subprocess.run(cmd[:-2] + ["verify", "--json"], capture_output=True, text=True)
    assert verify.returncode == 0 and json.loads(verify.stdout)["by_key"] == {report["new_key_id"]: 5}


def test_missing_key_file_is_a_config_error_naming_file_key_problem(tmp_path):
    config = offline_config(tmp_path)
    (config.parent / "store.key").unlink()
    with pytest.raises(ConfigErrors) as exc:
        load_settings(config)
    err = exc.value.errors[0]
    assert (Path(err.file), err.key) == (config, "storage.key_file") and "intake store init-key" in err.problem
    load_settings(config, require_secrets=False)   # init-key itself can read the config
    text = config.read_text().replace('key_file = "store.key"', "")
    config.write_text(text)
    with pytest.raises(ConfigErrors, match="storage.key_file: is required while encryption is on"):
        load_settings(config)
    config.write_text(text.replace("[storage]", "[storage]\nencrypt = false"))
    assert load_settings(config).storage.encrypt is False


def test_key_file_readable_by_others_is_refused(tmp_path):
    config = offline_config(tmp_path)
    os.chmod(config.parent / "store.key", 0o644)
    with pytest.raises(ConfigErrors, match="readable by others"):
        load_settings(config)
