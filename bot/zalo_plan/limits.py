"""Living within the Zalo Bot's plan: people per bot and messages a month.

- **People per bot** (50 on the free plan): a new person on Zalo past the cap gets a clear answer
  (another way to reach the ward, and the hotlines) instead of a conversation Loa cannot keep;
  binding with an invite code (`/start <code>`) always passes, so officials are never locked out.
  Who counts: every subscriber and bound official on the channel, whatever their status (Zalo's
  own count is not published; "stopped" people are still the bot's users).
- **Monthly messages** (3,000): `quota_notice` tells every coordinator once when bulk sending
  stops for the month (see `bot.delivery.quota`).
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import func, select, union
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.base import InboundKind, Outbound
from bot.chat.router import Router
from bot.chat.turn import Turn
from bot.clock import format_vn_datetime
from bot.config import Settings
from bot.delivery.outbox import OutboxItem, Priority, enqueue
from bot.delivery.quota import Quota, QuotaFigures, next_month_start, quota_figures
from bot.reporting.repository import coordinators
from bot.storage.db import Database
from bot.storage.models import Official, Subscriber
from messages import channel_name, t

log = logging.getLogger(__name__)

START_COMMANDS = frozenset({"start", "batdau_dangky"})
SUBSCRIBERS = Subscriber.__table__  # type: ignore[attr-defined]
OFFICIALS = Official.__table__  # type: ignore[attr-defined]


def zalo_quotas(settings: Settings) -> dict[str, Quota]:
    """The Zalo Bot's monthly quota, unless ZALO_MONTHLY_QUOTA is 0 (no limit)."""
    if settings.zalo_monthly_quota <= 0:
        return {}
    reserve = min(settings.zalo_quota_reserve, settings.zalo_monthly_quota)
    return {"zalo": Quota(per_month=settings.zalo_monthly_quota, reserve=reserve)}


async def plan_status(db: Database, settings: Settings, now: datetime) -> str:
    """`loa status` lines for the Zalo Bot plan: this month's messages and the people."""
    async with db.session() as session:
        figures = await quota_figures(session, zalo_quotas(settings), now)
        people = await people_on(session, "zalo")
    cap = settings.zalo_user_cap
    lines = [f"Zalo people: {people} / {cap}" if cap else f"Zalo people: {people} (no cap)"]
    if people >= cap > 0:
        lines[0] += " — full: new people are turned away with the «full» answer"
    for f in figures:
        line = (
            f"Zalo messages in {f.month}: {f.sent} / {f.per_month}"
            f" (bulk stops at {f.per_month - f.reserve}, {f.reserve} kept for replies)"
        )
        if f.closed:
            line += f" — bulk paused until {format_vn_datetime(next_month_start(now))}"
        lines.append(line)
    if not figures:
        lines.append("Zalo messages: no monthly quota set (ZALO_MONTHLY_QUOTA=0)")
    return "\n".join(lines)


async def people_on(session: AsyncSession, channel: str) -> int:
    """Distinct people Loa knows on `channel`: subscribers and bound officials."""
    chats = union(
        select(SUBSCRIBERS.c.chat_id).where(SUBSCRIBERS.c.channel == channel),
        select(OFFICIALS.c.chat_id).where(OFFICIALS.c.channel == channel),
    ).subquery()
    return int((await session.execute(select(func.count()).select_from(chats))).scalar_one())


async def _known(session: AsyncSession, channel: str, chat_id: str) -> bool:
    found = await session.execute(
        select(OFFICIALS.c.id).where(OFFICIALS.c.channel == channel, OFFICIALS.c.chat_id == chat_id)
    )
    return found.first() is not None


class UserCap:
    """Refuses new people on a channel past its cap (a router gate)."""

    def __init__(self, channel: str, cap: int) -> None:
        self.channel = channel
        self.cap = cap

    def register(self, router: Router) -> None:
        """Run before every handler."""
        router.gates.append(self.admits)

    async def admits(self, turn: Turn) -> bool:
        """True when the turn may go on; else the person got the «full» answer."""
        if turn.channel != self.channel or self.cap <= 0 or turn.subscriber is not None:
            return True
        inbound = turn.inbound
        command = (inbound.command or "") if inbound.kind is InboundKind.COMMAND else ""
        if command.lower() in START_COMMANDS and inbound.args:  # an invite: officials get in
            return True
        if await _known(turn.session, turn.channel, turn.chat_id):
            return True
        if await people_on(turn.session, self.channel) < self.cap:
            return True
        log.warning("%s: a new person was turned away, the plan's %d people are reached",
                    self.channel, self.cap)  # fmt: skip
        turn.say("zalo.full", cap=self.cap)
        return False


async def quota_notice(session: AsyncSession, figures: QuotaFigures, now: datetime) -> None:
    """Tell every coordinator, once, that bulk sending stopped on a channel for the month."""
    items = [
        OutboxItem(
            Outbound(
                coordinator.channel,
                coordinator.chat_id,
                t(
                    "zalo.quota_closed",
                    coordinator.lang,
                    channel=channel_name(figures.channel, coordinator.lang),
                    sent=figures.sent,
                    per_month=figures.per_month,
                    month=f"{figures.month[5:]}/{figures.month[:4]}",
                    reserve=max(0, figures.per_month - figures.sent),
                ),
            ),
            Priority.DIRECT,
            dedup_key=f"quota:{figures.channel}:{figures.month}:{coordinator.id}",
        )
        for coordinator in await coordinators(session)
    ]
    if not items:
        log.warning("%s: monthly quota reached and no coordinator is bound", figures.channel)
    await enqueue(session, items, now=now)
