"""Tables for officials and their reports: bindings, invite codes, drafts, submitted versions.

Reports hold aggregate tallies only (counts, money, three short texts): never a case, a victim or
a name. An invite code is never stored, only its SHA-256.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.storage.types import UTCDateTime


class Official(SQLModel, table=True):
    """A chat bound by an invite code to an agency (role official) or as a coordinator."""

    __tablename__ = "official"
    __table_args__ = (UniqueConstraint("channel", "chat_id", name="uq_official_chat"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    chat_id: str = Field(max_length=64)
    role: str = Field(max_length=16)  # official | coordinator
    agency_id: str | None = Field(default=None, max_length=48, index=True)  # None: coordinator
    lang: str = Field(default="vi", max_length=8)
    bound_at: datetime = Field(sa_type=UTCDateTime)


class InviteCode(SQLModel, table=True):
    """A one-time, expiring invite; only the code's SHA-256 is kept."""

    __tablename__ = "invite_code"

    id: int | None = Field(default=None, primary_key=True)
    code_hash: str = Field(max_length=64, unique=True)
    role: str = Field(max_length=16)
    agency_id: str | None = Field(default=None, max_length=48)
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    used_by_official_id: int | None = Field(
        default=None, foreign_key="official.id", ondelete="SET NULL"
    )


class InviteAttempt(SQLModel, table=True):
    """One `/start <code>` try, kept a day at most, to slow down guessing."""

    __tablename__ = "invite_attempt"
    __table_args__ = (Index("ix_invite_attempt_chat", "channel", "chat_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    chat_id: str = Field(max_length=64)
    at: datetime = Field(sa_type=UTCDateTime, index=True)
    ok: bool = Field(default=False)


class ReportDraft(SQLModel, table=True):
    """A report being filled in one chat: the form engine's state as JSON."""

    __tablename__ = "report_draft"
    __table_args__ = (UniqueConstraint("channel", "chat_id", name="uq_report_draft_chat"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    chat_id: str = Field(max_length=64)
    agency_id: str = Field(max_length=48)
    deadline_id: str = Field(max_length=32)
    state_json: str = Field(sa_column=Column(Text, nullable=False))
    updated_at: datetime = Field(sa_type=UTCDateTime, index=True)
    warned_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ReportSubmission(SQLModel, table=True):
    """One submitted version of an agency's report for a deadline; the highest version counts."""

    __tablename__ = "report_submission"
    __table_args__ = (
        UniqueConstraint("agency_id", "deadline_id", "version", name="uq_report_version"),
    )

    id: int | None = Field(default=None, primary_key=True)
    agency_id: str = Field(max_length=48)
    deadline_id: str = Field(max_length=32, index=True)
    version: int
    data_json: str = Field(sa_column=Column(Text, nullable=False))
    submitted_at: datetime = Field(sa_type=UTCDateTime)
    on_time: bool
    # kept when the official leaves: the agency's report stays, who sent it does not
    official_id: int | None = Field(default=None, foreign_key="official.id", ondelete="SET NULL")
