"""Operational alerts to coordinators, through the outbox like every other message.

One alert per kind and hour at most (the dedup key carries the hour), so a fault that repeats
does not flood anyone; each coordinator reads it in their own language.
"""

from __future__ import annotations

import logging
from datetime import datetime

from bot.channels.base import Outbound
from bot.clock import Clock
from bot.delivery import keys
from bot.delivery.outbox import OutboxItem, Priority, enqueue
from bot.reporting.repository import coordinators
from bot.storage.db import Database
from messages import t

log = logging.getLogger(__name__)


async def alert_coordinators(db: Database, clock: Clock, key: str) -> int:
    """Queue the message `key` to every coordinator; returns the rows queued."""
    now: datetime = clock.now()
    async with db.session() as session:
        recipients = await coordinators(session)
        if not recipients:
            log.warning("alert %s: no coordinator is bound, nobody is told", key)
            return 0
        items = [
            OutboxItem(
                message=Outbound(
                    channel=person.channel, chat_id=person.chat_id, text=t(key, person.lang)
                ),
                priority=Priority.DIRECT,
                dedup_key=keys.alert_key(key, person.id, now),
            )
            for person in recipients
        ]
        return await enqueue(session, items, now=now)
