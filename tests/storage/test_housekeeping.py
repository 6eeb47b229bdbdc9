"""Housekeeping keeps pending work and recent history, and forgets the rest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import col, select

from bot.storage.db import Database
from bot.storage.models import InviteAttempt, OutboxMessage, ProcessedUpdate
from scheduler.jobs import Forgotten, forget_old

NOW = datetime(2025, 12, 20, 3, 0, tzinfo=UTC)


def message(status: str, age: timedelta, chat: str) -> OutboxMessage:
    when = NOW - age
    return OutboxMessage(
        channel="telegram",
        chat_id=chat,
        text="…",
        status=status,
        next_attempt_at=when,
        created_at=when,
    )


async def test_forget_old_keeps_pending_and_recent(db: Database) -> None:
    async with db.session() as session:
        session.add(
            ProcessedUpdate(channel="telegram", update_id="1", handled_at=NOW - timedelta(days=3))
        )
        session.add(
            ProcessedUpdate(channel="telegram", update_id="2", handled_at=NOW - timedelta(hours=1))
        )
        session.add(message("sent", timedelta(days=20), "old-sent"))
        session.add(message("blocked", timedelta(days=20), "old-blocked"))
        session.add(message("pending", timedelta(days=20), "old-pending"))
        session.add(message("sent", timedelta(days=1), "new-sent"))
        for age in (timedelta(days=2), timedelta(minutes=5)):
            session.add(InviteAttempt(channel="telegram", chat_id="x", at=NOW - age, ok=False))
    assert await forget_old(db, now=NOW) == Forgotten(updates=1, messages=2, attempts=1, inbox=0)
    async with db.session() as session:
        updates = (await session.execute(select(ProcessedUpdate.update_id))).scalars().all()
        chats = (
            (
                await session.execute(
                    select(OutboxMessage.chat_id).order_by(col(OutboxMessage.chat_id))
                )
            )
            .scalars()
            .all()
        )
    assert updates == ["2"]
    assert chats == ["new-sent", "old-pending"]
