"""Template notices: one paid, pre-approved message that tells a resident outside a messaging
window (Zalo OA: 7 days) that the ward has an announcement waiting, so they write again and the
held broadcast goes (bot/delivery/window.py). Off unless a channel's template is configured.

- Queued when a broadcast is held for a resident (and at start for those already held): one
  notice per resident, none while another was queued in the last `every` (7 days); the dedup key
  carries the Vietnam day, so a repeated step or a restart inserts nothing twice.
- Sent through the outbox like every message, but not judged by the window, and only while the
  gate allows: within `hours` Vietnam time (tag 2 sends 07:00–22:00) and within the ward's
  `daily_quota` of notices a Vietnam day; rows beyond wait for the next window of hours, without
  counting an attempt. A channel that stopped its template lane (the template refused) keeps
  them waiting too.
- A notice is not an interaction: the held broadcast goes only when the resident writes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.base import Outbound
from bot.clock import VN_TZ
from bot.config import ZaloOaSettings
from bot.delivery import repository
from bot.delivery.keys import BROADCAST_TOPIC, TEMPLATE_TOPIC, template_key
from bot.delivery.outbox import OutboxItem, Priority, enqueue
from bot.delivery.repository import Job
from bot.storage.models.delivery import HELD, PENDING, SENDING, SENT, OutboxMessage

OUTBOX = OutboxMessage.__table__  # type: ignore[attr-defined]
IN_CHUNK = 400
STOPPED_WAIT = timedelta(hours=1)  # how long notices wait while the channel's lane is stopped

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TemplateNotices:
    """A channel's template lane: the ward's cap a Vietnam day, the sending hours, the fields."""

    daily_quota: int
    fields: tuple[tuple[str, str], ...] = ()  # fixed (field, value) pairs: the ward's name
    date_field: str | None = None  # a field set to the day the notice is queued (dd/mm/yyyy)
    every: timedelta = timedelta(days=7)  # at most one notice per resident this often
    start: time = time(7)  # Vietnam time, inclusive
    end: time = time(22)  # Vietnam time, exclusive

    def fields_on(self, now: datetime) -> tuple[tuple[str, str], ...]:
        """The notice's fields for a notice queued at `now`."""
        if not self.date_field:
            return self.fields
        return (*self.fields, (self.date_field, f"{now.astimezone(VN_TZ):%d/%m/%Y}"))

    def next_open(self, now: datetime) -> datetime | None:
        """None inside the sending hours; else when they open next."""
        local = now.astimezone(VN_TZ)
        if self.start <= local.time() < self.end:
            return None
        day = local.date() if local.time() < self.start else local.date() + timedelta(days=1)
        return datetime.combine(day, self.start, tzinfo=VN_TZ)

    def tomorrow(self, now: datetime) -> datetime:
        """When the next Vietnam day's sending hours open."""
        day = now.astimezone(VN_TZ).date() + timedelta(days=1)
        return datetime.combine(day, self.start, tzinfo=VN_TZ)


def oa_notices(oa: ZaloOaSettings | None, locality: str) -> dict[str, TemplateNotices] | None:
    """The Zalo OA's template lane from its settings, or None when it is off."""
    if oa is None or not oa.template_id:
        return None
    fields = (
        ((oa.template_ward_field, oa.template_ward or locality),) if oa.template_ward_field else ()
    )
    lane = TemplateNotices(
        daily_quota=oa.template_daily_quota,
        fields=fields,
        date_field=oa.template_date_field or None,
    )
    return {"zalo_oa": lane}


def day_start(now: datetime) -> datetime:
    """Midnight of `now`'s Vietnam day."""
    return datetime.combine(now.astimezone(VN_TZ).date(), time(0), tzinfo=VN_TZ)


async def queue_notices(
    session: AsyncSession,
    *,
    channel: str,
    chat_ids: Iterable[str],
    lane: TemplateNotices,
    now: datetime,
) -> int:
    """One notice to each of `chat_ids` that had none queued within `lane.every`; returns how
    many rows were inserted."""
    wanted = sorted(set(chat_ids))
    recent: set[str] = set()
    for start in range(0, len(wanted), IN_CHUNK):
        rows = await session.execute(
            select(OUTBOX.c.chat_id)
            .distinct()
            .where(
                OUTBOX.c.channel == channel,
                OUTBOX.c.topic == TEMPLATE_TOPIC,
                OUTBOX.c.created_at > now - lane.every,
                OUTBOX.c.chat_id.in_(wanted[start : start + IN_CHUNK]),
            )
        )
        recent.update(chat_id for (chat_id,) in rows.all())
    day = f"{now.astimezone(VN_TZ):%Y%m%d}"
    fields = lane.fields_on(now)
    items = [
        OutboxItem(
            message=Outbound(
                channel=channel, chat_id=chat_id, text="template notice", template=fields
            ),
            priority=Priority.DIRECT,
            dedup_key=template_key(channel, chat_id, day),
            topic=TEMPLATE_TOPIC,
        )
        for chat_id in wanted
        if chat_id not in recent
    ]
    inserted = await enqueue(session, items, now=now)
    if inserted:
        log.info("outbox %s: %d template notices queued", channel, inserted)
    return inserted


async def queue_for_held(
    session: AsyncSession, *, channel: str, lane: TemplateNotices, now: datetime
) -> int:
    """Notices to every resident who has held broadcasts (those held before the lane was on)."""
    rows = await session.execute(
        select(OUTBOX.c.chat_id)
        .distinct()
        .where(
            OUTBOX.c.channel == channel, OUTBOX.c.status == HELD, OUTBOX.c.topic == BROADCAST_TOPIC
        )
    )
    chat_ids = [chat_id for (chat_id,) in rows.all()]
    return await queue_notices(session, channel=channel, chat_ids=chat_ids, lane=lane, now=now)


async def sent_today(session: AsyncSession, channel: str, now: datetime) -> int:
    """Notices the platform accepted since midnight Vietnam time."""
    result = await session.execute(
        select(func.count()).where(
            OUTBOX.c.channel == channel,
            OUTBOX.c.topic == TEMPLATE_TOPIC,
            OUTBOX.c.status == SENT,
            OUTBOX.c.sent_at >= day_start(now),
        )
    )
    return int(result.scalar_one())


async def gate(
    session: AsyncSession,
    jobs: list[Job],
    *,
    channel: str,
    lane: TemplateNotices,
    now: datetime,
    open_: bool = True,
) -> list[Job]:
    """Claimed notices that may not go now go back to pending until they may (not an attempt):
    outside the sending hours, beyond the day's quota, or while the lane is stopped. Returns
    the rows to send."""
    notices = [job for job in jobs if job.topic == TEMPLATE_TOPIC]
    if not notices:
        return jobs
    until = lane.next_open(now) if open_ else now + STOPPED_WAIT
    reason = "waiting: outside the sending hours" if open_ else "waiting: the lane is stopped"
    allowed = 0
    if until is None:
        in_flight = await session.execute(
            select(func.count()).where(
                OUTBOX.c.channel == channel,
                OUTBOX.c.topic == TEMPLATE_TOPIC,
                OUTBOX.c.status == SENDING,
            )
        )  # includes this claim's notices
        used = await sent_today(session, channel, now) + int(in_flight.scalar_one()) - len(notices)
        allowed = max(0, lane.daily_quota - used)
        until = lane.tomorrow(now)
        reason = "waiting: the day's quota of notices is used"
    later = notices[allowed:]
    # back to pending until `until`, not counted as an attempt
    await repository.mark_retry(
        session,
        [
            {"b_id": j.id, "b_attempts": j.attempts, "b_next": until, "b_error": reason}
            for j in later
        ],
    )
    back = {job.id for job in later}
    return [job for job in jobs if job.id not in back]


@dataclass(frozen=True, slots=True)
class TemplateCounts:
    """A channel's template lane today: notices sent, the ward's daily cap, residents waiting."""

    sent_today: int
    daily_quota: int
    waiting: int

    def describe(self) -> str:
        """The operator's words (counts only)."""
        return (
            f"template notices sent today: {self.sent_today}/{self.daily_quota}, "
            f"residents waiting for one: {self.waiting}"
        )


async def template_counts(
    session: AsyncSession, channel: str, daily_quota: int, now: datetime
) -> TemplateCounts:
    """Notices sent today and residents whose notice is still to go."""
    waiting = await session.execute(
        select(func.count(distinct(OUTBOX.c.chat_id))).where(
            OUTBOX.c.channel == channel,
            OUTBOX.c.topic == TEMPLATE_TOPIC,
            OUTBOX.c.status.in_((PENDING, SENDING)),
        )
    )
    return TemplateCounts(
        sent_today=await sent_today(session, channel, now),
        daily_quota=daily_quota,
        waiting=int(waiting.scalar_one()),
    )
