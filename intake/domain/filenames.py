"""Attachment file-name sanitising.

``safe_filename`` keeps only the last path component (either slash style),
removes control characters and leading dots, NFC-normalises, caps the length at
``MAX_FILENAME_BYTES`` UTF-8 bytes while keeping the extension, and falls back to
a given name when nothing usable is left.
"""

from __future__ import annotations

import mimetypes
import re
import unicodedata

MAX_FILENAME_BYTES = 150
MAX_EXTENSION_CHARS = 16

_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_RESERVED_RE = re.compile(r'[<>:"|?*]')

_EXTRA_EXTENSIONS = {
    "application/x-hwp": ".hwp",
    "application/haansofthwp": ".hwp",
    "application/vnd.hancom.hwp": ".hwp",
    "image/tiff": ".tif",
    "image/jpeg": ".jpg",
    "text/plain": ".txt",
    "message/rfc822": ".eml",
    "text/rfc822-headers": ".txt",
    "application/octet-stream": ".bin",
}


def extension_for(content_type: str | None) -> str:
    """Guess a file extension (with dot) from a MIME type; ``.bin`` when unknown."""
    ctype = (content_type or "").strip().lower()
    if ctype in _EXTRA_EXTENSIONS:
        return _EXTRA_EXTENSIONS[ctype]
    return mimetypes.guess_extension(ctype, strict=False) or ".bin"


def fallback_filename(index: int, content_type: str | None) -> str:
    """``attachment-<index><ext>``, e.g. ``attachment-1.pdf``."""
    return f"attachment-{index}{extension_for(content_type)}"


def _last_component(name: str) -> str:
    return re.split(r"[\\/]", name)[-1]


def _split_extension(name: str) -> tuple[str, str]:
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or len(ext) > MAX_EXTENSION_CHARS or not ext.strip():
        return name, ""
    return stem, "." + ext


def _truncate_utf8(text: str, max_bytes: int) -> str:
    encoded = text.encode("utf-8")
    if len(encoded) <= max_bytes:
        return text
    return encoded[:max(0, max_bytes)].decode("utf-8", errors="ignore")


def cap_length(name: str, max_bytes: int = MAX_FILENAME_BYTES) -> str:
    """Shorten ``name`` to ``max_bytes`` UTF-8 bytes, keeping its extension."""
    if len(name.encode("utf-8")) <= max_bytes:
        return name
    stem, ext = _split_extension(name)
    stem = _truncate_utf8(stem, max_bytes - len(ext.encode("utf-8"))).rstrip(" .")
    return stem + ext if stem else _truncate_utf8(name, max_bytes)


def safe_filename(name: str | None, fallback: str) -> str:
    """A file name safe to store and show; ``fallback`` when nothing is left."""
    text = unicodedata.normalize("NFC", name or "")
    text = _CONTROL_RE.sub("", text)
    text = _last_component(text)
    text = _RESERVED_RE.sub("_", text)
    text = text.strip().lstrip(".").strip()
    text = text.rstrip(". ")
    text = cap_length(text)
    return text or fallback
