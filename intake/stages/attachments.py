"""Storing a message's attachments: every part as it came, typed by its bytes."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sqlmodel import Session

from intake.domain.attachments import aside_reason_ko, plan_attachments
from intake.domain.records import ParsedMail
from intake.models import InboundMessage, StoredAttachment

if TYPE_CHECKING:
    from intake.app import App

log = logging.getLogger("intake.register")


def store_attachments(session: Session, app: App, row: InboundMessage,
                      mail: ParsedMail) -> list[tuple[str, str, int, str]]:
    """Store every part as it came (archives are never unpacked), typed by its bytes.

    Parts over the size or count limits are stored too but kept aside (not read);
    returns ``(filename, content_type, size, reason)`` of those for the task mail.
    """
    limits = app.attachment_limits
    kept: list[tuple[str, str, int, str]] = []
    parts = plan_attachments(mail.attachments, limits)
    blobs = app.store.put_attachments([part.attachment.payload for part in parts])   # one sync for all
    for part, blob in zip(parts, blobs):
        att = part.attachment
        session.add(StoredAttachment(inbound_id=row.id, filename=att.filename[:255],
                                     original_filename=att.original_filename or "",
                                     content_type=part.content_type[:255], size=att.size, sha256=blob.sha256,
                                     path=str(blob.path), kept_aside=part.kept_aside,
                                     aside_reason=part.aside_reason))
        if part.kept_aside:
            kept.append((att.filename, part.content_type, att.size, aside_reason_ko(att.size, part.index, limits)))
            log.warning("%s attachment %d (%s, %d bytes) kept aside: %s", f"message #{row.id}", part.index + 1,
                        part.content_type, att.size, part.aside_reason)
    return kept
