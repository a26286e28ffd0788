"""``intake backup DIR`` and ``intake restore DIR`` (intake.adapters.backup); ``intake metrics``."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path


def register(sub) -> None:
    b = sub.add_parser("backup", help="copy the database (online) and the raw store into DIR (not the key file)")
    b.add_argument("dir", type=Path)
    b.set_defaults(func=cmd_backup)
    r = sub.add_parser("restore", help="restore DIR into an empty database and store (the key file must be in place)")
    r.add_argument("dir", type=Path)
    r.set_defaults(func=cmd_restore)
    m = sub.add_parser("metrics", help="print the Prometheus metrics the database gives, once")
    m.set_defaults(func=cmd_metrics)


def _settings(args):
    from intake.settings import load_settings

    return load_settings(args.config, require_secrets=False)


def cmd_backup(args) -> int:
    from intake.adapters.backup import backup
    from intake.db import current_revision, make_engine

    s = _settings(args)
    engine = make_engine(s.database.url)
    try:
        revision = current_revision(engine)
    finally:
        engine.dispose()
    summary = backup(s.database.url, Path(s.storage.path), args.dir, revision=revision,
                     now=datetime.now(timezone.utc))
    print(f"backup in {summary.folder}: {summary.database}, {summary.files} store files ({summary.bytes} bytes), "
          f"sealed with keys {', '.join(summary.key_ids) or '-'}. Keep {s.storage.key_file} apart: it is not in the backup.")
    return 0


def cmd_restore(args) -> int:
    from intake.adapters.backup import restore
    from intake.db import make_engine, require_current_schema

    s = _settings(args)
    engine = make_engine(s.database.url)
    try:
        manifest = restore(args.dir, s.database.url, engine, Path(s.storage.path), s.storage.key_file)
    finally:
        engine.dispose()
    engine = make_engine(s.database.url)
    try:
        require_current_schema(engine)
    finally:
        engine.dispose()
    print(f"restored the backup of {manifest['created_at']}: {manifest['database']}, "
          f"{manifest['store_files']} store files")
    return 0


def cmd_metrics(args) -> int:
    from prometheus_client import CollectorRegistry, generate_latest

    from intake.app import build_app
    from intake.metrics import DatabaseCollector

    app = build_app(_settings(args))
    registry = CollectorRegistry()
    registry.register(DatabaseCollector(app))
    print(generate_latest(registry).decode(), end="")
    return 0
