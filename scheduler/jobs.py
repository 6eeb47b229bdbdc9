"""Thin scheduled jobs: they only call the services that turn due events into outbox rows."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from bot.clock import Clock
from bot.domain.campaign import CampaignPack
from bot.services.campaign_events import SweepResult, sweep_due
from bot.storage.db import Database

log = logging.getLogger(__name__)


async def sweep_job(
    *,
    db: Database,
    pack: CampaignPack,
    clock: Clock,
    channels: Sequence[str] | None = None,
) -> SweepResult | None:
    """One sweep of the campaign's due events; logs counts only (never who). None on failure.

    A failure is logged and swallowed so the next minute's run tries again; the message of a
    database error may quote chat ids, so only its type is logged.
    """
    try:
        result = await sweep_due(db, pack, now=clock.now(), channels=channels)
    except Exception as exc:
        log.error("campaign sweep failed: %s", type(exc).__name__)
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
