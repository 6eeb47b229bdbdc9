"""Thin scheduled jobs: they only call the services that turn due events into outbox rows.

Every part is guarded on its own, so one failing never stops the others; only the type of an
error is logged (the message of a database error may quote chat ids). The next minute retries.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from bot.campaign.events import SweepResult, sweep_due
from bot.chat.inbox import forget_done
from bot.clock import Clock
from bot.domain.campaign import CampaignPack
from bot.reporting.officials import ATTEMPT_RETENTION
from bot.reporting.reminders import sweep_reminders
from bot.reporting.reports import expire_drafts
from bot.reporting.repository import forget_attempts_before
from bot.storage.db import Database
from bot.storage.housekeeping import forget_processed_updates, purge_finished_messages

log = logging.getLogger(__name__)

UPDATE_MEMORY = timedelta(days=2)  # how long handled update ids are kept for de-duplication
MESSAGE_MEMORY = timedelta(days=14)  # how long the text of finished outbox rows is kept

T = TypeVar("T")


async def guarded(what: str, step: Awaitable[T]) -> T | None:
    """Await one step of a job; on failure log its kind only and return None."""
    try:
        return await step
    except Exception as exc:
        log.error("%s failed: %s", what, type(exc).__name__)
        return None


async def minute_job(
    *,
    db: Database,
    pack: CampaignPack,
    clock: Clock,
    notify: Callable[[], None],
    windowed: Sequence[str] = (),
) -> None:
    """The scheduler's minute: due posts, due reminders, stale drafts, housekeeping; then wake
    the dispatcher (`notify`) so what was queued goes out at once."""
    await sweep_job(db=db, pack=pack, clock=clock, windowed=windowed)
    await guarded("reminders sweep", sweep_reminders(db, pack, now=clock.now()))
    await guarded("drafts sweep", expire_drafts(db, pack, now=clock.now()))
    await guarded("housekeeping", forget_old(db, now=clock.now()))
    notify()


@dataclass(frozen=True, slots=True)
class Forgotten:
    """What housekeeping removed."""

    updates: int
    messages: int
    attempts: int
    inbox: int


async def forget_old(db: Database, *, now: datetime) -> Forgotten:
    """Drop old update ids, the text of long-finished messages, old invite-code attempts, and
    inbox rows handled (or parked) long ago."""
    async with db.session() as session:
        return Forgotten(
            updates=await forget_processed_updates(session, before=now - UPDATE_MEMORY),
            messages=await purge_finished_messages(session, before=now - MESSAGE_MEMORY),
            attempts=await forget_attempts_before(session, before=now - ATTEMPT_RETENTION),
            inbox=await forget_done(
                session, done_before=now - UPDATE_MEMORY, parked_before=now - MESSAGE_MEMORY
            ),
        )


async def sweep_job(
    *,
    db: Database,
    pack: CampaignPack,
    clock: Clock,
    channels: Sequence[str] | None = None,
    windowed: Sequence[str] = (),
) -> SweepResult | None:
    """One sweep of the campaign's due events; logs counts only (never who). None on failure.

    A failure is logged and swallowed so the next minute's run tries again; the message of a
    database error may quote chat ids, so only its type is logged.
    """
    result = await guarded(
        "campaign sweep", sweep_due(db, pack, now=clock.now(), channels=channels, windowed=windowed)
    )
    if result is None:
        return None
    if result.enqueued or result.closed_done or result.closed_missed or result.reopened:
        log.info(
            "campaign sweep: day %s, %d queued (run %s), %d closed, %d missed%s",
            result.day,
            result.enqueued,
            result.run_id,
            result.closed_done,
            result.closed_missed,
            ", event reopened" if result.reopened else "",
        )
    else:
        log.debug("campaign sweep: day %s, nothing due (quiet=%s)", result.day, result.quiet)
    return result
