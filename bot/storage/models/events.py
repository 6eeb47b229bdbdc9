"""Campaign events as rows: each scheduled thing (a day's post, later reminders) has a due time."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel

from bot.storage.types import UTCDateTime


class EventKind(StrEnum):
    """What a campaign event does; the kind also names the bulk run it opens."""

    DAILY_POST = "daily_post"
    REMINDER = "reminder"  # a deadline's reminder to the agencies that have not reported
    ESCALATION = "escalation"  # the list of those agencies, to the coordinators


class EventStatus(StrEnum):
    """The statuses of a campaign event (see CampaignEvent)."""

    PENDING = "pending"
    DONE = "done"
    MISSED = "missed"
    CANCELLED = "cancelled"


DAILY_POST = EventKind.DAILY_POST
PENDING = EventStatus.PENDING
DONE = EventStatus.DONE
MISSED = EventStatus.MISSED
CANCELLED = EventStatus.CANCELLED


class CampaignEvent(SQLModel, table=True):
    """One thing the scheduler must do once, materialised when a campaign is activated.

    kind: daily_post (later: reminder, escalation); payload: kind-specific JSON.
    status: pending → done (handled) | missed (its day passed before it went out) | cancelled
    (the pack no longer has it). key is unique, e.g. "ky-lua-2025:post:3", so activating twice
    creates nothing twice.
    """

    __tablename__ = "campaign_event"
    __table_args__ = (Index("ix_campaign_event_due", "campaign_id", "kind", "status", "due_at"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: str = Field(max_length=64)
    kind: str = Field(max_length=32)
    key: str = Field(max_length=160, unique=True)
    payload: str = Field(default="{}", sa_column=Column(Text, nullable=False, default="{}"))
    due_at: datetime = Field(sa_type=UTCDateTime)
    status: str = Field(default=EventStatus.PENDING, max_length=16)
    processed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    run_id: int | None = Field(default=None, foreign_key="bulk_run.id")
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
