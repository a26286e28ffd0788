"""HTML → readable plain text (stdlib ``html.parser`` only).

Drops script/style/head content, turns block elements and ``<br>`` into line
breaks, list items into ``- `` lines, decodes entities and collapses runs of
spaces and blank lines. Never raises on malformed markup.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

SKIP_TAGS = frozenset({"script", "style", "head", "title", "noscript", "template"})
BLOCK_TAGS = frozenset({
    "p", "div", "section", "article", "header", "footer", "aside", "nav", "main",
    "blockquote", "pre", "table", "tr", "ul", "ol", "dl", "dt", "dd", "form",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "address", "fieldset", "figure",
    "center", "tbody", "thead", "tfoot", "caption",
})
CELL_TAGS = frozenset({"td", "th"})


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self.skip_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in SKIP_TAGS:
            self.skip_depth += 1
        elif tag == "br":
            self.chunks.append("\n")
        elif tag == "li":
            self.chunks.append("\n- ")
        elif tag in CELL_TAGS:
            self.chunks.append("\t")
        elif tag in BLOCK_TAGS:
            self.chunks.append("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br" or tag in BLOCK_TAGS:
            self.chunks.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIP_TAGS:
            self.skip_depth = max(0, self.skip_depth - 1)
        elif tag in BLOCK_TAGS:
            self.chunks.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skip_depth:
            self.chunks.append(re.sub(r"[ \t\r\n\f\v]+", " ", data))


def _tidy_lines(text: str) -> str:
    lines = [re.sub(r"[ \t\u00a0]+", " ", line).strip() for line in text.split("\n")]
    joined = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", joined).strip()


def html_to_text(html: str) -> str:
    """Readable text of an HTML document or fragment."""
    collector = _TextCollector()
    try:
        collector.feed(html or "")
        collector.close()
    except Exception:  # html.parser is lenient; guard against odd inputs anyway
        pass
    return _tidy_lines("".join(collector.chunks))
