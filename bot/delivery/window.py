"""Messaging windows: a platform (Zalo OA) delivers to a person only for a time after their last
interaction. Which claimed rows fall outside, judged from `subscriber.last_interaction_at`."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery import repository
from bot.delivery.outbox import Priority
from bot.delivery.repository import Job
from bot.storage.models.delivery import SKIPPED, OutboxMessage
from bot.storage.models.residents import Subscriber

SUBSCRIBERS = Subscriber.__table__  # type: ignore[attr-defined]
IN_CHUNK = 400

log = logging.getLogger(__name__)


async def skip_outside_window(
    session: AsyncSession, jobs: list[Job], *, channel: str, window: timedelta, now: datetime
) -> list[Job]:
    """Claimed rows the platform would refuse (the person's last interaction is older than the
    window, or there is none) become final at once: `skipped`, with the reason, counted in their
    run. Returns the rows to send. Replies answer an interaction that just happened and always
    go; rows to chats without a subscriber row (officials) are left to the platform to judge."""
    bulk = [job.chat_id for job in jobs if job.priority > int(Priority.REPLY)]
    last = await last_interactions(session, channel, bulk)
    kept: list[Job] = []
    finals: list[dict[str, object]] = []
    per_run: Counter[tuple[int, str]] = Counter()
    for job in jobs:
        reason = None
        if job.priority > int(Priority.REPLY) and job.chat_id in last:
            reason = outside_reason(last[job.chat_id], window, now)
        if reason is None:
            kept.append(job)
            continue
        finals.append({"b_id": job.id, "b_status": SKIPPED, "b_error": reason})
        if job.run_id is not None:
            per_run[(job.run_id, "skipped")] += 1
    if finals:
        await repository.mark_final(session, finals)
        await repository.add_run_counts(session, per_run)
        log.info("outbox %s: %d rows skipped (outside the window)", channel, len(finals))
    return kept


async def last_interactions(
    session: AsyncSession, channel: str, chat_ids: Sequence[str]
) -> dict[str, datetime | None]:
    """chat id → last interaction (None: never), for the chats that have a subscriber row."""
    found: dict[str, datetime | None] = {}
    unique = sorted(set(chat_ids))
    for start in range(0, len(unique), IN_CHUNK):
        rows = await session.execute(
            select(SUBSCRIBERS.c.chat_id, SUBSCRIBERS.c.last_interaction_at).where(
                SUBSCRIBERS.c.channel == channel,
                SUBSCRIBERS.c.chat_id.in_(unique[start : start + IN_CHUNK]),
            )
        )
        found.update({chat_id: seen for chat_id, seen in rows.all()})
    return found


def outside_reason(seen: datetime | None, window: timedelta, now: datetime) -> str | None:
    """Why a message to someone last seen at `seen` would be refused, or None when it may go."""
    if seen is None:
        return "never interacted"
    if now - seen > window:
        return f"outside the {window.days}-day window"
    return None


@dataclass(frozen=True, slots=True)
class WindowCounts:
    """Residents of one windowed channel by reachability, and the sends skipped, by reason."""

    channel: str
    in_window: int
    out_of_window: int
    not_following: int
    skipped: dict[str, int]

    def describe(self, window: timedelta) -> str:
        """One operator line (counts only)."""
        line = (
            f"{self.channel}: {self.in_window} in the {window.days}-day window, "
            f"{self.out_of_window} out of it, {self.not_following} not following"
        )
        if self.skipped:
            reasons = ", ".join(f"{reason} {n}" for reason, n in sorted(self.skipped.items()))
            line += f"; messages skipped: {reasons}"
        return line


async def window_counts(
    session: AsyncSession, channel: str, window: timedelta, now: datetime
) -> WindowCounts:
    """Active residents inside / outside the window, those who left (blocked), skipped rows."""
    subs = SUBSCRIBERS.c
    # one labelled expression, grouped by its label: PostgreSQL would not match two copies of
    # the comparison (each with its own bound parameter)
    recent = (subs.last_interaction_at >= now - window).label("recent")
    rows = await session.execute(
        select(subs.status, recent, func.count())
        .where(subs.channel == channel)
        .group_by(subs.status, recent)
    )
    inside = outside = gone = 0
    for status, recent, count in rows.all():
        if status == "blocked":
            gone += count
        elif status == "active" and recent:
            inside += count
        elif status == "active":
            outside += count
    outbox = OutboxMessage.__table__.c  # type: ignore[attr-defined]
    skipped = await session.execute(
        select(outbox.last_error, func.count())
        .where(outbox.channel == channel, outbox.status == SKIPPED)
        .group_by(outbox.last_error)
    )
    return WindowCounts(
        channel=channel,
        in_window=inside,
        out_of_window=outside,
        not_following=gone,
        skipped={str(reason or "?"): count for reason, count in skipped.all()},
    )
