"""Database tables (SQLModel). Every state that must survive a crash is a row here.

Schema changes are Alembic migrations in ``intake/migrations``; keep the two in
step (``tests/test_migrations.py`` compares them).
"""

from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import Column, Index, LargeBinary, Text, UniqueConstraint, false
from sqlmodel import Field, SQLModel

from intake.model_types import UtcDateTime


def _ts(nullable: bool = False, index: bool = False) -> Column:
    return Column(UtcDateTime(), nullable=nullable, index=index)


class MailboxState(SQLModel, table=True):
    """How far the fetcher got in one (mailbox, UIDVALIDITY) generation."""

    __tablename__ = "mailbox_state"
    __table_args__ = (UniqueConstraint("mailbox", "uidvalidity", name="uq_mailbox_state_generation"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    mailbox: str = Field(max_length=255)
    uidvalidity: int
    last_uid: int = 0
    updated_at: datetime = Field(sa_column=_ts())


def field_defaults(model: type[SQLModel]) -> dict:
    """The declared defaults of ``model``'s optional fields (not the primary key): what a Core insert,
    which bypasses the model, must still write for a new row."""
    return {name: f.default for name, f in model.model_fields.items() if not f.is_required() and name != "id"}


class InboundMessage(SQLModel, table=True):
    """One fetched message. ``stage`` is its state machine; the raw bytes are on disk."""

    __tablename__ = "inbound_message"
    __table_args__ = (UniqueConstraint("content_hash", name="uq_inbound_content_hash"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    mailbox: str = Field(max_length=255)
    uidvalidity: int
    uid: int
    message_id: Optional[str] = Field(default=None, max_length=998, index=True)
    content_hash: str = Field(max_length=64)
    raw_path: str = Field(max_length=1024)
    size: int
    received_at: datetime = Field(sa_column=_ts())       # IMAP INTERNALDATE
    fetched_at: datetime = Field(sa_column=_ts())
    server_done: bool = False                            # flagged / moved on the server
    stage: str = Field(default="received", max_length=32, index=True)  # received|ocr|ocr-done|done|quarantine|set-aside
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_column=_ts(index=True))
    claimed_until: Optional[datetime] = Field(default=None, sa_column=_ts(nullable=True))
    claimed_by: Optional[str] = Field(default=None, max_length=128)   # the worker holding the claim
    claim_count: int = Field(default=0, sa_column_kwargs={"server_default": "0"})  # claims not finished: the process died on it (intake.claims)
    last_error: Optional[str] = Field(default=None, sa_column=Column(Text, nullable=True))
    kind: Optional[str] = Field(default=None, max_length=32)
    channel: Optional[str] = Field(default=None, max_length=16)
    subject: Optional[str] = Field(default=None, sa_column=Column(Text, nullable=True))
    from_address: Optional[str] = Field(default=None, max_length=320, index=True)
    case_id: Optional[int] = Field(default=None, foreign_key="intake_case.id", index=True)
    decision: Optional[str] = Field(default=None, sa_column=Column(Text, nullable=True))  # JSON evidence
    page_text: Optional[str] = Field(default=None, sa_column=Column(Text, nullable=True))  # fax/post OCR
    needs_manual_reading: bool = False
    ocr_report: Optional[str] = Field(default=None, sa_column=Column(Text, nullable=True))  # JSON per page
    processed_at: Optional[datetime] = Field(default=None, sa_column=_ts(nullable=True))


class RefSequence(SQLModel, table=True):
    """Per-year case number sequence (claimed with UPDATE … RETURNING)."""

    __tablename__ = "ref_sequence"

    year: int = Field(primary_key=True)
    last_value: int = 0


class Case(SQLModel, table=True):
    __tablename__ = "intake_case"
    # Routing counts the open cases of a department's staff for each new case (open_case_counts).
    __table_args__ = (Index("ix_intake_case_handler_id_status", "handler_id", "status"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    ref: str = Field(max_length=16, unique=True)
    status: str = Field(default="open", max_length=16, index=True)   # open|answered|closed
    channel: str = Field(max_length=16)
    category: str = Field(max_length=64)
    department: str = Field(max_length=64)
    handler_id: str = Field(max_length=64, index=True)
    subject: str = Field(sa_column=Column(Text, nullable=False))
    customer_name: str = Field(default="", max_length=255)
    customer_address: Optional[str] = Field(default=None, max_length=320, index=True)
    customer_phone: Optional[str] = Field(default=None, max_length=64)
    customer_fax: Optional[str] = Field(default=None, max_length=64)
    language: str = Field(default="ko", max_length=8)
    pii: bool = False
    received_at: datetime = Field(sa_column=_ts())
    registered_at: datetime = Field(sa_column=_ts())
    policy: str = Field(max_length=32)
    due_at: datetime = Field(sa_column=_ts(index=True))
    text: str = Field(default="", sa_column=Column(Text, nullable=False))
    evidence: Optional[str] = Field(default=None, sa_column=Column(Text, nullable=True))   # JSON
    # Staff work by e-mail: a reply to the task carrying this token, from the handler's
    # registered address, is a command (intake.stages.staff_mail).
    task_token: Optional[str] = Field(default=None, max_length=64, index=True)
    preferred_reply: Optional[str] = Field(default=None, max_length=16)   # phone|fax|email|post as stated
    overdue: bool = Field(default=False, sa_column_kwargs={"server_default": false()})  # a clock ran past its due time unanswered
    answered_at: Optional[datetime] = Field(default=None, sa_column=_ts(nullable=True))
    closed_at: Optional[datetime] = Field(default=None, sa_column=_ts(nullable=True))


class CaseClock(SQLModel, table=True):
    """One charter clock of a case (reply, phone-call, review, issuance, error-contact, …).

    The due time, the paused intervals and the next moment the sweeper must
    look at it are columns, so a restart or a second instance resumes exactly
    where the first left off. ``intake.domain.clocks`` computes; this stores.
    """

    __tablename__ = "case_clock"

    id: Optional[int] = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="intake_case.id", index=True)
    policy: str = Field(max_length=32)
    state: str = Field(default="running", max_length=16, index=True)   # running|paused|met|cancelled
    started_at: datetime = Field(sa_column=_ts())           # the start event (receipt, approval, error)
    due_at: Optional[datetime] = Field(default=None, sa_column=_ts(nullable=True))  # None while paused
    pauses: str = Field(default="[]", sa_column=Column(Text, nullable=False))        # JSON [[begin, end|null], …]
    extension_date: Optional[str] = Field(default=None, max_length=10)              # YYYY-MM-DD (once)
    extension_reason: Optional[str] = Field(default=None, sa_column=Column(Text, nullable=True))
    stopped_at: Optional[datetime] = Field(default=None, sa_column=_ts(nullable=True))
    overdue_at: Optional[datetime] = Field(default=None, sa_column=_ts(nullable=True))
    next_check_at: Optional[datetime] = Field(default=None, sa_column=_ts(nullable=True, index=True))
    created_at: datetime = Field(sa_column=_ts())


class Notice(SQLModel, table=True):
    """The ledger of timed mail (reminders, escalations, progress notices, digests, warnings).

    ``key`` names the event exactly once (e.g. ``remind-half:17:2026-11-27T09:00:00+00:00``);
    the unique constraint makes a second sweeper, or a rerun after a crash,
    unable to send it twice. Written in the same transaction as its outbox row.
    """

    __tablename__ = "notice"
    __table_args__ = (UniqueConstraint("key", name="uq_notice_key"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    key: str = Field(max_length=255)
    kind: str = Field(max_length=32)
    case_id: Optional[int] = Field(default=None, foreign_key="intake_case.id", index=True)
    clock_id: Optional[int] = Field(default=None, foreign_key="case_clock.id", index=True)
    recipient: Optional[str] = Field(default=None, max_length=320)
    outbox_id: Optional[int] = Field(default=None, foreign_key="outbox.id")
    at: datetime = Field(sa_column=_ts())


class Outbox(SQLModel, table=True):
    """A mail to send, written in the same transaction as the case it belongs to."""

    __tablename__ = "outbox"
    # acks_sent_since (loop protection) looks rows up by recipient and time, once per new case.
    __table_args__ = (Index("ix_outbox_rcpt_to_created_at", "rcpt_to", "created_at"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    case_id: Optional[int] = Field(default=None, foreign_key="intake_case.id", index=True)
    purpose: str = Field(max_length=32)                   # acknowledgement|staff-task|...
    message_id: str = Field(max_length=998, unique=True)
    mail_from: str = Field(max_length=320)
    rcpt_to: str = Field(sa_column=Column(Text, nullable=False))   # comma-separated addr-specs
    raw: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    attach_raw_path: Optional[str] = Field(default=None, max_length=1024)  # original message to attach
    template: Optional[str] = Field(default=None, max_length=64)
    template_version: Optional[str] = Field(default=None, max_length=64)
    status: str = Field(default="pending", max_length=16, index=True)  # pending|sending|sent|failed
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_column=_ts(index=True))
    claimed_until: Optional[datetime] = Field(default=None, sa_column=_ts(nullable=True))
    claimed_by: Optional[str] = Field(default=None, max_length=128)   # the worker holding the claim
    last_error: Optional[str] = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(sa_column=_ts())
    sent_at: Optional[datetime] = Field(default=None, sa_column=_ts(nullable=True))


class StoredAttachment(SQLModel, table=True):
    __tablename__ = "attachment"

    id: Optional[int] = Field(default=None, primary_key=True)
    inbound_id: int = Field(foreign_key="inbound_message.id", index=True)
    filename: str = Field(max_length=255)
    original_filename: str = Field(sa_column=Column(Text, nullable=False))
    content_type: str = Field(max_length=255)
    size: int
    sha256: str = Field(max_length=64)
    path: str = Field(max_length=1024)
    kept_aside: bool = Field(default=False, sa_column_kwargs={"server_default": false()})  # over the configured size/count limits: stored, not processed
    aside_reason: Optional[str] = Field(default=None, sa_column=Column(Text, nullable=True))


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"

    id: Optional[int] = Field(default=None, primary_key=True)
    case_id: Optional[int] = Field(default=None, foreign_key="intake_case.id", index=True)
    inbound_id: Optional[int] = Field(default=None, foreign_key="inbound_message.id", index=True)
    at: datetime = Field(sa_column=_ts())
    actor: str = Field(max_length=64)        # "system" or a staff id
    event: str = Field(max_length=32)        # received|classified|routed|acknowledged|...
    detail: Optional[str] = Field(default=None, sa_column=Column(Text, nullable=True))  # JSON


class TemplateVersion(SQLModel, table=True):
    """Every template version that rendered a sent mail (content kept for audits)."""

    __tablename__ = "template_version"
    __table_args__ = (UniqueConstraint("name", "version", name="uq_template_version"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(max_length=64)
    version: str = Field(max_length=64)
    content: str = Field(sa_column=Column(Text, nullable=False))
    first_used_at: datetime = Field(sa_column=_ts())


class Correction(SQLModel, table=True):
    """A staff correction of an automatic decision: who overruled what, when and why."""

    __tablename__ = "correction"

    id: Optional[int] = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="intake_case.id", index=True)
    at: datetime = Field(sa_column=_ts())
    actor: str = Field(max_length=64)        # a staff id, or "cli:<user>"
    kind: str = Field(max_length=16)         # reassign | reclassify
    from_value: str = Field(max_length=64)   # handler id (reassign) or category id (reclassify)
    to_value: str = Field(max_length=64)
    reason: str = Field(sa_column=Column(Text, nullable=False))


# ------------------------------------------------------------------ satisfaction survey (migration 0006)


class Survey(SQLModel, table=True):
    """One satisfaction survey per case (issue 13): queued by the sweep, answered by reply or link.

    ``token`` is in the survey mail's Reply-To (``consulting+<token>@…``) and, signed per score,
    in its one-click links. One answer per survey: an answered row refuses any further one.
    """

    __tablename__ = "survey"

    id: Optional[int] = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="intake_case.id", unique=True)
    token: str = Field(max_length=64, unique=True)
    recipient: str = Field(max_length=320, index=True)
    state: str = Field(default="sent", max_length=16, index=True)   # sent|answered|staff|expired
    sent_at: datetime = Field(sa_column=_ts(index=True))
    expires_at: datetime = Field(sa_column=_ts())
    outbox_id: Optional[int] = Field(default=None, foreign_key="outbox.id")
    score: Optional[int] = None                                      # 1 (매우 불만족) .. 5 (매우 만족)
    comment: Optional[str] = Field(default=None, sa_column=Column(Text, nullable=True))
    answered_at: Optional[datetime] = Field(default=None, sa_column=_ts(nullable=True))
    answered_via: Optional[str] = Field(default=None, max_length=16)  # reply|link


class SurveyOptOut(SQLModel, table=True):
    """A customer who asked for no more surveys ("수신 거부")."""

    __tablename__ = "survey_opt_out"

    id: Optional[int] = Field(default=None, primary_key=True)
    address: str = Field(max_length=320, unique=True)
    at: datetime = Field(sa_column=_ts())
    reason: str = Field(default="", sa_column=Column(Text, nullable=False))

# The web console's tables (sign-in, sessions, template edits, roster and calendar changes).
from intake.web import tables as _web_tables  # noqa: E402,F401  (registers them; migration 0007)

# ------------------------------------------------------------------ operators and privacy (0008)


class PurgeMark(SQLModel, table=True):
    """A case or message whose personal data the retention purge removed (intake.stages.purge).

    A row of its own rather than a column on the busy tables: written once per purged item, and
    what is left of the item (dates, category, channel, clocks, audit event kinds) says the rest."""

    __tablename__ = "purge_mark"
    __table_args__ = (UniqueConstraint("case_id", name="uq_purge_mark_case"),
                      UniqueConstraint("inbound_id", name="uq_purge_mark_inbound"))

    id: Optional[int] = Field(default=None, primary_key=True)
    case_id: Optional[int] = Field(default=None, foreign_key="intake_case.id")
    inbound_id: Optional[int] = Field(default=None, foreign_key="inbound_message.id")
    purged_at: datetime = Field(sa_column=_ts())
    retention_years: int
    counts: str = Field(sa_column=Column(Text, nullable=False))     # JSON: what was removed


class AlertCondition(SQLModel, table=True):
    """One episode of an operator alert (intake.stages.alerts): raised once, mailed once, until it clears."""

    __tablename__ = "alert_condition"
    __table_args__ = (Index("ix_alert_condition_key_cleared", "key", "cleared_at"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    key: str = Field(max_length=128)           # e.g. imap-unreachable, set-aside:17, overdue-away:42
    raised_at: datetime = Field(sa_column=_ts())
    cleared_at: Optional[datetime] = Field(default=None, sa_column=_ts(nullable=True))
    detail: Optional[str] = Field(default=None, sa_column=Column(Text, nullable=True))
    notice_id: Optional[int] = Field(default=None, foreign_key="notice.id")


class Worker(SQLModel, table=True):
    """A running intake process (``App.worker_id``, host:pid) and its last sign of life.

    A claim (``inbound_message`` / ``outbox`` ``claimed_by``) whose worker has no row, or a row
    not refreshed for ``intake.workers.STALE_SECONDS``, is free at once: a dead daemon's work is
    taken over without waiting for the claim to expire (``intake/workers.py``)."""

    __tablename__ = "intake_worker"

    id: str = Field(primary_key=True, max_length=128)      # host:pid
    host: str = Field(max_length=255, index=True)
    pid: int
    started_at: datetime = Field(sa_column=_ts())
    heartbeat_at: datetime = Field(sa_column=_ts())
