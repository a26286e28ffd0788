"""Tables of the web console (migration 0007): sign-in links, sessions, sign-in attempts,
template edits, and the roster and calendar changes admins make in the browser.

Tokens are never stored: only their keyed hash (HMAC with the console secret), so a copy of
the database alone neither signs anyone in nor continues a session.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Optional

from sqlalchemy import Column, Date, Text
from sqlmodel import Field, SQLModel

from intake.model_types import UtcDateTime


def _ts(nullable: bool = False, index: bool = False) -> Column:
    return Column(UtcDateTime(), nullable=nullable, index=index)


class WebSignInLink(SQLModel, table=True):
    """A single-use sign-in link mailed to a staff member (valid 15 minutes)."""

    __tablename__ = "web_sign_in_link"

    id: Optional[int] = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    staff_id: str = Field(max_length=64, index=True)
    created_at: datetime = Field(sa_column=_ts())
    expires_at: datetime = Field(sa_column=_ts())
    used_at: Optional[datetime] = Field(default=None, sa_column=_ts(nullable=True))
    outbox_id: Optional[int] = Field(default=None, foreign_key="outbox.id")


class WebSignInAttempt(SQLModel, table=True):
    """Every sign-in request (known address or not), for the rate limits: keyed hashes only."""

    __tablename__ = "web_sign_in_attempt"

    id: Optional[int] = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=_ts(index=True))
    address_hash: str = Field(max_length=64, index=True)
    client_hash: str = Field(max_length=64, index=True)
    outcome: str = Field(max_length=16)          # mailed | unknown | limited


class WebSession(SQLModel, table=True):
    """A signed-in browser. Revoked or expired rows sign nobody in."""

    __tablename__ = "web_session"

    id: Optional[int] = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    staff_id: str = Field(max_length=64, index=True)
    created_at: datetime = Field(sa_column=_ts())
    expires_at: datetime = Field(sa_column=_ts())
    last_seen_at: datetime = Field(sa_column=_ts())
    revoked_at: Optional[datetime] = Field(default=None, sa_column=_ts(nullable=True))


class WebTemplateEdit(SQLModel, table=True):
    """A template version saved in the browser (who, when, what); rollback saves an old one again."""

    __tablename__ = "web_template_edit"

    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, index=True)
    language: str = Field(default="ko", max_length=8)
    part: str = Field(default="txt", max_length=8)          # txt | html
    version: str = Field(max_length=64)                     # the store's version after the save
    content: str = Field(sa_column=Column(Text, nullable=False))
    actor: str = Field(max_length=64)
    at: datetime = Field(sa_column=_ts())
    note: str = Field(default="", max_length=255)           # "saved" | "rollback to #N"


class WebAbsence(SQLModel, table=True):
    """An absence entered in the console: while away, new cases and reminders go to the delegate."""

    __tablename__ = "web_absence"

    id: Optional[int] = Field(default=None, primary_key=True)
    staff_id: str = Field(max_length=64, index=True)
    first_day: date = Field(sa_column=Column(Date, nullable=False))
    last_day: date = Field(sa_column=Column(Date, nullable=False))
    delegate_id: str = Field(max_length=64)
    actor: str = Field(max_length=64)
    at: datetime = Field(sa_column=_ts())
    removed_at: Optional[datetime] = Field(default=None, sa_column=_ts(nullable=True))


class WebCalendarDay(SQLModel, table=True):
    """An extra closed day or extra working day entered in the console."""

    __tablename__ = "web_calendar_day"

    id: Optional[int] = Field(default=None, primary_key=True)
    day: date = Field(sa_column=Column(Date, nullable=False, index=True))
    kind: str = Field(max_length=16)                        # closed | working
    note: str = Field(default="", max_length=255)
    actor: str = Field(max_length=64)
    at: datetime = Field(sa_column=_ts())
    removed_at: Optional[datetime] = Field(default=None, sa_column=_ts(nullable=True))


SEARCH_TABLE = "case_search"   # SQLite FTS5 (trigram) table kept by triggers; not a model (migration 0007)
WORDS_TABLE = "case_search_words"   # SQLite FTS5 (unicode61 words, prefixes) for words under 3 characters
SEARCH_INDEX = "ix_intake_case_search"   # PostgreSQL pg_trgm expression index (migration 0007)


def outside_models(type_: str, name: str | None) -> bool:
    """Schema objects the migrations create that are not models (the search index and its
    FTS5 shadow tables): schema comparisons leave them out."""
    if type_ == "index":
        return name == SEARCH_INDEX
    return type_ == "table" and bool(name) and (name == SEARCH_TABLE or name.startswith(SEARCH_TABLE + "_"))
