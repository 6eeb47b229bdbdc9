"""The durable inbox: every event a person sent, stored before the platform is told it arrived."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.storage.types import UTCDateTime


class InboxStatus(StrEnum):
    """pending → done (payload and chat id blanked) | parked (kept for a later retry)."""

    PENDING = "pending"
    DONE = "done"
    PARKED = "parked"


class InboxEvent(SQLModel, table=True):
    """One inbound event. (channel, event_id) is unique: a re-delivered event is stored once.

    `payload` is the normalised Inbound as JSON (it holds what the person typed); it and the
    chat id are blanked once the turn is committed, so a done row keeps only the ids needed to
    recognise a re-delivery until housekeeping removes it.
    """

    __tablename__ = "inbox"
    __table_args__ = (
        UniqueConstraint("channel", "event_id", name="uq_inbox_event"),
        Index("ix_inbox_status", "status", "id"),
        Index("ix_inbox_chat", "channel", "chat_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    event_id: str = Field(max_length=64)
    chat_id: str = Field(max_length=64)
    status: str = Field(default=InboxStatus.PENDING, max_length=16)
    payload: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    attempts: int = Field(default=0)
    last_error: str | None = Field(default=None, max_length=200)
    received_at: datetime = Field(sa_type=UTCDateTime, index=True)
    handled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
