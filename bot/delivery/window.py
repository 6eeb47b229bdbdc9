"""Messaging windows: a platform (Zalo OA) delivers to a person only for a time after their last
interaction. Which claimed rows fall outside, judged from `subscriber.last_interaction_at`.

A row outside the window is `skipped` (a daily post is stale the next day), except a
coordinator's broadcast: that is `held` until the person interacts again (`release_held`, from
the intake that records the interaction) or until it expires (`expire_held`: then skipped)."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery import repository
from bot.delivery.keys import BROADCAST_TOPIC, TEMPLATE_TOPIC
from bot.delivery.outbox import Priority
from bot.delivery.repository import Job
from bot.delivery.templates import TemplateCounts, template_counts
from bot.storage.models.delivery import HELD, PENDING, SKIPPED, OutboxMessage
from bot.storage.models.residents import Subscriber

SUBSCRIBERS = Subscriber.__table__  # type: ignore[attr-defined]
OUTBOX = OutboxMessage.__table__  # type: ignore[attr-defined]
IN_CHUNK = 400
HOLD_FOR = timedelta(days=7)  # how long a held broadcast waits for its reader (a setting)
EXPIRED = "expired while outside the window"

log = logging.getLogger(__name__)


def _judged(job: Job) -> bool:
    """Rows checked against the window: bulk rows and broadcasts (urgent ones have reply
    priority). Replies answer an interaction that just happened and always go; template
    notices are not bound to the window."""
    if job.topic == TEMPLATE_TOPIC:
        return False
    return job.priority > int(Priority.REPLY) or job.topic == BROADCAST_TOPIC


async def skip_outside_window(
    session: AsyncSession,
    jobs: list[Job],
    *,
    channel: str,
    window: timedelta,
    now: datetime,
    hold_for: timedelta = HOLD_FOR,
) -> list[Job]:
    """Claimed rows the platform would refuse (the person's last interaction is older than the
    window, or there is none) leave the claim at once: a broadcast is `held` until `now +
    hold_for` (its expiry, in `next_attempt_at`), anything else is `skipped` with the reason,
    counted in its run. Returns the rows to send. Rows to chats without a subscriber row
    (officials) are left to the platform to judge."""
    last = await last_interactions(session, channel, [j.chat_id for j in jobs if _judged(j)])
    kept: list[Job] = []
    finals: list[dict[str, object]] = []
    holds: list[dict[str, object]] = []
    per_run: Counter[tuple[int, str]] = Counter()
    for job in jobs:
        reason = None
        if _judged(job) and job.chat_id in last:
            reason = outside_reason(last[job.chat_id], window, now)
        if reason is None:
            kept.append(job)
        elif job.topic == BROADCAST_TOPIC:
            holds.append({"b_id": job.id, "b_until": now + hold_for, "b_error": reason})
        else:
            finals.append({"b_id": job.id, "b_status": SKIPPED, "b_error": reason})
            if job.run_id is not None:
                per_run[(job.run_id, "skipped")] += 1
    if finals:
        await repository.mark_final(session, finals)
        await repository.add_run_counts(session, per_run)
        log.info("outbox %s: %d rows skipped (outside the window)", channel, len(finals))
    if holds:
        await session.execute(
            update(OUTBOX)
            .where(OUTBOX.c.id == bindparam("b_id"))
            .values(
                status=HELD,
                next_attempt_at=bindparam("b_until", type_=OUTBOX.c.next_attempt_at.type),
                last_error=bindparam("b_error"),
                claimed_at=None,
            ),
            holds,
        )
        log.info("outbox %s: %d broadcasts held (outside the window)", channel, len(holds))
    return kept


async def release_held(session: AsyncSession, *, channel: str, chat_id: str, now: datetime) -> int:
    """The person interacted: their held broadcasts not yet expired are due now (bulk order,
    after the reply to what they just sent). Returns how many."""
    result = await session.execute(
        update(OUTBOX)
        .where(
            OUTBOX.c.channel == channel,
            OUTBOX.c.chat_id == chat_id,
            OUTBOX.c.status == HELD,
            OUTBOX.c.next_attempt_at > now,
        )
        .values(status=PENDING, next_attempt_at=now, last_error=None)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def expire_held(session: AsyncSession, *, channel: str, now: datetime) -> int:
    """Held broadcasts whose reader did not come back in time become final: `skipped`, «expired
    while outside the window», counted in their run. Returns how many."""
    result = await session.execute(
        update(OUTBOX)
        .where(OUTBOX.c.channel == channel, OUTBOX.c.status == HELD)
        .where(OUTBOX.c.next_attempt_at <= now)
        .values(status=SKIPPED, last_error=EXPIRED, attempts=OUTBOX.c.attempts + 1)
        .returning(OUTBOX.c.run_id)
    )
    per_run: Counter[tuple[int, str]] = Counter()
    expired = 0
    for (run_id,) in result.all():
        expired += 1
        if run_id is not None:
            per_run[(run_id, "skipped")] += 1
    if expired:
        await repository.add_run_counts(session, per_run)
        log.info("outbox %s: %d held broadcasts expired", channel, expired)
    return expired


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
    """Residents of one windowed channel by reachability, the sends skipped, by reason, and the
    broadcasts held until their readers write again."""

    channel: str
    in_window: int
    out_of_window: int
    not_following: int
    skipped: dict[str, int]
    held: int = 0
    templates: TemplateCounts | None = None  # when the channel's template lane is on

    def describe(self, window: timedelta) -> str:
        """One operator line (counts only)."""
        line = (
            f"{self.channel}: {self.in_window} in the {window.days}-day window, "
            f"{self.out_of_window} out of it, {self.not_following} not following"
        )
        if self.skipped:
            reasons = ", ".join(f"{reason} {n}" for reason, n in sorted(self.skipped.items()))
            line += f"; messages skipped: {reasons}"
        if self.held:
            line += f"; broadcasts held until the resident writes again: {self.held}"
        if self.templates is not None:
            line += f"; {self.templates.describe()}"
        return line


async def window_counts(
    session: AsyncSession,
    channel: str,
    window: timedelta,
    now: datetime,
    *,
    template_quota: int | None = None,
) -> WindowCounts:
    """Active residents inside / outside the window, those who left (blocked), skipped rows;
    with `template_quota` (the lane is on), the template notices of the day."""
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
    outbox = OUTBOX.c
    skipped = await session.execute(
        select(outbox.last_error, func.count())
        .where(outbox.channel == channel, outbox.status == SKIPPED)
        .group_by(outbox.last_error)
    )
    held = await session.execute(
        select(func.count()).where(outbox.channel == channel, outbox.status == HELD)
    )
    return WindowCounts(
        channel=channel,
        in_window=inside,
        out_of_window=outside,
        not_following=gone,
        skipped={str(reason or "?"): count for reason, count in skipped.all()},
        held=int(held.scalar_one()),
        templates=(
            await template_counts(session, channel, template_quota, now)
            if template_quota is not None
            else None
        ),
    )
