"""``intake store init-key|rekey|verify``: the raw store's encryption keys.

``rekey`` adds a new current key to the key file, rewrites every file sealed with an older
key (or still in clear) under it, and only then drops the keys no file uses any more: a crash
at any point leaves every file readable with the key file as it is on disk.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

from intake.adapters.keyring import (KeyFileError, Keyring, SealedFileError, init_key_file, new_key, parse_keys,
                                     sealed_key_id, write_key_file)
from intake.adapters.raw_store import RawStore
from intake.testing_hooks import crash_point

log = logging.getLogger("intake.store")


@dataclass
class RekeyReport:
    new_key_id: str
    rewritten: int
    unchanged: int
    retired_keys: list[str]


def register(sub) -> None:
    p = sub.add_parser("store", help="the raw store's encryption keys")
    ssub = p.add_subparsers(dest="store_command", required=True)
    init = ssub.add_parser("init-key", help="create [storage] key_file with a new key (refuses to overwrite)")
    init.set_defaults(func=cmd_init_key)
    rekey = ssub.add_parser("rekey", help="add a new key, rewrite every file under it, retire unused keys")
    rekey.add_argument("--json", action="store_true")
    rekey.set_defaults(func=cmd_rekey)
    verify = ssub.add_parser("verify", help="open every file; count files per key; exit 1 if any fails")
    verify.add_argument("--json", action="store_true")
    verify.set_defaults(func=cmd_verify)


def _storage(args):
    from intake.settings import load_settings

    st = load_settings(args.config, require_secrets=False).storage
    if st.key_file is None:
        raise KeyFileError("[storage] key_file is not set in the config")
    return st


def cmd_init_key(args) -> int:
    st = _storage(args)
    key = init_key_file(Path(st.key_file))
    print(f"created {st.key_file} with key {key.key_id} (mode 600). Keep a copy of it apart from the backups.")
    return 0


def rekey_store(store_root: Path, key_file: Path) -> RekeyReport:
    keys = parse_keys(key_file.read_text(encoding="ascii"), key_file)
    fresh = new_key()
    write_key_file(key_file, [*keys, fresh])           # durable before any file uses it
    store = RawStore(store_root, keyring=Keyring(key_file))
    rewritten = unchanged = 0
    for path in store.files():
        if store.reseal(path):
            rewritten += 1
            crash_point("store-rekey-file")
        else:
            unchanged += 1
    in_use = key_ids_in_use(store)
    keep = [k for k in [*keys, fresh] if k.key_id in in_use or k is fresh]
    write_key_file(key_file, keep)
    retired = [k.key_id for k in keys if k not in keep]
    log.info("store rekeyed: new key %s, %d files rewritten, keys retired: %s", fresh.key_id, rewritten,
             ", ".join(retired) or "none")
    return RekeyReport(fresh.key_id, rewritten, unchanged, retired)


def key_ids_in_use(store: RawStore) -> Counter:
    """Files per key id (``""`` = plaintext), from the headers only."""
    counts: Counter = Counter()
    for path in store.files():
        with open(path, "rb") as fh:
            counts[sealed_key_id(fh.read(64)) or ""] += 1
    return counts


def cmd_rekey(args) -> int:
    st = _storage(args)
    report = rekey_store(Path(st.path), Path(st.key_file))
    if args.json:
        print(json.dumps(asdict(report)))
    else:
        print(f"new key {report.new_key_id}: {report.rewritten} files rewritten, {report.unchanged} already on it; "
              f"retired keys: {', '.join(report.retired_keys) or 'none'}")
    return 0


def cmd_verify(args) -> int:
    from intake.app import open_store
    from intake.settings import load_settings

    store = open_store(load_settings(args.config, require_secrets=False))
    failed = []
    for path in store.files():
        try:
            store.read(path)
        except (SealedFileError, OSError) as exc:
            failed.append(str(exc))
    counts = key_ids_in_use(store)
    result = {"files": sum(counts.values()), "by_key": {k or "plaintext": v for k, v in counts.items()},
              "failed": failed}
    print(json.dumps(result, ensure_ascii=False) if args.json else
          f"{result['files']} files, by key {result['by_key']}, {len(failed)} failed"
          + "".join(f"\n  {f}" for f in failed))
    return 1 if failed else 0
