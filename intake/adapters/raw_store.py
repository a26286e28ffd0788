"""Content-addressed durable file store for raw messages and attachments.

Write path: temporary file in the same folder → fsync → rename → fsync the
folder. A file that exists under its hash name is complete. Names are derived
from the SHA-256 of the content only, so nothing a sender writes can choose a
path (attachment names are kept in the database, sanitised).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class StoredBlob:
    sha256: str
    path: Path
    size: int


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class RawStore:
    def __init__(self, root: Path):
        self.root = Path(root)

    def _path(self, kind: str, digest: str, suffix: str) -> Path:
        return self.root / kind / digest[:2] / digest[2:4] / f"{digest}{suffix}"

    def put_message(self, raw: bytes) -> StoredBlob:
        return self._put("raw", raw, ".eml")

    def put_attachment(self, payload: bytes) -> StoredBlob:
        return self._put("att", payload, ".bin")

    def read(self, path: str | Path) -> bytes:
        return Path(path).read_bytes()

    def _put(self, kind: str, data: bytes, suffix: str) -> StoredBlob:
        digest = sha256_hex(data)
        target = self._path(kind, digest, suffix)
        if target.exists() and target.stat().st_size == len(data):
            return StoredBlob(digest, target, len(data))
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(target, data)
        return StoredBlob(digest, target, len(data))


def write_atomically(path: Path, data: bytes) -> None:
    """A complete file or none: temporary file in the same folder → fsync → rename → fsync the folder."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
