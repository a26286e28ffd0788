"""Content-addressed durable file store for raw messages and attachments.

A file that exists under its hash name is complete. Names are derived from the
SHA-256 of the content only, so nothing a sender writes can choose a path
(attachment names are kept in the database, sanitised).

Write path, for one blob or a batch of them (``put_messages``: the fetcher's
batch of 50): each blob is written to a temporary file in its final folder;
then the data of all of them is made durable, they are renamed to their hash
names, and the renames are made durable. On Linux "made durable" is one
``syncfs(2)`` of the store's file system for the whole batch: one journal
commit instead of two ``fsync`` calls (file and folder) for every blob, which
on a busy disk costs milliseconds each. Elsewhere, or when ``syncfs`` fails,
each file and each folder is ``fsync``-ed as before.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

log = logging.getLogger("intake.store")


@dataclass(frozen=True)
class StoredBlob:
    sha256: str
    path: Path
    size: int


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class RawStore:
    def __init__(self, root: Path, *, syncfs: Callable[[int], None] | None | bool = True):
        """``syncfs``: True = use the system's ``syncfs(2)`` where it exists; None/False = fsync
        each file and folder; a callable = use it (tests)."""
        self.root = Path(root)
        self._syncfs = system_syncfs() if syncfs is True else (syncfs or None)

    def _path(self, kind: str, digest: str, suffix: str) -> Path:
        return self.root / kind / digest[:2] / digest[2:4] / f"{digest}{suffix}"

    def put_message(self, raw: bytes) -> StoredBlob:
        return self.put_messages([raw])[0]

    def put_messages(self, raws: Sequence[bytes]) -> list[StoredBlob]:
        """Store a batch of raw messages; all of them are durable when this returns."""
        return self._put_many("raw", raws, ".eml")

    def put_attachment(self, payload: bytes) -> StoredBlob:
        return self.put_attachments([payload])[0]

    def put_attachments(self, payloads: Sequence[bytes]) -> list[StoredBlob]:
        return self._put_many("att", payloads, ".bin")

    def read(self, path: str | Path) -> bytes:
        return Path(path).read_bytes()

    def _put_many(self, kind: str, datas: Sequence[bytes], suffix: str) -> list[StoredBlob]:
        blobs: list[StoredBlob] = []
        pending: dict[Path, bytes] = {}
        for data in datas:
            digest = sha256_hex(data)
            target = self._path(kind, digest, suffix)
            blobs.append(StoredBlob(digest, target, len(data)))
            if target in pending or (target.exists() and target.stat().st_size == len(data)):
                continue
            pending[target] = data
        if pending:
            self._write_durably(pending)
        return blobs

    def _write_durably(self, files: dict[Path, bytes]) -> None:
        for target in files:
            target.parent.mkdir(parents=True, exist_ok=True)
        temps: list[tuple[Path, Path]] = []
        try:
            for target, data in files.items():
                temps.append((_write_temporary(target, data, fsync=False), target))
            self._sync(fallback=[tmp for tmp, _ in temps])
            for tmp, target in temps:
                os.replace(tmp, target)
            temps = []
            self._sync(fallback=sorted({target.parent for target in files}))
        except BaseException:
            for tmp, _ in temps:
                tmp.unlink(missing_ok=True)
            raise

    def _sync(self, fallback: Iterable[Path]) -> None:
        """One syncfs of the store's file system; if it fails (or failed before), fsync each path
        in ``fallback``."""
        if self._syncfs is not None:
            fd = os.open(self.root, os.O_RDONLY)
            try:
                self._syncfs(fd)
                return
            except OSError as exc:
                log.warning("store: syncfs of %s failed (%s); syncing file by file from now on", self.root, exc)
                self._syncfs = None
            finally:
                os.close(fd)
        for path in fallback:
            _fsync_path(path)


def write_atomically(path: Path, data: bytes) -> None:
    """A complete file or none: temporary file in the same folder → fsync → rename → fsync the folder."""
    tmp = _write_temporary(path, data, fsync=True)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_path(path.parent)


def _write_temporary(path: Path, data: bytes, *, fsync: bool) -> Path:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            if fsync:
                fh.flush()
                os.fsync(fh.fileno())
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def system_syncfs() -> Callable[[int], None] | None:
    """``syncfs(2)`` of the C library (Linux), raising OSError on failure; None where there is none."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)    # the process's own symbols: libc's, on Linux
        fn = libc.syncfs
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int]
    fn.restype = ctypes.c_int

    def syncfs(fd: int) -> None:
        if fn(fd) != 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))

    return syncfs
