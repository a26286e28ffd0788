"""The raw store's encryption keys and its AES-GCM file format.

Personal data at rest (개인정보 보호법 제24조의2: resident registration numbers are kept encrypted):
every raw message and attachment in the store is sealed with AES-256-GCM, an authenticated
cipher, so a changed or swapped file is refused rather than read.

Key file (``[storage] key_file``, mode 0600, never inside the store folder, never in a backup
of it): one key per line, ``<key id> <base64 of 32 bytes>``; ``#`` comments. The LAST line is
the current key, used for new files; the lines before stay readable until ``intake store
rekey`` has rewritten every file that uses them.

File format: ``IKS1`` + key id (8 ASCII bytes) + nonce (12 bytes), then the ciphertext with
its 16-byte tag. The additional authenticated data is that header plus the file's name (its
plaintext's SHA-256), so a file copied under another name fails to open.
"""

from __future__ import annotations

import base64
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from intake.errors import IntakeError

MAGIC = b"IKS1"
KEY_ID_LEN = 8
NONCE_LEN = 12
TAG_LEN = 16
HEADER_LEN = len(MAGIC) + KEY_ID_LEN + NONCE_LEN
OVERHEAD = HEADER_LEN + TAG_LEN


class KeyFileError(IntakeError):
    """The key file is missing, unreadable, too open or malformed (the message says which)."""


class SealedFileError(IntakeError):
    """A store file that cannot be opened: unknown key, or changed since it was written."""


@dataclass(frozen=True)
class StoreKey:
    key_id: str
    secret: bytes


def new_key() -> StoreKey:
    return StoreKey(secrets.token_hex(KEY_ID_LEN // 2), AESGCM.generate_key(bit_length=256))


def format_keys(keys: list[StoreKey]) -> str:
    lines = ["# intake raw-store keys: the last line is the current key. Keep a copy apart from backups."]
    lines += [f"{k.key_id} {base64.b64encode(k.secret).decode()}" for k in keys]
    return "\n".join(lines) + "\n"


def parse_keys(text: str, path: Path) -> list[StoreKey]:
    keys: list[StoreKey] = []
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        try:
            key_id, secret = parts[0], base64.b64decode(parts[1], validate=True)
        except (IndexError, ValueError):
            raise KeyFileError(f"{path}: line {n}: expected '<key id> <base64 key>'") from None
        if len(parts) != 2 or len(key_id) != KEY_ID_LEN or not key_id.isascii() or len(secret) != 32:
            raise KeyFileError(f"{path}: line {n}: expected an {KEY_ID_LEN}-character key id and a 32-byte key")
        keys.append(StoreKey(key_id, secret))
    if not keys:
        raise KeyFileError(f"{path}: holds no key")
    return keys


def key_file_problem(path: Path) -> str | None:
    """Why ``path`` cannot serve as a key file, or None."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return f"file not found: {path} (create it with `intake store init-key`)"
    except OSError as exc:
        return f"cannot read {path}: {exc.strerror}"
    if mode & 0o077:
        return f"{path} is readable by others (mode {mode & 0o777:o}); chmod 600 it"
    try:
        parse_keys(path.read_text(encoding="ascii"), path)
    except (KeyFileError, OSError, UnicodeDecodeError) as exc:
        return str(exc)
    return None


def write_key_file(path: Path, keys: list[StoreKey]) -> None:
    """Atomically (temporary file, fsync, rename), created 0600 from the start."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(format_keys(keys))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def init_key_file(path: Path) -> StoreKey:
    """A new key file with one key; refuses to replace an existing one (its files would be lost)."""
    if path.exists():
        raise KeyFileError(f"{path} exists already; `intake store rekey` adds a key to it")
    key = new_key()
    write_key_file(path, [key])
    return key


class Keyring:
    """The keys of one key file, reloaded when the file changes (a rekey by another process)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._stamp: tuple | None = None
        self._keys: dict[str, StoreKey] = {}
        self._current: StoreKey | None = None
        self.reload()

    def reload(self) -> None:
        problem = key_file_problem(self.path)
        if problem:
            raise KeyFileError(problem)
        keys = parse_keys(self.path.read_text(encoding="ascii"), self.path)
        st = self.path.stat()
        self._stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        self._keys = {k.key_id: k for k in keys}
        self._current = keys[-1]

    def refresh(self) -> None:
        """Reload if the file was replaced since (cheap: one stat)."""
        try:
            st = self.path.stat()
        except OSError:
            return
        if (st.st_ino, st.st_mtime_ns, st.st_size) != self._stamp:
            self.reload()

    @property
    def current(self) -> StoreKey:
        assert self._current is not None
        return self._current

    @property
    def key_ids(self) -> list[str]:
        return list(self._keys)

    def seal(self, plaintext: bytes, name: str) -> bytes:
        key = self.current
        header = MAGIC + key.key_id.encode("ascii") + os.urandom(NONCE_LEN)
        return header + AESGCM(key.secret).encrypt(header[-NONCE_LEN:], plaintext, header + name.encode())

    def open(self, sealed: bytes, name: str) -> bytes:
        key_id = sealed_key_id(sealed)
        if key_id is None:
            raise SealedFileError(f"{name}: not a sealed store file")
        if key_id not in self._keys:
            self.refresh()
        key = self._keys.get(key_id)
        if key is None:
            raise SealedFileError(f"{name}: sealed with key {key_id!r}, which {self.path} does not hold")
        header = sealed[:HEADER_LEN]
        try:
            return AESGCM(key.secret).decrypt(header[-NONCE_LEN:], sealed[HEADER_LEN:], header + name.encode())
        except InvalidTag:
            raise SealedFileError(f"{name}: changed since it was written (authentication failed)") from None


def sealed_key_id(data: bytes) -> str | None:
    """The key id in a sealed file's header; None for anything else (a plaintext file)."""
    if len(data) < OVERHEAD or not data.startswith(MAGIC):
        return None
    raw = data[len(MAGIC):len(MAGIC) + KEY_ID_LEN]
    try:
        return raw.decode("ascii")
    except UnicodeDecodeError:
        return None
