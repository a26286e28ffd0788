"""OCR stage: read the page attachments of fax and post messages.

Its own stage with its own claim (``intake.pipeline``), so page reading never
holds up e-mail. Runs outside any transaction (``read_pages``) with a time limit per page and a
page limit per message; only the result is written (``store_pages``). A
message whose pages cannot be read still goes on to registration, flagged
"needs manual reading".
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlmodel import Session

from intake.domain.attachments import is_page, plan_attachments
from intake.domain.mailparse import parse_message
from intake.models import InboundMessage
from intake.stages.rows import audit

if TYPE_CHECKING:
    from intake.app import App

PAGE_LIMIT = 20
SECONDS_PER_PAGE = 60.0


@dataclass(frozen=True)
class PagesRead:
    text: str
    needs_manual_reading: bool
    report: list[dict]


def read_pages(app: App, row: InboundMessage) -> PagesRead:
    """The pure half (no transaction open): read the pages with ``app.page_reader()``."""
    reader = app.page_reader()
    mail = parse_message(app.store.read(row.raw_path), row.received_at)
    texts: list[str] = []
    report: list[dict] = []
    manual = False
    pages_left = PAGE_LIMIT
    for part in plan_attachments(mail.attachments, app.attachment_limits):
        att = part.attachment
        if not is_page(att):
            continue
        if part.kept_aside:       # over the size/count limits: stored, named in the task, never read
            report.append({"file": att.filename, "kept_aside": part.aside_reason, "problems": [], "pages": []})
            manual = True
            continue
        if pages_left <= 0:
            continue
        result = reader.read_attachment(att.payload, att.content_type, att.filename,
                                        page_limit=pages_left, seconds_per_page=SECONDS_PER_PAGE)
        pages_left -= len(result.pages)
        manual = manual or result.needs_manual_reading
        if result.text.strip():
            texts.append(result.text)
        report.append({"file": att.filename, "problems": list(result.problems),
                       "pages": [{"page": p.page, "method": p.method, "chars": p.chars,
                                  "seconds": round(p.seconds, 2), "error": p.error} for p in result.pages]})
    if not texts:
        manual = True
    return PagesRead("\n\f\n".join(texts), manual, report)


def store_pages(app: App, session: Session, row: InboundMessage, pages: PagesRead, now) -> str:
    """The effect half, inside the message's transaction: the text, and on to the process stage."""
    row.page_text = pages.text
    row.needs_manual_reading = pages.needs_manual_reading
    row.ocr_report = json.dumps(pages.report, ensure_ascii=False)
    row.stage = "ocr-done"
    row.next_attempt_at = now
    audit(session, now, "pages-read", inbound_id=row.id,
          detail={"chars": len(pages.text), "needs_manual_reading": pages.needs_manual_reading,
                  "files": len(pages.report)})
    flag = " (needs manual reading)" if pages.needs_manual_reading else ""
    return f"- pages read: {len(pages.text)} characters{flag}"
