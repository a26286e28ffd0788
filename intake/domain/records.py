"""Typed records passed between pipeline stages.

Everything here is immutable plain data: no I/O, no ORM objects. Stages receive
and return these; adapters convert them to and from database rows, files and
network messages.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime


class Kind(str, enum.Enum):
    CASE = "case"
    FOLLOW_UP = "follow-up"
    AUTO_REPLY = "auto-reply"
    BOUNCE = "bounce"
    SPAM = "spam"


class Channel(str, enum.Enum):
    EMAIL = "email"
    FAX = "fax"
    POST = "post"


@dataclass(frozen=True)
class Attachment:
    """One attachment as decoded from a message.

    ``filename`` is already sanitised (no path separators, no traversal, no
    control characters); ``original_filename`` is what the sender wrote.
    """

    filename: str
    original_filename: str
    content_type: str
    payload: bytes = field(repr=False)
    content_id: str | None = None

    @property
    def size(self) -> int:
        return len(self.payload)


@dataclass(frozen=True)
class ParsedMail:
    """A message after decoding. Header values are decoded unicode strings."""

    message_id: str | None          # with angle brackets, e.g. "<abc@x>", or None
    in_reply_to: str | None
    references: tuple[str, ...]
    from_address: str               # lower-cased addr-spec, "" when absent
    from_name: str
    reply_to: str | None            # Reply-To addr-spec when present
    to: tuple[str, ...]
    cc: tuple[str, ...]
    subject: str                    # single line: CR/LF and other controls removed
    text: str                       # text body; HTML converted to text when no text part
    html: str | None
    date: datetime | None           # Date header, aware, as written by the sender
    received_at: datetime           # server arrival time (INTERNALDATE), aware, Asia/Seoul
    content_type: str               # top-level content type, lower-case, e.g. "multipart/report"
    headers: tuple[tuple[str, str], ...]   # (lower-case name, decoded value) in order
    attachments: tuple[Attachment, ...] = ()
    defects: tuple[str, ...] = ()   # what was noticed while decoding (charset fallbacks etc.)

    def header(self, name: str) -> str | None:
        """First value of header ``name`` (case-insensitive), or None."""
        wanted = name.lower()
        for key, value in self.headers:
            if key == wanted:
                return value
        return None

    def header_all(self, name: str) -> tuple[str, ...]:
        wanted = name.lower()
        return tuple(value for key, value in self.headers if key == wanted)


@dataclass(frozen=True)
class Evidence:
    """One reason behind a decision, shown to staff ("분류 근거") and in inspect."""

    rule: str        # rule id, e.g. "kind.auto-submitted" or "category.visit-certificate.kw:방북"
    detail: str      # human-readable: what matched, where
    score: float = 0.0


@dataclass(frozen=True)
class KindDecision:
    kind: Kind
    evidence: tuple[Evidence, ...] = ()
    case_ref: str | None = None          # referenced case for follow-up / auto-reply / bounce
    failed_recipient: str | None = None  # bounces
    bounce_status: str | None = None     # bounces, e.g. "5.1.1"


@dataclass(frozen=True)
class ChannelDecision:
    channel: Channel
    fax_number: str | None = None
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True)
class Classification:
    category: str                 # contract ids: trade-approval-review, visit-certificate, ...
    department: str               # department id: business | support-center | research
    confidence: float
    evidence: tuple[Evidence, ...] = ()
    low_confidence: bool = False


@dataclass(frozen=True)
class StaffMember:
    id: str
    name: str
    department: str
    phone: str
    email: str
    active: bool = True


@dataclass(frozen=True)
class Department:
    id: str
    name: str
    head: str


@dataclass(frozen=True)
class Route:
    department: str
    staff_id: str
    reason: str


@dataclass(frozen=True)
class DeadlineResult:
    policy: str
    start: datetime       # when the clock started (aware)
    due: datetime         # aware, Asia/Seoul


@dataclass(frozen=True)
class Contact:
    """Contact details read from a message's text or pages."""

    phones: tuple[str, ...] = ()
    fax_numbers: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    name: str | None = None
    preferred_reply: str | None = None   # "phone" | "fax" | "email" | "post" | None


@dataclass(frozen=True)
class RenderedMail:
    """A rendered message ready for the outbox (headers not yet encoded)."""

    template: str
    template_version: str   # content hash of the template files used
    subject: str
    text: str
    html: str | None = None


@dataclass(frozen=True)
class CaseFacts:
    """What a template may know about a case (plain data, never an ORM row)."""

    ref: str                      # "2026-000123"
    channel: Channel
    category: str                 # category id
    category_label: str           # Korean service name, e.g. "방북증명서 발급"
    subject: str                  # customer's subject (single line)
    customer_name: str
    customer_address: str | None  # where an e-mail answer goes
    customer_phone: str | None
    customer_fax: str | None
    received_at: datetime         # aware, Asia/Seoul
    due_at: datetime              # aware, Asia/Seoul
    policy: str                   # deadline policy id
    text: str                     # request text (for staff mail; may be long)
    language: str = "ko"          # "ko" | "en" | "mixed"
    evidence: tuple[Evidence, ...] = ()
    pii: bool = False
    needs_manual_reading: bool = False   # fax/scan pages that OCR could not read


@dataclass(frozen=True)
class OrgFacts:
    name: str
    intake_address: str
    domain: str


@dataclass(frozen=True)
class MessageDecision:
    """Every decision about one message (what ``intake inspect`` prints, typed)."""

    kind: KindDecision
    channel: ChannelDecision
    classification: Classification | None     # new cases only
    reply_to: str | None                      # where an e-mail answer goes
    contact: Contact | None
    phone: str | None                         # the customer's phone, best guess
    language: str
    pii: bool
    subject: str                              # the request's subject (page title for fax/post)
    body: str                                 # the request text (quotes stripped / page text)
    evidence: tuple[Evidence, ...] = ()       # reply-to and other decisions' evidence
