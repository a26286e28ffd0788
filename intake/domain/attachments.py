"""Attachments: their type from their bytes, and which parts the limits keep aside (pure).

A sender's declared Content-Type and file name are not trusted: ``detect_type``
reads the magic bytes. Archives (zip, gzip, 7z, rar, tar …) are recognised so
they are stored as they came and never unpacked. ``plan_attachments`` applies
the configured limits: a part over ``max_bytes``, or beyond the first
``max_count`` parts, is still stored but *kept aside* — not read by OCR and
named in the handler's task mail.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Sequence

from intake.domain.records import Attachment

# (magic, offset, content type) — checked in order; the first match wins.
_MAGIC: tuple[tuple[bytes, int, str], ...] = (
    (b"%PDF-", 0, "application/pdf"),
    (b"II*\x00", 0, "image/tiff"),
    (b"MM\x00*", 0, "image/tiff"),
    (b"II+\x00", 0, "image/tiff"),                    # BigTIFF
    (b"MM\x00+", 0, "image/tiff"),
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"GIF87a", 0, "image/gif"),
    (b"GIF89a", 0, "image/gif"),
    (b"BM", 0, "image/bmp"),
    (b"PK\x03\x04", 0, "application/zip"),            # also docx/xlsx/hwpx (zip containers)
    (b"PK\x05\x06", 0, "application/zip"),            # empty zip
    (b"\x1f\x8b", 0, "application/gzip"),
    (b"7z\xbc\xaf\x27\x1c", 0, "application/x-7z-compressed"),
    (b"Rar!\x1a\x07", 0, "application/vnd.rar"),
    (b"BZh", 0, "application/x-bzip2"),
    (b"\xfd7zXZ\x00", 0, "application/x-xz"),
    (b"ustar", 257, "application/x-tar"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 0, "application/x-ole-storage"),   # hwp 5, doc, xls
    (b"MZ", 0, "application/x-msdownload"),
    (b"\x7fELF", 0, "application/x-executable"),
)

_BMP_HEADER_SIZES = (12, 40, 52, 56, 64, 108, 124)

ARCHIVE_TYPES = frozenset({
    "application/zip", "application/gzip", "application/x-7z-compressed", "application/vnd.rar",
    "application/x-bzip2", "application/x-xz", "application/x-tar",
})

#: Types OCR reads as pages (by content, never by the declared type alone).
PAGE_CONTENT_TYPES = frozenset({"application/pdf", "image/tiff", "image/jpeg", "image/png", "image/gif"})
_PAGE_EXTENSIONS = (".pdf", ".tif", ".tiff", ".png", ".jpg", ".jpeg", ".gif")


def detect_type(payload: bytes) -> str | None:
    """The content type the bytes prove, or None when no known signature matches."""
    for magic, offset, ctype in _MAGIC:
        if payload[offset:offset + len(magic)] == magic:
            if ctype == "image/bmp" and int.from_bytes(payload[14:18], "little") not in _BMP_HEADER_SIZES:
                continue             # "BM…" text, not a bitmap
            if ctype == "application/x-msdownload" and len(payload) < 64:
                continue
            return ctype
    return None


def effective_type(att: Attachment) -> str:
    """What to store and act on: the detected type, else the declared one (lower-case)."""
    return detect_type(att.payload) or (att.content_type or "application/octet-stream").split(";")[0].strip().lower()


def is_page(att: Attachment) -> bool:
    """A page image or PDF to read. Bytes that prove another type (a zip named .pdf) are not;
    bytes with no known signature fall back to the declared type or the name."""
    detected = detect_type(att.payload)
    if detected is not None:
        return detected in PAGE_CONTENT_TYPES
    ct = (att.content_type or "").split(";")[0].strip().lower()
    return ct in PAGE_CONTENT_TYPES or ct == "image/tif" or PurePosixPath((att.filename or "").lower()).suffix in _PAGE_EXTENSIONS


@dataclass(frozen=True)
class AttachmentLimits:
    max_bytes: int = 25 * 1024 * 1024
    max_count: int = 20


@dataclass(frozen=True)
class PlannedAttachment:
    index: int                      # 0-based position in the message
    attachment: Attachment
    content_type: str               # effective type (detected from the bytes when possible)
    declared_type: str
    kept_aside: bool
    aside_reason: str | None


def plan_attachments(attachments: Sequence[Attachment], limits: AttachmentLimits) -> tuple[PlannedAttachment, ...]:
    """Each part with its effective type and whether the limits keep it aside (and why)."""
    out: list[PlannedAttachment] = []
    for i, att in enumerate(attachments):
        reason = None
        if i >= limits.max_count:
            reason = f"part {i + 1} is over the limit of {limits.max_count} attachments per message"
        elif att.size > limits.max_bytes:
            reason = f"{att.size} bytes is over the limit of {limits.max_bytes} bytes per attachment"
        out.append(PlannedAttachment(index=i, attachment=att, content_type=effective_type(att),
                                     declared_type=(att.content_type or "").lower(),
                                     kept_aside=reason is not None, aside_reason=reason))
    return tuple(out)


def readable_pages(attachments: Sequence[Attachment], limits: AttachmentLimits) -> list[Attachment]:
    """The parts OCR may read: page types within the limits."""
    return [p.attachment for p in plan_attachments(attachments, limits)
            if not p.kept_aside and is_page(p.attachment)]


def aside_reason_ko(size: int, index: int, limits: AttachmentLimits) -> str:
    """Why a part was kept aside, for the handler's task mail (Korean)."""
    if index >= limits.max_count:
        return f"한 메일의 첨부 {limits.max_count}개 제한을 넘는 {index + 1}번째 첨부입니다"
    return f"크기 {_mb(size)}가 첨부 한 개의 제한 {_mb(limits.max_bytes)}를 넘습니다"


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB"
