"""Residents' rows: subscriptions, cancelling queued posts, and deleting a person's data."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime

from sqlalchemy import and_, delete, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.chat.repository import get_subscriber
from bot.storage.models import ChatState, OutboxMessage, Subscriber
from bot.storage.models.delivery import CANCELLED, HELD, PENDING
from bot.storage.models.residents import SubscriberStatus

SUBSCRIBERS = Subscriber.__table__  # type: ignore[attr-defined]


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
    row.status = SubscriberStatus.ACTIVE
    row.updated_at = now
    return row, False


async def cancel_pending_bulk(session: AsyncSession, *, channel: str, chat_id: str) -> int:
    """Cancel posts and broadcasts still queued for a chat, or held for its next message (after
    /huy, or an unfollow)."""
    stmt = (
        update(OutboxMessage)
        .where(
            col(OutboxMessage.channel) == channel,
            col(OutboxMessage.chat_id) == chat_id,
            or_(
                and_(col(OutboxMessage.status) == PENDING, col(OutboxMessage.priority) > 0),
                col(OutboxMessage.status) == HELD,
            ),
        )
        .values(status=CANCELLED)
    )
    result = await session.execute(stmt)
    return int(getattr(result, "rowcount", 0) or 0)


async def on_chat_blocked(
    session: AsyncSession, *, channel: str, chat_id: str, now: datetime
) -> None:
    """The person stopped the bot (a send was refused): their subscription is blocked."""
    await session.execute(
        update(SUBSCRIBERS)
        .where(SUBSCRIBERS.c.channel == channel, SUBSCRIBERS.c.chat_id == chat_id)
        .values(status=SubscriberStatus.BLOCKED, updated_at=now)
    )


async def on_chat_migrated(
    session: AsyncSession, *, channel: str, chat_id: str, new_chat_id: str, now: datetime
) -> None:
    """A group became a supergroup: its subscription follows it, unless the new id has one."""
    other = SUBSCRIBERS.alias("other")
    taken = exists().where(and_(other.c.channel == channel, other.c.chat_id == new_chat_id))
    await session.execute(
        update(SUBSCRIBERS)
        .where(SUBSCRIBERS.c.channel == channel, SUBSCRIBERS.c.chat_id == chat_id, ~taken)
        .values(chat_id=new_chat_id, updated_at=now)
    )


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


async def rename_groups(session: AsyncSession, renamed: Mapping[str, str]) -> int:
    """Move the residents who picked a group by a name the pack has since renamed (old → new);
    returns how many moved. Idempotent: nobody keeps an old name after the first run."""
    moved = 0
    for old, new in renamed.items():
        result = await session.execute(
            update(SUBSCRIBERS).where(SUBSCRIBERS.c.group_code == old).values(group_code=new)
        )
        moved += int(getattr(result, "rowcount", 0) or 0)
    return moved


async def unlisted_groups(session: AsyncSession, listed: Collection[str]) -> dict[str, int]:
    """Residents per group name that the pack no longer lists (a group renamed or dropped
    without a `renamed` entry): such residents get posts but no group broadcast or count."""
    rows = await session.execute(
        select(SUBSCRIBERS.c.group_code, func.count())
        .where(SUBSCRIBERS.c.group_code.is_not(None))
        .group_by(SUBSCRIBERS.c.group_code)
    )
    return {name: int(count) for name, count in rows.all() if name not in set(listed)}
