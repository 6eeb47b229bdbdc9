"""Tables of the coordinator's tools: the audit log and the broadcasts.

The audit log names people by role and a keyed short hash of their chat (an official by agency),
never by name or text. A broadcast keeps the coordinator's own announcement text (not a
resident's) until it is sent.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

from bot.storage.types import UTCDateTime


class AuditEntry(SQLModel, table=True):
    """Who did what, when: broadcasts, exports, invites, bindings, refusals."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=UTCDateTime, index=True)
    role: str = Field(max_length=16)  # coordinator | official | resident | office (the CLI)
    actor: str = Field(max_length=64)  # a keyed short hash of the chat, or an agency id
    action: str = Field(max_length=32, index=True)
    detail: str = Field(default="", max_length=200)


class Broadcast(SQLModel, table=True):
    """One announcement: drafted, confirmed (or scheduled), sent as a bulk run, maybe cancelled.

    status: draft → scheduled | sending → done | cancelled.
    """

    __tablename__ = "broadcast"

    id: int | None = Field(default=None, primary_key=True)
    status: str = Field(default="draft", max_length=16, index=True)
    author: str = Field(max_length=64)  # keyed hash of the coordinator's chat, or "office"
    channel: str = Field(default="", max_length=16)  # where the coordinator follows progress
    chat_id: str = Field(default="", max_length=64)
    text: str = Field(sa_column=Column(Text, nullable=False))
    audience: str = Field(default="{}", sa_column=Column(Text, nullable=False, default="{}"))
    urgent: bool = Field(default=False)
    send_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    run_id: int | None = Field(default=None, foreign_key="bulk_run.id")
    recipients: int = Field(default=0)
    progress_outbox_id: int | None = Field(default=None)  # the progress message's outbox row
    progress_shown: int = Field(default=0)  # the last percentage step shown (25, 50, 75, 100)
    created_at: datetime = Field(sa_type=UTCDateTime)
    confirmed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
