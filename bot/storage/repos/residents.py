"""Residents: subscriptions, chat state, processed updates, and deleting a person's data."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.storage.models import ChatState, OutboxMessage, ProcessedUpdate, Subscriber
from bot.storage.models.delivery import CANCELLED, PENDING


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


async def subscribe(
    session: AsyncSession, *, channel: str, chat_id: str, lang: str, now: datetime
) -> tuple[Subscriber, bool]:
    """Create the subscriber or reactivate it; returns (row, created)."""
    row = await get_subscriber(session, channel=channel, chat_id=chat_id)
    if row is None:
        row = Subscriber(
            channel=channel, chat_id=chat_id, lang=lang, created_at=now, updated_at=now
        )
        session.add(row)
        await session.flush()
        return row, True
    row.status = "active"
    row.updated_at = now
    return row, False


async def cancel_pending_bulk(session: AsyncSession, *, channel: str, chat_id: str) -> int:
    """Cancel posts and broadcasts still queued for a chat (after /huy)."""
    stmt = (
        update(OutboxMessage)
        .where(
            col(OutboxMessage.channel) == channel,
            col(OutboxMessage.chat_id) == chat_id,
            col(OutboxMessage.status) == PENDING,
            col(OutboxMessage.priority) > 0,
        )
        .values(status=CANCELLED)
    )
    result = await session.execute(stmt)
    return int(getattr(result, "rowcount", 0) or 0)


async def load_state(
    session: AsyncSession, *, channel: str, chat_id: str, now: datetime
) -> ChatState:
    """The chat's conversation state, created empty on first contact."""
    row = await session.get(ChatState, (channel, chat_id))
    if row is None:
        row = ChatState(channel=channel, chat_id=chat_id, updated_at=now)
        session.add(row)
    return row


async def stop_receiving(
    session: AsyncSession, *, channel: str, chat_id: str, now: datetime
) -> bool:
    """The person left the channel (unfollowed the OA): no more messages, queued ones cancelled.

    Marked `blocked`, as when a Telegram user blocks the bot; returns False if unknown."""
    row = await get_subscriber(session, channel=channel, chat_id=chat_id)
    if row is None:
        return False
    row.status = "blocked"
    row.updated_at = now
    await cancel_pending_bulk(session, channel=channel, chat_id=chat_id)
    return True


async def delete_person(session: AsyncSession, *, channel: str, chat_id: str) -> int:
    """Delete everything stored about one chat: subscription, state, queued and sent messages."""
    statements = (
        delete(Subscriber).where(
            col(Subscriber.channel) == channel, col(Subscriber.chat_id) == chat_id
        ),
        delete(ChatState).where(
            col(ChatState.channel) == channel, col(ChatState.chat_id) == chat_id
        ),
        delete(OutboxMessage).where(
            col(OutboxMessage.channel) == channel, col(OutboxMessage.chat_id) == chat_id
        ),
    )
    removed = 0
    for stmt in statements:
        result = await session.execute(stmt)
        removed += int(getattr(result, "rowcount", 0) or 0)
    return removed
