"""Caps on how much of one message the pure core reads: bounded work on hostile input.

Parsing and deciding are linear at best and quadratic at worst in what they read
(keyword hits, encoded words, HTML tags). A customer's real request is never
megabytes long, so past these caps the core reads a bounded prefix and says so:
each cap that bit is a defect ``bounded: …`` on the parsed mail, which the
process stage copies into the message's recorded decision (``bounds``) and
``intake inspect`` prints. The raw message is always kept whole in the store.
"""

from __future__ import annotations

import dataclasses

from intake.domain.records import ParsedMail

MAX_HEADERS = 500                 # decoded header fields kept (in order)
MAX_HEADER_CHARS = 8192           # of one raw header value, before encoded words are decoded
MAX_SUBJECT_CHARS = 1000          # of the decoded subject
MAX_TEXT_CHARS = 262_144          # of the body text classified and searched (about 100 A4 pages)
MAX_HTML_CHARS = 1_000_000        # of the HTML turned into text / kept
BOUNDED = "bounded: "


def _note(defects: list[str], what: str, size: int, cap: int) -> None:
    defects.append(f"{BOUNDED}{what} has {size} chars, only the first {cap} are read")


def bounded_prefix(value: str, cap: int, what: str, defects: list[str]) -> str:
    """``value`` cut to ``cap`` chars; records a ``bounded:`` defect when it was cut."""
    if len(value) <= cap:
        return value
    _note(defects, what, len(value), cap)
    return value[:cap]


def bounded_headers(items, defects: list[str]) -> list:
    """The first ``MAX_HEADERS`` header fields of a header storm."""
    items = list(items)
    if len(items) <= MAX_HEADERS:
        return items
    defects.append(f"{BOUNDED}{len(items)} header fields, only the first {MAX_HEADERS} are decoded")
    return items[:MAX_HEADERS]


def bound_mail(mail: ParsedMail) -> ParsedMail:
    """The parsed mail with its subject, text and HTML cut to the caps (noted in ``defects``)."""
    defects = list(mail.defects)
    subject = bounded_prefix(mail.subject, MAX_SUBJECT_CHARS, "the subject", defects)
    text = bounded_prefix(mail.text, MAX_TEXT_CHARS, "the body text", defects)
    html = bounded_prefix(mail.html, MAX_HTML_CHARS, "the HTML body", defects) if mail.html else mail.html
    if len(defects) == len(mail.defects):
        return mail
    return dataclasses.replace(mail, subject=subject, text=text, html=html, defects=tuple(defects))


def bounds_evidence(mail: ParsedMail) -> list[str]:
    """The caps that bit on this mail, for the recorded decision."""
    return [d[len(BOUNDED):] for d in mail.defects if d.startswith(BOUNDED)]
