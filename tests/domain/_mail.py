"""Build ParsedMail records directly for pure unit tests."""

from __future__ import annotations

from datetime import datetime, timezone

from intake.domain.records import Attachment, ParsedMail

RECEIVED = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


def make_mail(
    *,
    subject: str = "",
    text: str = "",
    from_address: str = "customer@example.co.kr",
    from_name: str = "",
    reply_to: str | None = None,
    headers: dict[str, str] | list[tuple[str, str]] | None = None,
    content_type: str = "text/plain",
    in_reply_to: str | None = None,
    references: tuple[str, ...] = (),
    attachments: tuple[Attachment, ...] = (),
    message_id: str | None = "<m1@example.co.kr>",
) -> ParsedMail:
    hdrs = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
    hdrs = [(k.lower(), v) for k, v in hdrs]
    return ParsedMail(
        message_id=message_id,
        in_reply_to=in_reply_to,
        references=references,
        from_address=from_address.lower(),
        from_name=from_name,
        reply_to=reply_to,
        to=("consulting@sonosa.or.kr",),
        cc=(),
        subject=subject,
        text=text,
        html=None,
        date=RECEIVED,
        received_at=RECEIVED,
        content_type=content_type,
        headers=tuple(hdrs),
        attachments=attachments,
    )


def att(name: str, content_type: str, payload: bytes = b"x") -> Attachment:
    return Attachment(filename=name, original_filename=name, content_type=content_type, payload=payload)
