"""render_text_pdf: A4 PDF of Korean text with an embedded NanumGothic subset."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from pypdf import PdfReader

from intake.adapters.ocr import PageReader
from intake.adapters.ocr_metrics import char_accuracy
from intake.adapters.pdf_render import FONT_ENV, FontNotFoundError, find_font, render_text_pdf

TITLE = "팩스 접수 확인 [접수 2026-000812]"
BODY = (
    "안녕하십니까. 남북교류협력지원협회입니다.\n"
    "\n"
    "2026년 4월 14일에 보내주신 팩스를 접수하였습니다. 접수번호는 2026-000812입니다.\n"
    "담당 부서(종합지원센터)에서 검토한 뒤 2 영업일 안에 전화로 연락드리겠습니다.\n"
    "문의: consulting@sonosa.or.kr / 전화 02-1234-5678"
)


def _font_or_skip() -> Path:
    try:
        return find_font()
    except FontNotFoundError as exc:
        if os.environ.get("INTAKE_REQUIRE_OCR") == "1":
            pytest.fail(str(exc))
        pytest.skip(str(exc))


def test_one_page_a4_with_embedded_korean_font():
    _font_or_skip()
    pdf = render_text_pdf(TITLE, BODY)
    assert pdf.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)    # A4 in points
    fonts = reader.pages[0]["/Resources"]["/Font"]
    names = []
    for ref in fonts.values():
        font = ref.get_object()
        names.append(str(font["/BaseFont"]))
        descendant = font["/DescendantFonts"][0].get_object()
        assert "/FontFile2" in descendant["/FontDescriptor"].get_object()        # TrueType embedded
        assert "/ToUnicode" in font                                              # text extractable
    assert any("NanumGothic" in n for n in names)


def test_text_extracts_back_exactly():
    _font_or_skip()
    text = PdfReader(io.BytesIO(render_text_pdf(TITLE, BODY))).pages[0].extract_text()
    assert "접수번호는 2026-000812입니다." in text
    assert "consulting@sonosa.or.kr" in text
    assert char_accuracy(TITLE + "\n" + BODY, text, ignore_whitespace=True) == 1.0


def test_long_body_wraps_onto_more_pages_without_losing_text():
    _font_or_skip()
    paragraph = ("북측 협력 사업의 반출승인 신청 전에 필요한 서류와 절차를 안내하여 드립니다. " * 12).strip()
    long_word = "가" * 150                                  # no space to break at
    body = "\n\n".join([paragraph] * 8 + [long_word])
    pdf = render_text_pdf("안내문", body)
    reader = PdfReader(io.BytesIO(pdf))
    assert 2 <= len(reader.pages) <= 6
    extracted = "\n".join(page.extract_text() for page in reader.pages)
    assert char_accuracy("안내문\n" + body, extracted, ignore_whitespace=True) >= 0.99


def test_font_path_is_configurable(tmp_path, monkeypatch):
    font = _font_or_skip()
    with pytest.raises(FontNotFoundError):
        render_text_pdf("제목", "본문", font_path=tmp_path / "missing.ttf")

    copy = tmp_path / "Custom.ttf"
    shutil.copyfile(font, copy)
    pdf = render_text_pdf("제목", "본문 텍스트", font_path=copy)
    assert "본문 텍스트" in PdfReader(io.BytesIO(pdf)).pages[0].extract_text()

    monkeypatch.setenv(FONT_ENV, str(tmp_path / "nope.ttf"))
    with pytest.raises(FontNotFoundError, match=FONT_ENV):
        render_text_pdf("제목", "본문")
    monkeypatch.setenv(FONT_ENV, str(copy))
    assert find_font() == copy


def test_rendered_page_is_readable_by_ocr():
    """What the fax machine prints: rasterise the page and OCR it."""
    _font_or_skip()
    missing = [tool for tool in ("pdftoppm", "tesseract") if shutil.which(tool) is None]
    if not missing:
        langs = subprocess.run(["tesseract", "--list-langs"], capture_output=True, text=True).stdout.split()
        if "kor" not in langs:
            missing.append("tesseract-ocr-kor")
    if missing:
        if os.environ.get("INTAKE_REQUIRE_OCR") == "1":
            pytest.fail(f"INTAKE_REQUIRE_OCR=1 but missing: {missing}")
        pytest.skip(f"OCR tools missing: {missing}")
    pdf = render_text_pdf(TITLE, BODY)
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "a.pdf").write_bytes(pdf)
        subprocess.run(["pdftoppm", "-r", "200", "-gray", "-singlefile", str(Path(tmp) / "a.pdf"),
                        str(Path(tmp) / "p")], check=True, timeout=60)
        from PIL import Image

        buf = io.BytesIO()
        Image.open(Path(tmp) / "p.pgm").save(buf, format="PNG", dpi=(200, 200))
    result = PageReader().read_attachment(buf.getvalue(), "image/png", "page.png",
                                          page_limit=1, seconds_per_page=60)
    assert [p.method for p in result.pages] == ["ocr"]
    # Measured 1.000 (whitespace-insensitive); margin for other tesseract builds.
    assert char_accuracy(TITLE + "\n" + BODY, result.text, ignore_whitespace=True) >= 0.95, result.text
