"""Read fax and scanned-post attachments (PDF, TIFF, JPEG, PNG) as Korean text.

``PageReader.read_attachment`` never raises for bad input: a corrupt or
unsupported file, a page that fails or times out, or a message over the page
limit is reported in ``PageText.problems`` and sets ``needs_manual_reading``.

How each page is read:

* PDF page with a usable text layer -> the text (pypdf), method "text-layer".
* PDF page without one -> rendered with ``pdftoppm`` (poppler-utils) at
  300 dpi greyscale (PGM) in a subprocess with a timeout, then OCR.  Chosen
  over pypdfium2 (same speed, ~0.1 s/page) because a hostile PDF that hangs or
  crashes the renderer then only costs that page, and it adds no wheel.
* TIFF (every frame; fax G3/G4 included), JPEG, PNG -> decoded with Pillow at
  native resolution (upscaling 200 dpi fax bitmaps measured worse), then OCR.
* OCR: ``tesseract -l kor+eng --psm 6`` in a subprocess with
  ``OMP_THREAD_LIMIT=1``, killed when the page's time is up.  Before OCR, long
  horizontal and vertical rules (table borders, fax edge streaks) are erased:
  on the sample faxes with forms that raised character accuracy from 0.55 to
  0.88 (mean over all samples 0.883 -> 0.938).
* A page without ink (or whose OCR yields no letters or digits) is "blank".

No spacing post-processing is applied to OCR output: measured on the samples,
tesseract 5 with psm 6 did not split Hangul words, and the candidate rule
(join runs of single syllables) changed nothing there while it would damage
headings printed letter-spaced on purpose ("수 신", "팩 스").
"""

from __future__ import annotations

import io
import logging
import os
import re
import shutil
import subprocess
import tempfile
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image

log = logging.getLogger(__name__)

PAGE_SEPARATOR = "\n\f\n"

Method = Literal["text-layer", "ocr", "blank", "failed"]


@dataclass(frozen=True)
class PageResult:
    page: int                      # 1-based
    method: Method
    chars: int                     # non-whitespace characters read
    seconds: float
    error: str | None = None


@dataclass(frozen=True)
class PageText:
    text: str                      # pages joined by "\n\f\n" (blank/failed pages are "")
    pages: tuple[PageResult, ...]
    needs_manual_reading: bool
    problems: tuple[str, ...]


class _PageFailed(Exception):
    """One page could not be read; the message goes into the page result."""


class _Timeout(_PageFailed):
    pass


# Minimum text-layer size for a PDF page to count as "has text" and the share
# of characters that must be real letters/digits/punctuation (a text layer of
# a font without ToUnicode extracts as private-use or replacement characters).
_MIN_TEXT_LAYER_CHARS = 8
_MIN_TEXT_LAYER_CLEAN_SHARE = 0.9

# Blank detection: ink pixels are darker than 128; the page is cut into 4x4
# cells and a cell counts when at least 4 of its 16 pixels are ink, which
# ignores isolated fax/scan specks.  One printed Hangul syllable at 10 pt and
# 200 dpi already makes well over 30 such cells.
_INK_LEVEL = 128
_BLANK_MAX_CELLS = 30

# Rules (table borders): runs of ink at least this long (inches) are erased.
_RULE_MIN_INCHES = 0.6

_PDF_MAGIC = b"%PDF-"
_TIFF_MAGICS = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
_JPEG_MAGIC = b"\xff\xd8\xff"
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

_MAX_PIXELS = 60_000_000          # a 600 dpi A3 page is ~35 Mpx


class PageReader:
    """Turns an attachment (bytes) into per-page text, OCR'ing image pages."""

    def __init__(
        self,
        *,
        tesseract: str = "tesseract",
        pdftoppm: str = "pdftoppm",
        languages: str = "kor+eng",
        psm: int = 6,
        render_dpi: int = 300,
        remove_rules: bool = True,
    ) -> None:
        self.tesseract = tesseract
        self.pdftoppm = pdftoppm
        self.languages = languages
        self.psm = psm
        self.render_dpi = render_dpi
        self.remove_rules = remove_rules

    # ------------------------------------------------------------------ API

    def read_attachment(
        self,
        payload: bytes,
        content_type: str,
        filename: str,
        *,
        page_limit: int,
        seconds_per_page: float,
    ) -> PageText:
        problems: list[str] = []
        kind = _sniff(payload, content_type, filename)
        try:
            if kind == "pdf":
                results, texts = self._read_pdf(payload, page_limit, seconds_per_page, problems)
            elif kind == "image":
                results, texts = self._read_image(payload, page_limit, seconds_per_page, problems)
            elif kind == "empty":
                problems.append(f"{filename!r}: empty attachment")
                results, texts = [], []
            else:
                problems.append(
                    f"{filename!r}: unsupported attachment type ({content_type or 'no content type'})"
                )
                results, texts = [], []
        except Exception as exc:  # belt and braces: never raise out of here
            log.exception("unexpected error reading %r", filename)
            problems.append(f"{filename!r}: unexpected error: {type(exc).__name__}: {exc}")
            results, texts = [], []

        for r in results:
            if r.method == "failed":
                problems.append(f"page {r.page}: {r.error}")
        if results and all(r.method == "blank" for r in results):
            problems.append("all pages are blank")
        needs_manual = bool(problems) or not results
        if not results and not problems:
            problems.append(f"{filename!r}: no pages")
        return PageText(
            text=PAGE_SEPARATOR.join(texts),
            pages=tuple(results),
            needs_manual_reading=needs_manual,
            problems=tuple(problems),
        )

    # ------------------------------------------------------------------ PDF

    def _read_pdf(self, payload, page_limit, seconds_per_page, problems):
        from pypdf import PdfReader

        try:
            reader = PdfReader(io.BytesIO(payload))
            if reader.is_encrypted:
                # Many scanners "encrypt" with an empty user password.
                if not reader.decrypt(""):
                    problems.append("PDF is password-protected")
                    return [], []
            n_pages = len(reader.pages)
        except Exception as exc:
            problems.append(f"corrupt PDF: {type(exc).__name__}: {exc}")
            return [], []
        if n_pages == 0:
            problems.append("PDF has no pages")
            return [], []
        if n_pages > page_limit:
            problems.append(f"page limit: read {page_limit} of {n_pages} pages")

        results: list[PageResult] = []
        texts: list[str] = []
        with tempfile.TemporaryDirectory(prefix="intake-ocr-") as tmp:
            pdf_path = Path(tmp) / "in.pdf"
            pdf_path.write_bytes(payload)
            for index in range(min(n_pages, page_limit)):
                number = index + 1
                started = time.monotonic()
                try:
                    layer = _text_layer(reader, index)
                    if layer is not None:
                        results.append(_result(number, "text-layer", layer, started))
                        texts.append(layer)
                        continue
                    deadline = started + seconds_per_page
                    image = self._render_pdf_page(pdf_path, number, tmp, deadline)
                    method, text = self._ocr_or_blank(image, self.render_dpi, deadline)
                    results.append(_result(number, method, text, started))
                    texts.append(text)
                except Exception as exc:
                    results.append(_failed(number, exc, started))
                    texts.append("")
        return results, texts

    def _render_pdf_page(self, pdf_path: Path, number: int, tmp: str, deadline: float) -> Image.Image:
        out_root = Path(tmp) / f"page-{number}"
        cmd = [
            self.pdftoppm, "-r", str(self.render_dpi), "-gray",
            "-f", str(number), "-l", str(number), "-singlefile",
            str(pdf_path), str(out_root),
        ]
        _run(cmd, deadline, what="PDF page rendering")
        # PGM output: pdftoppm's PNG encoder took ~10 s for one 300 dpi A4 page.
        pgm = out_root.with_suffix(".pgm")
        try:
            with Image.open(pgm) as im:
                image = im.convert("L")
        except Exception as exc:
            raise _PageFailed(f"rendered page unreadable: {exc}") from exc
        finally:
            pgm.unlink(missing_ok=True)
        return image

    # --------------------------------------------------------------- images

    def _read_image(self, payload, page_limit, seconds_per_page, problems):
        try:
            container = Image.open(io.BytesIO(payload))
            n_frames = getattr(container, "n_frames", 1)
            if container.width * container.height > _MAX_PIXELS:
                problems.append(f"image too large: {container.width}x{container.height} pixels")
                return [], []
        except Exception as exc:
            problems.append(f"corrupt image: {type(exc).__name__}: {exc}")
            return [], []
        if n_frames > page_limit:
            problems.append(f"page limit: read {page_limit} of {n_frames} pages")

        results: list[PageResult] = []
        texts: list[str] = []
        for index in range(min(n_frames, page_limit)):
            number = index + 1
            started = time.monotonic()
            try:
                try:
                    container.seek(index)
                    image, dpi = _normalise_image(container)
                except _PageFailed:
                    raise
                except Exception as exc:
                    raise _PageFailed(f"cannot decode image: {type(exc).__name__}: {exc}") from exc
                method, text = self._ocr_or_blank(image, dpi, started + seconds_per_page)
                results.append(_result(number, method, text, started))
                texts.append(text)
            except Exception as exc:
                results.append(_failed(number, exc, started))
                texts.append("")
        return results, texts

    # ------------------------------------------------------------------ OCR

    def _ocr_or_blank(self, image: Image.Image, dpi: int, deadline: float) -> tuple[Method, str]:
        ink = np.asarray(image) < _INK_LEVEL
        if _is_blank(ink):
            return "blank", ""
        if self.remove_rules:
            image = _erase_rules(image, ink, dpi)
        text = self._tesseract(image, dpi, deadline)
        if not any(ch.isalnum() for ch in text):
            return "blank", ""
        return "ocr", text

    def _tesseract(self, image: Image.Image, dpi: int, deadline: float) -> str:
        if shutil.which(self.tesseract) is None:
            raise _PageFailed(f"OCR engine not installed ({self.tesseract!r} not found)")
        buf = io.BytesIO()
        image.save(buf, format="PPM")      # greyscale PGM: no compression cost
        cmd = [
            self.tesseract, "stdin", "stdout",
            "-l", self.languages, "--psm", str(self.psm), "--dpi", str(dpi),
        ]
        env = dict(os.environ, OMP_THREAD_LIMIT="1")
        out = _run(cmd, deadline, what="OCR", stdin=buf.getvalue(), env=env)
        return _tidy_ocr_text(out.decode("utf-8", errors="replace"))


# ---------------------------------------------------------------- helpers


def _sniff(payload: bytes, content_type: str, filename: str) -> str:
    if not payload:
        return "empty"
    head = payload[:1024]
    if _PDF_MAGIC in head:
        return "pdf"
    if head.startswith(_TIFF_MAGICS) or head.startswith(_JPEG_MAGIC) or head.startswith(_PNG_MAGIC):
        return "image"
    ctype = (content_type or "").split(";")[0].strip().lower()
    suffix = Path(filename or "").suffix.lower()
    if ctype == "application/pdf" or suffix == ".pdf":
        return "pdf"                          # will be reported as corrupt
    if ctype.startswith("image/") or suffix in {".tif", ".tiff", ".jpg", ".jpeg", ".png"}:
        return "image"
    return "unsupported"


def _run(cmd: list[str], deadline: float, *, what: str, stdin: bytes | None = None,
         env: dict[str, str] | None = None) -> bytes:
    """Run a helper with the time left until ``deadline``; kill it when that runs out."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise _Timeout(f"{what} timed out (page time limit used up)")
    try:
        proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
        )
    except OSError as exc:
        raise _PageFailed(f"{what}: cannot start {cmd[0]!r}: {exc}") from exc
    try:
        out, err = proc.communicate(stdin, timeout=remaining)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise _Timeout(f"{what} timed out after {remaining:.2f} s (process killed)") from None
    if proc.returncode != 0:
        detail = err.decode("utf-8", errors="replace").strip().splitlines()
        raise _PageFailed(f"{what} failed (exit {proc.returncode}): {' '.join(detail[-2:])[:300]}")
    return out


def _text_layer(reader, index: int) -> str | None:
    """The page's own text if it has a usable text layer, else None (-> OCR)."""
    try:
        raw = reader.pages[index].extract_text() or ""
    except Exception as exc:  # broken content stream: let OCR try the rendering
        log.info("text layer of page %d unreadable: %s", index + 1, exc)
        return None
    text = unicodedata.normalize("NFC", raw.replace("\x00", ""))
    visible = [ch for ch in text if not ch.isspace()]
    if len(visible) < _MIN_TEXT_LAYER_CHARS:
        return None
    clean = sum(1 for ch in visible if unicodedata.category(ch)[0] in "LNPS"
                and unicodedata.category(ch) != "Co" and ch != "\ufffd")
    if clean / len(visible) < _MIN_TEXT_LAYER_CLEAN_SHARE:
        return None
    return _tidy_ocr_text(text)


def _normalise_image(frame: Image.Image) -> tuple[Image.Image, int]:
    """Greyscale copy of the current frame with square pixels, and its dpi."""
    xdpi, ydpi = _frame_dpi(frame)
    if frame.width * frame.height > _MAX_PIXELS:
        raise _PageFailed(f"image too large: {frame.width}x{frame.height} pixels")
    image = frame.convert("L")
    if image.width * image.height == 0:
        raise _PageFailed("image has no pixels")
    if abs(xdpi - ydpi) / max(xdpi, ydpi) > 0.015:
        # Fax "standard" (204x98) and "fine" (204x196) have non-square pixels.
        height = max(1, round(image.height * xdpi / ydpi))
        image = image.resize((image.width, height), Image.Resampling.BILINEAR)
    return image, round(xdpi)


def _frame_dpi(frame: Image.Image) -> tuple[float, float]:
    dpi = frame.info.get("dpi")
    try:
        x, y = float(dpi[0]), float(dpi[1])
        if 50 <= x <= 1200 and 50 <= y <= 1200:
            return x, y
    except (TypeError, ValueError, IndexError):
        pass
    # No (or silly) resolution: guess from the width, assuming an A4/letter page.
    return (200.0, 200.0) if frame.width <= 1800 else (300.0, 300.0)


def _is_blank(ink: np.ndarray) -> bool:
    h, w = ink.shape
    h4, w4 = h - h % 4, w - w % 4
    if h4 == 0 or w4 == 0:
        return True
    cells = ink[:h4, :w4].reshape(h4 // 4, 4, w4 // 4, 4).sum(axis=(1, 3), dtype=np.int32)
    return int((cells >= 4).sum()) <= _BLANK_MAX_CELLS


def _long_runs(ink: np.ndarray, length: int) -> np.ndarray:
    """Mask of pixels inside horizontal runs of ink at least ``length`` long."""
    h, w = ink.shape
    if length > w:
        return np.zeros_like(ink)
    csum = np.zeros((h, w + 1), dtype=np.int32)
    np.cumsum(ink, axis=1, out=csum[:, 1:])
    starts = (csum[:, length:] - csum[:, :-length]) == length      # (h, w - length + 1)
    cover = np.zeros((h, w + 1), dtype=np.int32)
    cover[:, : w - length + 1] += starts
    cover[:, length:] -= starts
    return np.cumsum(cover[:, :w], axis=1) > 0


def _erase_rules(image: Image.Image, ink: np.ndarray, dpi: int) -> Image.Image:
    length = max(20, int(dpi * _RULE_MIN_INCHES))
    mask = _long_runs(ink, length) | _long_runs(ink.T, length).T
    if not mask.any():
        return image
    grown = mask.copy()                     # plus the anti-aliased fringe
    grown[1:] |= mask[:-1]
    grown[:-1] |= mask[1:]
    grown[:, 1:] |= mask[:, :-1]
    grown[:, :-1] |= mask[:, 1:]
    pixels = np.array(image)
    pixels[grown] = 255
    return Image.fromarray(pixels)


_SPACES = re.compile(r"[ \t\u00a0]{2,}")


def _tidy_ocr_text(text: str) -> str:
    """Whitespace only: trim lines, collapse space runs, drop empty edge lines."""
    lines = [_SPACES.sub(" ", line).strip() for line in text.replace("\r", "").split("\n")]
    text = "\n".join(lines)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip("\n\f ")


def _result(number: int, method: Method, text: str, started: float) -> PageResult:
    chars = sum(1 for ch in text if not ch.isspace())
    return PageResult(number, method, chars, round(time.monotonic() - started, 3), None)


def _failed(number: int, exc: Exception, started: float) -> PageResult:
    message = str(exc) if isinstance(exc, _PageFailed) else f"{type(exc).__name__}: {exc}"
    log.warning("page %d failed: %s", number, message)
    return PageResult(number, "failed", 0, round(time.monotonic() - started, 3), message)
