"""The database fixture works on every configured engine and keeps datetimes aware."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import select

from bot.storage.db import Database
from bot.storage.models import Subscriber


async def test_subscriber_round_trip_keeps_utc(db: Database) -> None:
    when = datetime(2025, 11, 15, 0, 30, tzinfo=UTC)
    async with db.session() as session:
        session.add(Subscriber(channel="telegram", chat_id="42", created_at=when, updated_at=when))
    async with db.session() as session:
        row = (await session.execute(select(Subscriber))).scalars().one()
    assert row.chat_id == "42"
    assert row.created_at == when
    assert row.created_at.tzinfo is not None
