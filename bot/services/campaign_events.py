"""Campaign events as rows, and the sweep that turns the due ones into outbox rows.

`activate_campaign` materialises one `daily_post` event per day of the window (at the pack's
delivery hour, Vietnam time, stored in UTC). `sweep_due` runs every minute (scheduler job, or a
test with a FakeClock) and fans today's post out to subscribers, in SQL, as BULK outbox rows.

Decisions (the rules the tests pin down):

- **Only today's post is ever sent.** The "day" is the Vietnam calendar date of `now`. A pending
  event of an earlier day is closed by the next sweep: `done` if its fan-out had started, `missed`
  if nothing went out. We never send yesterday's post late: a post numbered "Day 3/31" arriving on
  day 4, next to day 4's post, reads as a glitch and doubles the day's messages.
- **The event of today is open all day long.** Its `due_at` is the pack's default hour; each
  subscriber's own effective hour (`delivery_hour`, else the pack's) decides when their row is
  inserted, so a resident who picked 07:00 gets it before the default 07:30 and one who picked
  18:00 gets it at 18:00, all under the same BulkRun.
- **Late joiners get today's post.** A resident who subscribes at 15:00 on day 5 is picked up by
  the next sweep and gets day 5's post at once (their effective hour has passed), unless it is
  quiet hours; then it waits until they end (still the same day) — or is never sent if the day
  ends first.
- **Quiet hours** (`pack.delivery.is_quiet`): the sweep enqueues nothing bulk; what fell due waits
  until they end. The dispatcher also holds every row but replies then (`quiet_predicate`):
  posts, broadcasts and deadline reminders.
- **Restarts, late starts and clock jumps are harmless.** Every outbox row carries the dedup key
  `post:<campaign>:<day>:<subscriber id>` (unique), and the sweep only inserts rows whose key is
  absent, so running it twice, after a restart, or after the clock went back, repeats nothing.
  If the clock jumps back into a day whose event was already closed (e.g. a wrong forward jump
  was corrected), that event is reopened: it is today again, and dedup keys stop any repeat.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import String, and_, case, cast, exists, literal, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from bot.clock import VN_TZ, format_vn_date
from bot.delivery.outbox import Priority, encode_choices, start_run
from bot.domain.campaign import CampaignPack, in_lang
from bot.services.followers import renew_choice
from bot.storage.db import Database
from bot.storage.models.delivery import PENDING as OUTBOX_PENDING
from bot.storage.models.delivery import BulkRun, OutboxMessage
from bot.storage.models.events import CampaignEvent
from bot.storage.models.residents import Subscriber
from bot.storage.types import UTCDateTime
from messages import t

log = logging.getLogger(__name__)

DAILY_POST = "daily_post"
PENDING = "pending"
DONE = "done"
MISSED = "missed"
CANCELLED = "cancelled"
# On a channel with a messaging window (Zalo OA: 7 days from the person's last message), the
# post of someone silent for this long says how to keep receiving, once, before they drop out.
WINDOW_WARNING_AFTER = timedelta(days=6)
WINDOW_LENGTH = timedelta(days=7)

# (pack, day, lang) -> the full text of that day's post in that language.
PostRenderer = Callable[[CampaignPack, int, str], str]


@dataclass(frozen=True, slots=True)
class ActivationResult:
    """What `activate_campaign` changed."""

    created: int = 0
    updated: int = 0
    cancelled: int = 0
    unchanged: int = 0


@dataclass(frozen=True, slots=True)
class SweepResult:
    """What one sweep did; counts only, never who."""

    day: int | None = None  # window day of today, None outside the window
    enqueued: int = 0  # outbox rows inserted by this sweep
    run_id: int | None = None
    closed_done: int = 0  # past events closed after their fan-out had started
    closed_missed: int = 0  # past events closed with nothing sent
    quiet: bool = False  # quiet hours: nothing bulk was enqueued
    reopened: bool = False  # today's event had been closed (the clock went back)


def post_event_key(campaign_id: str, day: int) -> str:
    """The unique key of a daily-post event, e.g. `ky-lua-2025:post:3`."""
    return f"{campaign_id}:post:{day}"


def post_dedup_prefix(campaign_id: str, day: int) -> str:
    """The outbox dedup key of a day's post, without the subscriber id."""
    return f"post:{campaign_id}:{day}:"


def local_datetime(day: date, at: time) -> datetime:
    """A Vietnam wall-clock date and time, as an aware datetime."""
    return datetime.combine(day, at, tzinfo=VN_TZ)


def window_day(pack: CampaignPack, when: datetime) -> int | None:
    """The window day (1-based) of `when` on Vietnam's calendar, or None outside the window."""
    today = when.astimezone(VN_TZ).date()
    if not pack.campaign.start <= today <= pack.campaign.end:
        return None
    return (today - pack.campaign.start).days + 1


def quiet_predicate(pack: CampaignPack) -> Callable[[datetime], bool]:
    """`is_quiet(now_utc)` for the dispatcher: True while the pack's quiet hours last."""
    delivery = pack.delivery

    def is_quiet(now: datetime) -> bool:
        return delivery.is_quiet(now.astimezone(VN_TZ).time())

    return is_quiet


def render_post(pack: CampaignPack, day: int, lang: str) -> str:
    """A day's post for one language: header, the pack's text (English when given), footer."""
    post = pack.post_for(day)
    if post is None:
        raise ValueError(f"the pack has no post for day {day}")
    body = in_lang(lang, post.text, post.text_en)
    header = t("posts.header", lang, day=day, days=pack.window_days)
    footer = t("posts.footer", lang)
    return f"{header}\n\n{body}\n\n{footer}"


def _post_payload(pack: CampaignPack, day: int) -> str:
    return json.dumps({"day": day, "date": pack.day_date(day).isoformat()}, sort_keys=True)


async def activate_campaign(db: Database, pack: CampaignPack, *, now: datetime) -> ActivationResult:
    """Materialise one daily_post event per day of the window that has a post; idempotent.

    Activating again with an edited pack moves or re-describes the events still pending and
    cancels the pending ones the pack dropped; done, missed and cancelled events are left alone.
    """
    campaign_id = pack.campaign.id
    wanted: dict[str, tuple[datetime, str]] = {}
    for day in range(1, pack.window_days + 1):
        if pack.post_for(day) is None:
            continue
        due = local_datetime(pack.day_date(day), pack.delivery.hour_time)
        wanted[post_event_key(campaign_id, day)] = (due, _post_payload(pack, day))

    async with db.session() as session:
        result = await sync_events(
            session,
            campaign_id=campaign_id,
            wanted={key: (DAILY_POST, due, payload) for key, (due, payload) in wanted.items()},
            kinds=(DAILY_POST,),
            now=now,
        )
    log.info(
        "campaign %s activated: %d created, %d updated, %d cancelled, %d unchanged",
        campaign_id,
        result.created,
        result.updated,
        result.cancelled,
        result.unchanged,
    )
    return result


# key → (kind, due_at, payload) of the events a pack wants
WantedEvents = dict[str, tuple[str, datetime, str]]


async def sync_events(
    session: AsyncSession,
    *,
    campaign_id: str,
    wanted: WantedEvents,
    kinds: Sequence[str],
    now: datetime,
) -> ActivationResult:
    """Make the pending events of `kinds` match `wanted`: create, move, cancel; idempotent.

    Done, missed and cancelled events are history and are never touched.
    """
    created = updated = cancelled = unchanged = 0
    rows = await session.execute(
        select(CampaignEvent).where(
            col(CampaignEvent.campaign_id) == campaign_id,
            col(CampaignEvent.kind).in_(kinds),
        )
    )
    existing = {event.key: event for event in rows.scalars()}
    for key, (kind, due, payload) in wanted.items():
        event = existing.get(key)
        if event is None:
            session.add(
                CampaignEvent(
                    campaign_id=campaign_id,
                    kind=kind,
                    key=key,
                    payload=payload,
                    due_at=due,
                    status=PENDING,
                    created_at=now,
                    updated_at=now,
                )
            )
            created += 1
        elif event.status == PENDING and (event.due_at != due or event.payload != payload):
            event.due_at, event.payload, event.updated_at = due, payload, now
            updated += 1
        else:
            unchanged += 1
    for key, event in existing.items():
        if key not in wanted and event.status == PENDING:
            event.status, event.processed_at, event.updated_at = CANCELLED, now, now
            cancelled += 1
    return ActivationResult(
        created=created, updated=updated, cancelled=cancelled, unchanged=unchanged
    )


async def _close_past_events(
    session: AsyncSession, campaign_id: str, today_start: datetime, now: datetime
) -> tuple[int, int]:
    """Close pending daily posts of days before today: done if started, missed if not."""
    counts = []
    for started, status in ((True, DONE), (False, MISSED)):
        run_test = (
            col(CampaignEvent.run_id).is_not(None)
            if started
            else col(CampaignEvent.run_id).is_(None)
        )
        result = await session.execute(
            update(CampaignEvent)
            .where(
                col(CampaignEvent.campaign_id) == campaign_id,
                col(CampaignEvent.kind) == DAILY_POST,
                col(CampaignEvent.status) == PENDING,
                col(CampaignEvent.due_at) < today_start,
                run_test,
            )
            .values(status=status, processed_at=now, updated_at=now)
        )
        counts.append(int(getattr(result, "rowcount", 0) or 0))
    return counts[0], counts[1]


def _audience(
    pack: CampaignPack, now_local: datetime, channels: Sequence[str] | None, dedup_key: Any
) -> list[ColumnElement[bool]]:
    """Who gets today's post now: active, not muted, their hour has come, no row yet."""
    default_hour = pack.delivery.hour
    # "HH:MM" strings compare like times; preferences only store zero-padded values.
    effective_hour = case(
        (col(Subscriber.delivery_hour).is_(None), literal(default_hour)),
        else_=col(Subscriber.delivery_hour),
    )
    conditions: list[ColumnElement[bool]] = [
        col(Subscriber.status) == "active",
        col(Subscriber.posts_muted).is_(False),
        effective_hour <= now_local.strftime("%H:%M"),
        # An anti-join before the insert: ON CONFLICT alone would burn an id from PostgreSQL's
        # sequence for every subscriber on every sweep.
        ~exists().where(col(OutboxMessage.dedup_key) == dedup_key),
    ]
    if channels is not None:
        conditions.append(col(Subscriber.channel).in_(list(channels)))
    return conditions


def _dedup_key_expr(campaign_id: str, day: int) -> ColumnElement[str]:
    """`post:<campaign>:<day>:<subscriber id>` computed in SQL (|| on SQLite and PostgreSQL)."""
    return literal(post_dedup_prefix(campaign_id, day), String) + cast(col(Subscriber.id), String)


async def _anyone_due(
    session: AsyncSession,
    pack: CampaignPack,
    day: int,
    now_local: datetime,
    channels: Sequence[str] | None,
) -> bool:
    """True if at least one subscriber should get today's post now."""
    dedup_key = _dedup_key_expr(pack.campaign.id, day)
    query = (
        select(col(Subscriber.id)).where(*_audience(pack, now_local, channels, dedup_key)).limit(1)
    )
    return (await session.execute(query)).first() is not None


async def _fan_out(
    session: AsyncSession,
    pack: CampaignPack,
    day: int,
    run_id: int,
    now: datetime,
    channels: Sequence[str] | None,
    lang_text: PostRenderer,
    windowed: Sequence[str] = (),
) -> int:
    """INSERT INTO outbox … SELECT … FROM subscriber: one row per due subscriber, in SQL."""
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert_fn = pg_insert if dialect == "postgresql" else sqlite_insert
    outbox = OutboxMessage.__table__  # type: ignore[attr-defined]
    dedup_key = _dedup_key_expr(pack.campaign.id, day)
    base = _audience(pack, now.astimezone(VN_TZ), channels, dedup_key)
    now_value = literal(now, UTCDateTime())
    inserted = 0
    # English readers get the English rendering; anything else reads Vietnamese, the reference.
    for lang, lang_test in (
        ("en", col(Subscriber.lang) == "en"),
        ("vi", col(Subscriber.lang) != "en"),
    ):
        text = lang_text(pack, day, lang)
        text_expr, choices_expr = _windowed_columns(text, lang, now, windowed)
        source = select(
            col(Subscriber.channel),
            col(Subscriber.chat_id),
            text_expr,
            choices_expr,
            literal(1),
            literal(int(Priority.BULK)),
            literal(OUTBOX_PENDING),
            literal(0),
            now_value,
            now_value,
            literal(run_id),
            dedup_key,
        ).where(and_(*base, lang_test))
        stmt = (
            insert_fn(outbox)
            .from_select(
                [
                    "channel",
                    "chat_id",
                    "text",
                    "choices",
                    "columns",
                    "priority",
                    "status",
                    "attempts",
                    "next_attempt_at",
                    "created_at",
                    "run_id",
                    "dedup_key",
                ],
                source,
            )
            .on_conflict_do_nothing(index_elements=["dedup_key"])
        )
        result = await session.execute(stmt)
        inserted += int(getattr(result, "rowcount", 0) or 0)
    return inserted


def _windowed_columns(
    text: str, lang: str, now: datetime, windowed: Sequence[str]
) -> tuple[ColumnElement[str], ColumnElement[str]]:
    """The post's text and choices: on windowed channels with the one-tap renewal, and with a
    last friendly note for whoever is in the last day of their window."""
    if not windowed:
        return literal(text), literal("[]")
    on_windowed = col(Subscriber.channel).in_(list(windowed))
    seen = col(Subscriber.last_interaction_at)
    ending = and_(
        on_windowed,
        seen <= literal(now - WINDOW_WARNING_AFTER, UTCDateTime()),
        seen >= literal(now - WINDOW_LENGTH, UTCDateTime()),
    )
    note = text + "\n\n" + t("zalo_oa.window_ending", lang)
    text_expr = case((ending, literal(note)), else_=literal(text))
    renew = encode_choices([renew_choice(lang)])
    choices_expr = case((on_windowed, literal(renew)), else_=literal("[]"))
    return text_expr, choices_expr


async def sweep_due(
    db: Database,
    pack: CampaignPack,
    *,
    now: datetime,
    lang_text: PostRenderer | None = None,
    channels: Sequence[str] | None = None,
    windowed: Sequence[str] = (),
) -> SweepResult:
    """Close past days' events, then fan today's post out to every subscriber whose hour has come.

    Idempotent: safe to run every minute, twice in a row, after a restart or a clock jump.
    `lang_text(pack, day, lang)` renders a post (default `render_post`); `channels` limits the
    audience to some channels (default: every channel); `windowed` names the channels whose
    messages reach a person only within a window after their last message (Zalo OA).
    """
    render = lang_text or render_post
    campaign_id = pack.campaign.id
    now_local = now.astimezone(VN_TZ)
    today_start = local_datetime(now_local.date(), time(0, 0))
    day = window_day(pack, now)
    async with db.session() as session:
        closed_done, closed_missed = await _close_past_events(
            session, campaign_id, today_start, now
        )
        if day is None or pack.post_for(day) is None:
            return SweepResult(day=day, closed_done=closed_done, closed_missed=closed_missed)
        if pack.delivery.is_quiet(now_local.time()):
            return SweepResult(
                day=day, closed_done=closed_done, closed_missed=closed_missed, quiet=True
            )
        event = (
            await session.execute(
                select(CampaignEvent).where(
                    col(CampaignEvent.key) == post_event_key(campaign_id, day)
                )
            )
        ).scalar_one_or_none()
        if event is None or event.status == CANCELLED:
            # not activated (or dropped from the pack): nothing to send
            return SweepResult(day=day, closed_done=closed_done, closed_missed=closed_missed)
        reopened = event.status != PENDING
        if reopened:
            log.warning("event %s reopened: the clock is back on its day", event.key)
            event.status = PENDING
            event.processed_at = None
            event.updated_at = now
        if event.run_id is None:
            # Open the day's BulkRun only once someone is due, so no empty run appears at 00:00.
            if not await _anyone_due(session, pack, day, now_local, channels):
                return SweepResult(
                    day=day,
                    closed_done=closed_done,
                    closed_missed=closed_missed,
                    reopened=reopened,
                )
            label = t(
                "posts.run_label",
                "vi",
                campaign=campaign_id,
                day=day,
                date=format_vn_date(local_datetime(pack.day_date(day), time(12, 0))),
            )
            event.run_id = await start_run(session, kind=DAILY_POST, label=label, now=now)
            event.updated_at = now
        run_id = event.run_id
        enqueued = await _fan_out(session, pack, day, run_id, now, channels, render, windowed)
        if enqueued:
            # Reopen the run: the dispatcher's finish_runs may have closed it after the first wave.
            await session.execute(
                update(BulkRun)
                .where(col(BulkRun.id) == run_id)
                .values(queued=col(BulkRun.queued) + enqueued, status="running", finished_at=None)
            )
    return SweepResult(
        day=day,
        enqueued=enqueued,
        run_id=run_id,
        closed_done=closed_done,
        closed_missed=closed_missed,
        reopened=reopened,
    )
