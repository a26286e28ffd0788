"""Backup and restore of the database and the raw store (``intake backup DIR`` / ``intake restore DIR``).

A backup folder holds ``database.sqlite`` (SQLite's online backup API: a consistent copy while the
daemon writes) or ``database.pgdump`` (``pg_dump --format=custom``), the store's files as they
are on disk (still sealed), and ``manifest.json``. The database is copied FIRST: the fetcher
writes a file before the row naming it, so every file a copied row names is already there.

The store key is NOT in the backup: a backup that carried its own key would not be encrypted.
The operator keeps ``[storage] key_file`` apart (a second medium, a safe); ``restore`` refuses
to start unless the configured key file holds every key the backup's files were sealed with.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from intake.adapters.keyring import Keyring, sealed_key_id
from intake.errors import IntakeError

MANIFEST = "manifest.json"


@dataclass
class BackupSummary:
    folder: Path
    database: str
    files: int
    bytes: int
    key_ids: list[str]


def _libpq_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _sqlite_path(url: str) -> Path:
    return Path(make_url(url).database)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def backup(db_url: str, store_root: Path, folder: Path, *, revision: str | None, now: datetime) -> BackupSummary:
    folder = Path(folder)
    if folder.exists() and any(folder.iterdir()):
        raise IntakeError(f"backup folder {folder} is not empty")
    folder.mkdir(parents=True, exist_ok=True)
    if db_url.startswith("sqlite"):
        db_file = folder / "database.sqlite"
        src, dst = sqlite3.connect(_sqlite_path(db_url)), sqlite3.connect(db_file)
        try:
            src.backup(dst)        # online: pages copied consistently while writers go on
        finally:
            dst.close()
            src.close()
    else:
        db_file = folder / "database.pgdump"
        _run(["pg_dump", "--format=custom", "--no-owner", "--file", str(db_file), _libpq_url(db_url)])
    keys: Counter = Counter()
    total = 0
    count = 0
    for src_path in sorted(p for p in Path(store_root).rglob("*") if p.is_file() and not p.name.startswith(".")):
        rel = src_path.relative_to(store_root)
        target = folder / "store" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src_path, target)
        if rel.parts[0] in ("raw", "att"):
            with open(target, "rb") as fh:
                keys[sealed_key_id(fh.read(64)) or "plaintext"] += 1
        total += target.stat().st_size
        count += 1
    manifest = {"created_at": now.isoformat(), "schema_revision": revision, "database": db_file.name,
                "store_root": str(store_root),
                "database_sha256": _sha256(db_file), "store_files": count, "store_bytes": total,
                "files_by_key": dict(keys),
                "note": "the store key file is not in this backup: keep [storage] key_file apart"}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.sync()
    return BackupSummary(folder, db_file.name, count, total, sorted(k for k in keys if k != "plaintext"))


def restore(folder: Path, db_url: str, engine, store_root: Path, key_file: Path | None) -> dict:
    folder = Path(folder)
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IntakeError(f"{folder}: not a backup folder ({MANIFEST}: {exc})") from None
    db_file = folder / manifest["database"]
    if _sha256(db_file) != manifest["database_sha256"]:
        raise IntakeError(f"{db_file}: does not match its checksum in {MANIFEST}")
    needed = {k for k in manifest["files_by_key"] if k != "plaintext"}
    held = set(Keyring(key_file).key_ids) if key_file is not None and needed else set()
    if needed - held:
        raise IntakeError(f"the key file {key_file} lacks the keys {sorted(needed - held)} the backup's files are "
                          "sealed with: restore the key file first (it is kept apart from backups)")
    if inspect(engine).get_table_names():
        raise IntakeError("the target database is not empty: restore into a new, empty database")
    store_root = Path(store_root)
    if store_root.exists() and any(p.is_file() for p in store_root.rglob("*")):
        raise IntakeError(f"the store {store_root} is not empty: restore into an empty store folder")
    if db_url.startswith("sqlite"):
        engine.dispose()
        src, dst = sqlite3.connect(db_file), sqlite3.connect(_sqlite_path(db_url))
        try:
            src.backup(dst)
        finally:
            dst.close()
            src.close()
    else:
        _run(["pg_restore", "--no-owner", "--exit-on-error", "--dbname", _libpq_url(db_url), str(db_file)])
    if (folder / "store").is_dir():
        shutil.copytree(folder / "store", store_root, dirs_exist_ok=True)
    moved = _repoint_store_paths(engine, manifest["store_root"], str(store_root))
    os.sync()
    return {**manifest, "paths_repointed": moved}


def _repoint_store_paths(engine, old_root: str, new_root: str) -> int:
    """Rows name store files by absolute path: a store restored elsewhere gets its rows rewritten."""
    if old_root.rstrip("/") == new_root.rstrip("/"):
        return 0
    moved = 0
    with engine.begin() as conn:
        for table, column in (("inbound_message", "raw_path"), ("attachment", "path"), ("outbox", "attach_raw_path")):
            moved += conn.execute(text(
                f"UPDATE {table} SET {column} = :new || substr({column}, :cut) WHERE substr({column}, 1, :n) = :old"),
                {"new": new_root.rstrip("/"), "old": old_root.rstrip("/") + "/", "n": len(old_root.rstrip("/")) + 1,
                 "cut": len(old_root.rstrip("/")) + 1}).rowcount
    return moved


def _run(cmd: list[str]) -> None:
    try:
        result = subprocess.run(cmd, capture_output=True, text=True)
    except FileNotFoundError:
        raise IntakeError(f"{cmd[0]} not found: install postgresql-client") from None
    if result.returncode != 0:
        raise IntakeError(f"{cmd[0]} failed ({result.returncode}): {result.stderr.strip()[:2000]}")
