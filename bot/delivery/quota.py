"""Monthly message quotas per channel, with a reserve kept for replies.

The Zalo Bot's free plan allows 3,000 messages a month (and 50 people per bot); past it Zalo
answers 429 "Quota exceeded". Loa counts every API message it sends, per channel and month, in
`send_counter`, and stops *bulk* rows (daily posts, broadcasts) once the month's count reaches
`per_month - reserve`: the rest is kept for replies to people writing and for direct messages
(reminders), so a daily post cannot eat the answers. A 429 from the platform (its count may
differ from Loa's) closes bulk sending for the month at once. Either way the rows are kept:
buffered bulk rows wait for the next month, replies retry hourly, and the coordinators are told
once per channel and month (`on_closed`, written in the same transaction as the counter).

The month is the calendar month on Vietnam's clock: Zalo does not publish when the quota resets.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import VN_TZ
from bot.storage.models.quota import SendCounter

log = logging.getLogger(__name__)

COUNTERS = SendCounter.__table__  # type: ignore[attr-defined]
REPLY_RETRY = timedelta(hours=1)  # a reply refused for the quota tries again this much later


@dataclass(frozen=True, slots=True)
class Quota:
    """A channel's monthly allowance and the part of it bulk sending may not use."""

    per_month: int
    reserve: int = 0

    @property
    def bulk_limit(self) -> int:
        """Messages a month after which bulk rows wait."""
        return max(0, self.per_month - self.reserve)


# told when bulk sending closes, inside the counter's transaction: (session, figures, now)
OnClosed = Callable[[AsyncSession, "QuotaFigures", datetime], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class QuotaFigures:
    """What `loa status` and the coordinators' notice show."""

    channel: str
    month: str
    sent: int
    per_month: int
    reserve: int
    closed: bool


def month_of(moment: datetime) -> str:
    """«YYYY-MM» of `moment` on Vietnam's clock."""
    return moment.astimezone(VN_TZ).strftime("%Y-%m")


def next_month_start(moment: datetime) -> datetime:
    """The first instant of the next month on Vietnam's clock."""
    local = moment.astimezone(VN_TZ)
    first = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return (first + timedelta(days=32)).replace(day=1)


class QuotaBook:
    """Per-channel monthly counters in memory, written with the dispatcher's outcomes."""

    def __init__(self, quotas: Mapping[str, Quota], *, on_closed: OnClosed | None = None) -> None:
        self._quotas = dict(quotas)
        self._on_closed = on_closed
        self._sent: dict[tuple[str, str], int] = {}  # (channel, month) → count known written
        self._unwritten: dict[tuple[str, str], int] = {}
        self._closed: set[tuple[str, str]] = set()
        self._to_announce: set[tuple[str, str]] = set()
        self._in_flight: dict[str, int] = {}  # messages being sent now, per channel

    def limited(self, channel: str) -> bool:
        """Whether `channel` has a quota at all."""
        return channel in self._quotas

    async def load(self, session: AsyncSession, now: datetime) -> None:
        """Read this month's counters (at start-up)."""
        month = month_of(now)
        rows = await session.execute(
            select(COUNTERS.c.channel, COUNTERS.c.sent, COUNTERS.c.closed_at).where(
                COUNTERS.c.month == month
            )
        )
        for channel, sent, closed_at in rows.all():
            self._sent[(channel, month)] = sent
            if closed_at is not None:
                self._closed.add((channel, month))

    def used(self, channel: str, now: datetime) -> int:
        """Messages sent on `channel` this month (written or not yet)."""
        key = (channel, month_of(now))
        return self._sent.get(key, 0) + self._unwritten.get(key, 0)

    def bulk_open(self, channel: str, now: datetime) -> bool:
        """Whether bulk rows may go out on `channel` now."""
        quota = self._quotas.get(channel)
        if quota is None:
            return True
        key = (channel, month_of(now))
        if key in self._closed:
            return False
        used = self.used(channel, now)
        if used >= quota.bulk_limit:
            self._close(key)
            return False
        return used + self._in_flight.get(channel, 0) < quota.bulk_limit

    @property
    def closing(self) -> bool:
        """Whether a closure waits to be written (and told)."""
        return bool(self._to_announce)

    def start(self, channel: str, messages: int) -> None:
        """A send of about `messages` API messages starts on `channel`."""
        self._in_flight[channel] = self._in_flight.get(channel, 0) + messages

    def finish(self, channel: str, started: int, sent: int, now: datetime) -> None:
        """The send begun with `start(channel, started)` ended with `sent` messages accepted."""
        self._in_flight[channel] = max(0, self._in_flight.get(channel, 0) - started)
        self.count(channel, sent, now)

    def count(self, channel: str, messages: int, now: datetime) -> None:
        """`messages` API messages went out on `channel` just now."""
        if messages > 0:
            key = (channel, month_of(now))
            self._unwritten[key] = self._unwritten.get(key, 0) + messages

    def exhausted(self, channel: str, now: datetime) -> None:
        """The platform said the quota is used up: no more bulk this month."""
        self._close((channel, month_of(now)))

    def _close(self, key: tuple[str, str]) -> None:
        if key not in self._closed:
            self._closed.add(key)
            self._to_announce.add(key)
            log.warning("%s: monthly quota reached; bulk sending waits for next month", key[0])

    async def write(self, session: AsyncSession, now: datetime) -> None:
        """Add the unwritten counts and new closures to `send_counter` (in the caller's
        transaction), telling `on_closed` of each closure not told before."""
        pending, self._unwritten = self._unwritten, {}
        announce, self._to_announce = self._to_announce, set()
        try:
            for key in pending.keys() | announce:
                await self._write_one(session, key, pending.get(key, 0), key in announce, now)
        except BaseException:
            for key, count in pending.items():  # kept for the next try
                self._unwritten[key] = self._unwritten.get(key, 0) + count
            self._to_announce |= announce
            raise
        for key, count in pending.items():
            self._sent[key] = self._sent.get(key, 0) + count

    async def _write_one(
        self, session: AsyncSession, key: tuple[str, str], count: int, closing: bool, now: datetime
    ) -> None:
        channel, month = key
        row = await session.get(SendCounter, (channel, month))
        if row is None:
            row = SendCounter(channel=channel, month=month, sent=0)
            session.add(row)
            await session.flush()
        await session.execute(
            update(COUNTERS)
            .where(COUNTERS.c.channel == channel, COUNTERS.c.month == month)
            .values(sent=COUNTERS.c.sent + count)
        )
        if not closing:
            return
        claimed = await session.execute(
            update(COUNTERS)
            .where(
                COUNTERS.c.channel == channel,
                COUNTERS.c.month == month,
                COUNTERS.c.closed_at.is_(None),
            )
            .values(closed_at=now)
            .returning(COUNTERS.c.sent)
        )
        sent = claimed.scalar_one_or_none()
        if sent is not None and self._on_closed is not None:  # first closure of this month
            quota = self._quotas.get(channel, Quota(per_month=0))
            figures = QuotaFigures(channel, month, sent, quota.per_month, quota.reserve, True)
            await self._on_closed(session, figures, now)


async def quota_figures(
    session: AsyncSession, quotas: Mapping[str, Quota], now: datetime
) -> list[QuotaFigures]:
    """This month's figures for each channel with a quota (for `loa status`)."""
    month = month_of(now)
    rows = await session.execute(
        select(COUNTERS.c.channel, COUNTERS.c.sent, COUNTERS.c.closed_at).where(
            COUNTERS.c.month == month
        )
    )
    found = {channel: (sent, closed_at) for channel, sent, closed_at in rows.all()}
    figures = []
    for channel, quota in quotas.items():
        sent, closed_at = found.get(channel, (0, None))
        figures.append(
            QuotaFigures(
                channel, month, sent, quota.per_month, quota.reserve, closed_at is not None
            )
        )
    return figures
