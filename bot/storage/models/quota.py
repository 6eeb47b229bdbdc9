"""Messages sent per channel and month, for plans with a monthly quota (the Zalo Bot's 3,000)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from bot.storage.types import UTCDateTime


class SendCounter(SQLModel, table=True):
    """API messages a channel sent in one month («YYYY-MM», Vietnam time).

    closed_at: when bulk sending on the channel stopped for the month (the reserve was reached
    or the platform said the quota is used up); coordinators are told once, when it is set.
    """

    __tablename__ = "send_counter"

    channel: str = Field(primary_key=True, max_length=16)
    month: str = Field(primary_key=True, max_length=7)
    sent: int = Field(default=0)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
