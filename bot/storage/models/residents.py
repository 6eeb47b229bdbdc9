"""Tables for residents: subscriptions, per-chat conversation state, processed updates."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.storage.types import UTCDateTime


class SubscriberStatus(StrEnum):
    """Whether a subscriber gets messages: stopped by /huy, blocked when the chat refuses them."""

    ACTIVE = "active"
    STOPPED = "stopped"
    BLOCKED = "blocked"


class Subscriber(SQLModel, table=True):
    """A person who talks to the bot on one channel; chat ids are text (Zalo ids are hex)."""

    __tablename__ = "subscriber"
    __table_args__ = (UniqueConstraint("channel", "chat_id", name="uq_subscriber_chat"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    chat_id: str = Field(max_length=64)
    lang: str = Field(default="vi", max_length=8)
    group_code: str | None = Field(default=None, max_length=64)
    status: str = Field(default=SubscriberStatus.ACTIVE, max_length=16, index=True)
    delivery_hour: str | None = Field(default=None, max_length=5)  # "HH:MM" or None = pack default
    posts_muted: bool = Field(default=False)  # daily posts off; announcements still arrive
    # the person's last message or tap: a Zalo OA reaches them only within 7 days of it
    last_interaction_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class ChatState(SQLModel, table=True):
    """Where a conversation is (onboarding step, pending confirmation, last choices offered)."""

    __tablename__ = "chat_state"

    channel: str = Field(primary_key=True, max_length=16)
    chat_id: str = Field(primary_key=True, max_length=64)
    flow: str | None = Field(default=None, max_length=32)
    step: str | None = Field(default=None, max_length=32)
    nonce: str | None = Field(default=None, max_length=16)
    data: str = Field(default="{}", sa_column=Column(Text, nullable=False, default="{}"))
    last_choices: str = Field(default="[]", sa_column=Column(Text, nullable=False, default="[]"))
    last_numbered: bool = Field(default=True)  # whether a typed «N» picks one of last_choices
    # the outbox row of the last single-use message with buttons (Outbound.single_use): its
    # buttons are taken off when the chat moves on
    buttons_row: int | None = Field(default=None)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class ProcessedUpdate(SQLModel, table=True):
    """Update ids already handled, so a re-delivered update is ignored on purpose."""

    __tablename__ = "processed_update"

    channel: str = Field(primary_key=True, max_length=16)
    update_id: str = Field(primary_key=True, max_length=64)
    handled_at: datetime = Field(sa_type=UTCDateTime, index=True)
