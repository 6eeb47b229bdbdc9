"""Messaging windows: a platform (Zalo OA) delivers to a person only for a time after their last
interaction. Which claimed rows fall outside, judged from `subscriber.last_interaction_at`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.models.delivery import SKIPPED, OutboxMessage
from bot.storage.models.residents import Subscriber

SUBSCRIBERS = Subscriber.__table__  # type: ignore[attr-defined]
IN_CHUNK = 400


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
    rows = await session.execute(
        select(subs.status, subs.last_interaction_at >= now - window, func.count())
        .where(subs.channel == channel)
        .group_by(subs.status, subs.last_interaction_at >= now - window)
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
