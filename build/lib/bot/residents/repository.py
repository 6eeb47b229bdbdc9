"""Residents' rows: subscriptions, cancelling queued posts, and deleting a person's data."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.chat.repository import get_subscriber
from bot.storage.models import ChatState, OutboxMessage, Subscriber
from bot.storage.models.delivery import CANCELLED, PENDING


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
