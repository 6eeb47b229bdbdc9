"""Tables of the delivery engine: the durable outbox and the bulk runs it reports on."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, Column, Index, Text, false, true
from sqlmodel import Field, SQLModel

from bot.storage.types import UTCDateTime


class OutboxStatus(StrEnum):
    """The statuses of an outbox row: pending → sending → sent | failed | blocked | cancelled |
    skipped (refused by the platform's rules, e.g. outside a Zalo OA window; reason in
    last_error). A broadcast to someone outside a window is `held` instead: not claimed, it
    turns pending when the person interacts again, or skipped when `next_attempt_at` (then its
    expiry) passes."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    BLOCKED = "blocked"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"
    HELD = "held"


# Short names used by the delivery engine's SQL.
PENDING = OutboxStatus.PENDING
SENDING = OutboxStatus.SENDING
SENT = OutboxStatus.SENT
FAILED = OutboxStatus.FAILED
BLOCKED = OutboxStatus.BLOCKED
CANCELLED = OutboxStatus.CANCELLED
SKIPPED = OutboxStatus.SKIPPED
HELD = OutboxStatus.HELD
FINAL_STATUSES = (SENT, FAILED, BLOCKED, CANCELLED, SKIPPED)


class RunStatus(StrEnum):
    """The statuses of a bulk run."""

    RUNNING = "running"
    DONE = "done"


class OutboxMessage(SQLModel, table=True):
    """One message to send. Every send in Loa is a row here first.

    status: pending → sending → sent | failed | blocked | cancelled | skipped; or sending → held
    (a broadcast waiting for its reader to write again; `next_attempt_at` is then its expiry)
    → pending | skipped.
    priority: 0 = reply to a person typing, 1 = direct (reminders), 2 = bulk (posts, broadcasts).
    dedup_key: set for generated messages (e.g. "post:<campaign>:<day>:<subscriber>") so that a
    sweep run twice inserts nothing twice; nothing searches inside it.
    topic, topic_ref: what a generated message is about (e.g. a deadline's reminders and the
    agency they concern), so that it can be found again by columns.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "priority", "next_attempt_at"),
        # the dispatcher claims in (priority, id) order: this index lets it stop after LIMIT rows
        Index("ix_outbox_claim", "status", "priority", "id"),
        # blocked / migrated chats update their other rows
        Index("ix_outbox_chat", "channel", "chat_id"),
        # rows found again by what they are about (reminders of a deadline, per agency)
        Index("ix_outbox_topic", "topic", "topic_ref"),
    )

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    chat_id: str = Field(max_length=64)
    text: str = Field(sa_column=Column(Text, nullable=False))
    choices: str = Field(default="[]", sa_column=Column(Text, nullable=False, default="[]"))
    columns: int = Field(default=1)
    # a typed «N» picks choice N; False where a number is an answer (a figure in the report form)
    numbered: bool = Field(
        default=True, sa_column=Column(Boolean, nullable=False, default=True, server_default=true())
    )
    priority: int = Field(default=2)
    status: str = Field(default=OutboxStatus.PENDING, max_length=16)
    attempts: int = Field(default=0)
    next_attempt_at: datetime = Field(sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    run_id: int | None = Field(default=None, foreign_key="bulk_run.id", index=True)
    dedup_key: str | None = Field(default=None, max_length=160, unique=True)
    last_error: str | None = Field(default=None, max_length=200)
    # a file ({"file": [path, name, type, photo]}) and/or a chat's command menu, as JSON
    extra: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # deleted once sent instead of kept (the confirmation that a person's data was deleted)
    forget_after_send: bool = Field(
        default=False,
        sa_column=Column(Boolean, nullable=False, default=False, server_default=false()),
    )
    # what the message is about, for finding it again by equality (built in bot/delivery/keys.py)
    topic: str | None = Field(default=None, max_length=120)
    topic_ref: str | None = Field(default=None, max_length=64)
    # the platform's id of the sent message (replies with buttons), for taking them off later
    sent_ref: str | None = Field(default=None, max_length=64)
    # not a message: «the message of outbox row `edit_of` now says this row's text, with this
    # row's buttons» (a progress message); with no text, «take its buttons off»
    edit_of: int | None = Field(default=None)


class BulkRun(SQLModel, table=True):
    """One bulk send (a day's post, a broadcast, a round of reminders) and its counts."""

    __tablename__ = "bulk_run"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32)  # daily_post | broadcast | reminder | escalation
    label: str = Field(max_length=200)
    status: str = Field(default=RunStatus.RUNNING, max_length=16)
    queued: int = Field(default=0)
    sent: int = Field(default=0)
    failed: int = Field(default=0)
    blocked: int = Field(default=0)
    skipped: int = Field(default=0)  # refused by the platform's rules (outside a window)
    started_at: datetime = Field(sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
