"""Tables of the Zalo OA channel: the OA's token pair, sealed (encrypted) at rest."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

from bot.storage.types import UTCDateTime


class OaToken(SQLModel, table=True):
    """The current token pair of one OA, encrypted with the key from settings.

    `version` grows by one at every refresh: a process whose copy is older knows another process
    refreshed (the refresh token is single-use), and adopts the stored pair instead.
    """

    __tablename__ = "oa_token"

    oa_id: str = Field(primary_key=True, max_length=32)
    sealed: str = Field(sa_column=Column(Text, nullable=False))
    version: int = Field(default=1)
    updated_at: datetime = Field(sa_type=UTCDateTime)
