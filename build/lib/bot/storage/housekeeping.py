"""Housekeeping: forget what is no longer needed, so little personal data lingers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.storage.models import OutboxMessage, ProcessedUpdate
from bot.storage.models.delivery import FINAL_STATUSES


async def forget_processed_updates(session: AsyncSession, *, before: datetime) -> int:
    """Drop update ids handled before `before` (platforms stop re-delivering within a day)."""
    result = await session.execute(
        delete(ProcessedUpdate).where(col(ProcessedUpdate.handled_at) < before)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def purge_finished_messages(session: AsyncSession, *, before: datetime) -> int:
    """Delete the text of messages that reached a final state before `before`.

    Run counts stay in bulk_run; the per-chat copies of what was said are not kept longer than
    the campaign needs them for retries and duplicate checks.
    """
    result = await session.execute(
        delete(OutboxMessage).where(
            col(OutboxMessage.status).in_(FINAL_STATUSES),
            col(OutboxMessage.created_at) < before,
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)
