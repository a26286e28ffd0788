"""Render Korean text to an A4 PDF (fax acknowledgements, printable reply letters).

Uses fpdf2, which embeds a subset of the TrueType font together with a
ToUnicode map, so Hangul prints correctly on the fax gateway and the text can
be extracted back (checked with pypdf and by OCR'ing the rendered page in
tests/adapters/test_pdf_render.py).  Long text wraps and flows onto further
pages.

Font: ``font_path`` argument, else the ``INTAKE_PDF_FONT`` environment
variable, else NanumGothic from Debian's fonts-nanum.  A bold face next to the
regular one (``NanumGothicBold.ttf``) is used for the title when present.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from fpdf import FPDF

from intake.errors import IntakeError

# fontTools warns about NanumGothic's hinting-source tables (TSI*) it drops when
# subsetting; harmless, and noisy in the daemon's log.
logging.getLogger("fontTools.subset").setLevel(logging.ERROR)

FONT_ENV = "INTAKE_PDF_FONT"
DEFAULT_FONT_CANDIDATES = (
    Path("/usr/share/fonts/truetype/nanum/NanumGothic.ttf"),
    Path("/usr/share/fonts/truetype/nanum/NanumBarunGothic.ttf"),
    Path("/usr/share/fonts/truetype/nanum/NanumMyeongjo.ttf"),
)

_MARGIN_MM = 20
_TITLE_PT = 16
_BODY_PT = 11
_LINE_HEIGHT = 1.6            # multiple of the font size


class FontNotFoundError(IntakeError):
    """No usable Korean TrueType font: install fonts-nanum or configure a path."""


def find_font(font_path: Path | str | None = None) -> Path:
    """The font to use: explicit path, then $INTAKE_PDF_FONT, then fonts-nanum."""
    if font_path is not None:
        candidates: tuple[Path, ...] = (Path(font_path),)
    elif os.environ.get(FONT_ENV):
        candidates = (Path(os.environ[FONT_ENV]),)
    else:
        candidates = DEFAULT_FONT_CANDIDATES
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise FontNotFoundError(
        "no Korean TrueType font found (tried "
        + ", ".join(str(c) for c in candidates)
        + f"); install Debian package fonts-nanum or set {FONT_ENV}"
    )


def _bold_variant(regular: Path) -> Path | None:
    bold = regular.with_name(regular.stem + "Bold" + regular.suffix)
    return bold if bold.is_file() else None


def render_text_pdf(title: str, body: str, *, font_path: Path | None = None) -> bytes:
    """A4 PDF with ``title`` in bold and ``body`` wrapped below it.

    Blank lines in ``body`` are kept as paragraph breaks.  Returns PDF bytes.
    """
    regular = find_font(font_path)
    bold = _bold_variant(regular)

    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.set_margins(_MARGIN_MM, _MARGIN_MM, _MARGIN_MM)
    pdf.set_auto_page_break(auto=True, margin=_MARGIN_MM)
    pdf.set_title(title)
    pdf.set_creator("intake")
    pdf.add_font("Body", "", str(regular))
    pdf.add_font("Body", "B", str(bold or regular))
    pdf.add_page()

    width = pdf.w - pdf.l_margin - pdf.r_margin
    if title:
        pdf.set_font("Body", "B", _TITLE_PT)
        pdf.multi_cell(width, _TITLE_PT * _LINE_HEIGHT * 0.3528, title,
                       new_x="LMARGIN", new_y="NEXT", align="L")
        pdf.ln(4)

    pdf.set_font("Body", "", _BODY_PT)
    line_height = _BODY_PT * _LINE_HEIGHT * 0.3528          # pt -> mm
    for paragraph in body.replace("\r\n", "\n").split("\n"):
        if paragraph.strip():
            pdf.multi_cell(width, line_height, paragraph.rstrip(),
                           new_x="LMARGIN", new_y="NEXT", align="L")
        else:
            pdf.ln(line_height)
    return bytes(pdf.output())


def render_mail_pdf(rendered, *, font_path: Path | None = None) -> bytes:
    """A rendered template (``RenderedMail``) as a PDF: its first text line as the title,
    the rest as the body (the fax acknowledgement, the printable reply letter)."""
    lines = rendered.text.replace("\r\n", "\n").split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    title = lines[0].strip() if lines else ""
    body = "\n".join(lines[1:]).strip("\n")
    return render_text_pdf(title, body, font_path=font_path)
