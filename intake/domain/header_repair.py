"""Repairs of a raw header block before parsing (pure; issue 15 item 5).

Some senders fold a long header without the leading whitespace RFC 5322 requires (a long
base64 ``X-Brightmail-Tracker``, a SpamAssassin ``tests=`` list). A parser then ends the
header block at that line and every later header (Subject, From) is lost. A line inside the
header block that is neither ``Name: value`` nor a continuation is taken as a continuation.
"""

from __future__ import annotations

import re

_HEADER = re.compile(rb"^[!-9;-~]+[ \t]*:")
_MAX_HEADER_BYTES = 256 * 1024


def refold_bare_continuations(raw: bytes, defects: list[str]) -> bytes:
    """Indent lines of the header block that lack their folding whitespace."""
    head_end = _header_end(raw)
    if head_end is None:
        return raw
    lines = raw[:head_end].split(b"\n")
    fixed = 0
    for i in range(1, len(lines)):
        line = lines[i]
        if not line.strip(b"\r") or line[:1] in (b" ", b"\t") or _HEADER.match(line):
            continue
        lines[i] = b" " + line
        fixed += 1
    if not fixed:
        return raw
    defects.append(f"header-refolded: {fixed} header line(s) without folding whitespace taken as continuations")
    return b"\n".join(lines) + raw[head_end:]


def _header_end(raw: bytes) -> int | None:
    """Offset of the blank line ending the header block (within the first 256 KiB)."""
    m = re.search(rb"\r?\n\r?\n", raw[:_MAX_HEADER_BYTES])
    if not m or not _HEADER.match(raw):
        return None
    return m.start()
