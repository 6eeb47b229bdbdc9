"""Leases: which process owns a piece of work on this database (today: everything, one owner)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from bot.storage.types import UTCDateTime


class Lease(SQLModel, table=True):
    """A named lease held by one process until `expires_at`; the holder renews it (heartbeat)."""

    __tablename__ = "lease"

    name: str = Field(primary_key=True, max_length=64)
    holder: str = Field(max_length=64)  # a random id of the holding process
    host: str = Field(max_length=255)
    pid: int
    since: datetime = Field(sa_type=UTCDateTime)
    heartbeat_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
