"""Attachment types from their bytes, and the size/count limits (pure tables)."""

import pytest

from intake.domain.attachments import (
    AttachmentLimits, detect_type, effective_type, is_page, plan_attachments, readable_pages,
)
from intake.domain.records import Attachment

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n"
TIFF_LE = b"II*\x00\x08\x00\x00\x00" + b"\x00" * 32
TIFF_BE = b"MM\x00*\x00\x00\x00\x08" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
ZIP = b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + b"\x00" * 20
BMP = b"BM" + b"\x00" * 12 + (40).to_bytes(4, "little") + b"\x00" * 20
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 24          # HWP 5 / old Office
TAR = b"a.txt".ljust(257, b"\x00") + b"ustar\x0000" + b"\x00" * 100


@pytest.mark.parametrize("payload, expected", [
    (PDF, "application/pdf"),
    (TIFF_LE, "image/tiff"),
    (TIFF_BE, "image/tiff"),
    (JPEG, "image/jpeg"),
    (PNG, "image/png"),
    (b"GIF89a\x01\x00", "image/gif"),
    (ZIP, "application/zip"),
    (b"PK\x05\x06" + b"\x00" * 18, "application/zip"),
    (b"\x1f\x8b\x08\x00", "application/gzip"),
    (b"7z\xbc\xaf\x27\x1c\x00\x04", "application/x-7z-compressed"),
    (b"Rar!\x1a\x07\x01\x00", "application/vnd.rar"),
    (TAR, "application/x-tar"),
    (OLE, "application/x-ole-storage"),
    (BMP, "image/bmp"),
    (b"BMW 520d brochure, please send", None),             # text that starts with "BM"
    (b"MZ", None),                                         # too short for an executable
    (b"\x7fELF\x02\x01\x01" + b"\x00" * 60, "application/x-executable"),
    ("안녕하십니까".encode("utf-8"), None),
    (b"", None),
])
def test_detect_type(payload, expected):
    assert detect_type(payload) == expected


def att(payload: bytes, ctype: str, name: str) -> Attachment:
    return Attachment(filename=name, original_filename=name, content_type=ctype, payload=payload)


@pytest.mark.parametrize("payload, ctype, name, page", [
    (PDF, "application/pdf", "fax.pdf", True),
    (TIFF_LE, "application/octet-stream", "fax_0212345678.bin", True),   # gateways that do not say
    (ZIP, "application/pdf", "invoice.pdf", False),                      # a zip dressed as a PDF
    (OLE, "image/tiff", "scan.tif", False),
    (b"just text", "text/plain", "note.txt", False),
    (b"\x00\x01garbage", "application/pdf", "broken.pdf", True),         # unknown bytes: declared type (OCR reports it)
    (b"\x00\x01garbage", "application/octet-stream", "page.TIF", True),  # unknown bytes: by the name
    (b"\x00\x01garbage", "application/octet-stream", "data.bin", False),
])
def test_is_page_by_content_first(payload, ctype, name, page):
    assert is_page(att(payload, ctype, name)) is page


@pytest.mark.parametrize("payload, declared, expected", [
    (ZIP, "application/pdf", "application/zip"),
    (PDF, "application/octet-stream", "application/pdf"),
    (b"plain", "Text/Plain; charset=utf-8", "text/plain"),
    (b"plain", "", "application/octet-stream"),
])
def test_effective_type_prefers_the_bytes(payload, declared, expected):
    assert effective_type(att(payload, declared, "x")) == expected


def test_limits_keep_big_and_extra_parts_aside_in_order():
    parts = [att(PDF + b"x" * 10, "application/pdf", "small.pdf"),
             att(TIFF_LE + b"x" * 200, "image/tiff", "big.tif"),
             att(ZIP, "application/zip", "files.zip"),
             att(PNG, "image/png", "fourth.png")]
    plan = plan_attachments(parts, AttachmentLimits(max_bytes=100, max_count=3))
    assert [p.kept_aside for p in plan] == [False, True, False, True]
    assert plan[1].aside_reason == f"{len(parts[1].payload)} bytes is over the limit of 100 bytes per attachment"
    assert plan[3].aside_reason == "part 4 is over the limit of 3 attachments per message"
    assert [p.content_type for p in plan] == ["application/pdf", "image/tiff", "application/zip", "image/png"]
    # Only page types within the limits are read; the zip is stored, never unpacked or read.
    assert [a.filename for a in readable_pages(parts, AttachmentLimits(max_bytes=100, max_count=3))] == ["small.pdf"]


@pytest.mark.parametrize("size, limit, aside", [(100, 100, False), (101, 100, True), (0, 1, False)])
def test_size_limit_boundary(size, limit, aside):
    plan = plan_attachments([att(b"x" * size, "application/octet-stream", "a")], AttachmentLimits(limit, 5))
    assert plan[0].kept_aside is aside
