"""The chat engine's rows: processed updates (dedup), a chat's state, the subscriber it talks to."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.storage.models import ChatState, ProcessedUpdate, Subscriber


async def claim_update(
    session: AsyncSession, *, channel: str, update_id: str, now: datetime
) -> bool:
    """Record an update id; False if it was already handled (a re-delivered update)."""
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = (
        insert(ProcessedUpdate)
        .values(channel=channel, update_id=update_id, handled_at=now)
        .on_conflict_do_nothing(index_elements=["channel", "update_id"])
    )
    result = await session.execute(stmt)
    return bool(getattr(result, "rowcount", 0))


async def get_subscriber(session: AsyncSession, *, channel: str, chat_id: str) -> Subscriber | None:
    """The subscriber row for a chat, if any."""
    stmt = select(Subscriber).where(
        col(Subscriber.channel) == channel, col(Subscriber.chat_id) == chat_id
    )
    return (await session.execute(stmt)).scalars().first()


async def load_state(
    session: AsyncSession, *, channel: str, chat_id: str, now: datetime
) -> ChatState:
    """The chat's conversation state, created empty on first contact."""
    row = await session.get(ChatState, (channel, chat_id))
    if row is None:
        row = ChatState(channel=channel, chat_id=chat_id, updated_at=now)
        session.add(row)
    return row
