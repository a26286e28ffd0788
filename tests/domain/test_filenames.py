"""safe_filename table."""

import unicodedata

import pytest

from intake.domain.filenames import MAX_FILENAME_BYTES, cap_length, extension_for, fallback_filename, safe_filename


@pytest.mark.parametrize(
    "name, expected",
    [
        ("report.pdf", "report.pdf"),
        ("..\\..\\..\\windows\\win.ini", "win.ini"),
        ("../../etc/passwd", "passwd"),
        ("/abs/path/보고서.hwp", "보고서.hwp"),
        ("C:\\Users\\kim\\신청서.hwp", "신청서.hwp"),
        (".htaccess", "htaccess"),
        ("...hidden.txt", "hidden.txt"),
        ("a\r\nb\x00c\x7f.pdf", "abc.pdf"),
        ("evil\u202egpj.exe", "evilgpj.exe"),
        ("  spaced .pdf  ", "spaced .pdf"),
        ('what?<>:"|*.txt', "what_______.txt"),
        ("trailing.", "trailing"),
        ("", "attachment-1.bin"),
        (None, "attachment-1.bin"),
        ("..", "attachment-1.bin"),
        ("../", "attachment-1.bin"),
        ("\\\\server\\share\\", "attachment-1.bin"),
    ],
)
def test_safe_filename(name, expected):
    assert safe_filename(name, "attachment-1.bin") == expected


def test_nfd_name_is_nfc_normalised():
    nfd = unicodedata.normalize("NFD", "한글.pdf")
    assert nfd != "한글.pdf"
    assert safe_filename(nfd, "x") == "한글.pdf"


def test_long_korean_name_capped_keeps_extension_and_whole_characters():
    name = "가" * 200 + ".hwp"
    result = safe_filename(name, "x")
    assert result.endswith(".hwp")
    assert len(result.encode("utf-8")) <= MAX_FILENAME_BYTES
    assert set(result[:-4]) == {"가"}


def test_cap_length_without_extension():
    assert len(cap_length("a" * 400).encode()) == MAX_FILENAME_BYTES


@pytest.mark.parametrize(
    "ctype, ext",
    [("application/pdf", ".pdf"), ("image/jpeg", ".jpg"), ("image/tiff", ".tif"),
     ("application/x-hwp", ".hwp"), ("application/zip", ".zip"), ("x/unknown", ".bin"),
     ("message/rfc822", ".eml"), ("", ".bin")],
)
def test_extension_for(ctype, ext):
    assert extension_for(ctype) == ext


def test_fallback_filename():
    assert fallback_filename(2, "application/pdf") == "attachment-2.pdf"
