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

Encryption at rest (``intake.adapters.keyring``): with a keyring every blob is sealed with
AES-256-GCM before it is written. Files keep the address of their PLAINTEXT's SHA-256: the
database already holds that hash for every message and attachment (deduplication, evidence),
so an encrypted name would hide nothing, and a rekey rewrites file contents only, never the
paths stored in rows. The name is bound into the ciphertext, and a plaintext file (written
before encryption was switched on, or with ``encrypt = false``) is read only if its bytes
still hash to its name, so no file can be swapped or forged unnoticed.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

from intake.adapters.keyring import OVERHEAD, Keyring, SealedFileError, sealed_key_id

log = logging.getLogger("intake.store")


@dataclass(frozen=True)
class StoredBlob:
    sha256: str
    path: Path
    size: int


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class RawStore:
    def __init__(self, root: Path, *, syncfs: Callable[[int], None] | None | bool = True,
                 keyring: Keyring | None = None, encrypt: bool | None = None):
        """``syncfs``: True = use the system's ``syncfs(2)`` where it exists; None/False = fsync
        each file and folder; a callable = use it (tests). ``keyring``: opens sealed files and,
        unless ``encrypt`` is False, seals new ones."""
        self.root = Path(root)
        self._syncfs = system_syncfs() if syncfs is True else (syncfs or None)
        self.keyring = keyring
        self.encrypt = keyring is not None if encrypt is None else encrypt
        if self.encrypt and keyring is None:
            raise ValueError("an encrypting store needs a keyring")

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
        """The plaintext of a store file (sealed or not); SealedFileError if it cannot be trusted."""
        path = Path(path)
        return self.open_bytes(path.read_bytes(), path.name)

    def open_bytes(self, data: bytes, name: str) -> bytes:
        if sealed_key_id(data) is not None:
            if self.keyring is None:
                raise SealedFileError(f"{name}: sealed, and no [storage] key_file is configured")
            return self.keyring.open(data, name)
        digest = name.split(".", 1)[0]
        if len(digest) == 64 and sha256_hex(data) != digest:
            raise SealedFileError(f"{name}: its content no longer matches its name")
        return data

    def files(self) -> Iterator[Path]:
        """Every complete blob in the store (temporary files of an interrupted write are not)."""
        for kind in ("raw", "att"):
            folder = self.root / kind
            if folder.is_dir():
                yield from sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))

    def reseal(self, path: Path) -> bool:
        """Rewrite one file under the current key (or seal a plaintext one). False: nothing to do."""
        data = path.read_bytes()
        if self.keyring is None or sealed_key_id(data) == self.keyring.current.key_id:
            return False
        write_atomically(path, self.keyring.seal(self.open_bytes(data, path.name), path.name))
        return True

    def _put_many(self, kind: str, datas: Sequence[bytes], suffix: str) -> list[StoredBlob]:
        blobs: list[StoredBlob] = []
        pending: dict[Path, bytes] = {}
        if self.encrypt:
            self.keyring.refresh()    # a rekey by another process: seal with its new key
        for data in datas:
            digest = sha256_hex(data)
            target = self._path(kind, digest, suffix)
            blobs.append(StoredBlob(digest, target, len(data)))
            # A file under its hash name is complete (renamed into place); the size tells a
            # sealed file from a plaintext one, so switching encryption on seals anew.
            if target in pending or (target.exists() and target.stat().st_size == self._stored_size(len(data))):
                continue
            pending[target] = self.keyring.seal(data, target.name) if self.encrypt else data
        if pending:
            self._write_durably(pending)
        return blobs

    def _stored_size(self, size: int) -> int:
        return size + OVERHEAD if self.encrypt else size

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
