"""Campaign events' SQL: loading and closing events, who is due a post, the fan-out insert."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, and_, case, cast, exists, literal, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from bot.delivery.outbox import Priority
from bot.storage.models.delivery import PENDING as OUTBOX_PENDING
from bot.storage.models.delivery import BulkRun, OutboxMessage, RunStatus
from bot.storage.models.events import DAILY_POST, DONE, MISSED, PENDING, CampaignEvent
from bot.storage.models.residents import Subscriber, SubscriberStatus
from bot.storage.types import UTCDateTime


async def load_events(
    session: AsyncSession, *, campaign_id: str, kinds: Sequence[str]
) -> dict[str, CampaignEvent]:
    """A campaign's events of `kinds`, by key."""
    rows = await session.execute(
        select(CampaignEvent).where(
            col(CampaignEvent.campaign_id) == campaign_id,
            col(CampaignEvent.kind).in_(kinds),
        )
    )
    return {event.key: event for event in rows.scalars()}


async def event_by_key(session: AsyncSession, key: str) -> CampaignEvent | None:
    """The event with this unique key, if any."""
    result = await session.execute(select(CampaignEvent).where(col(CampaignEvent.key) == key))
    return result.scalar_one_or_none()


async def close_past_posts(
    session: AsyncSession, *, campaign_id: str, today_start: datetime, now: datetime
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
    default_hour: str, now_local: datetime, channels: Sequence[str] | None, dedup_key: Any
) -> list[ColumnElement[bool]]:
    """Who gets today's post now: active, not muted, their hour has come, no row yet."""
    # "HH:MM" strings compare like times; preferences only store zero-padded values.
    effective_hour = case(
        (col(Subscriber.delivery_hour).is_(None), literal(default_hour)),
        else_=col(Subscriber.delivery_hour),
    )
    conditions: list[ColumnElement[bool]] = [
        col(Subscriber.status) == SubscriberStatus.ACTIVE,
        col(Subscriber.posts_muted).is_(False),
        effective_hour <= now_local.strftime("%H:%M"),
        # An anti-join before the insert: ON CONFLICT alone would burn an id from PostgreSQL's
        # sequence for every subscriber on every sweep.
        ~exists().where(col(OutboxMessage.dedup_key) == dedup_key),
    ]
    if channels is not None:
        conditions.append(col(Subscriber.channel).in_(list(channels)))
    return conditions


def _dedup_key_expr(dedup_prefix: str) -> ColumnElement[str]:
    """`post:<campaign>:<day>:<subscriber id>` computed in SQL (|| on SQLite and PostgreSQL)."""
    return literal(dedup_prefix, String) + cast(col(Subscriber.id), String)


async def anyone_due(
    session: AsyncSession,
    *,
    default_hour: str,
    dedup_prefix: str,
    now_local: datetime,
    channels: Sequence[str] | None,
) -> bool:
    """True if at least one subscriber should get today's post now."""
    dedup_key = _dedup_key_expr(dedup_prefix)
    query = (
        select(col(Subscriber.id))
        .where(*_audience(default_hour, now_local, channels, dedup_key))
        .limit(1)
    )
    return (await session.execute(query)).first() is not None


@dataclass(frozen=True, slots=True)
class WindowedPost:
    """How a post differs on channels with a messaging window (Zalo OA: 7 days after the
    person's last message): a one-tap renewal under it (`choices` per language, encoded), and
    for someone silent since `warn_after` but still inside `window`, the text with a last note
    (`ending_texts` per language)."""

    channels: Sequence[str]
    choices: Mapping[str, str]
    ending_texts: Mapping[str, str]
    warn_after: timedelta
    window: timedelta


def _post_columns(
    text: str, lang: str, now: datetime, windowed: WindowedPost | None
) -> tuple[ColumnElement[str], ColumnElement[str]]:
    """The text and choices columns of one language's rows."""
    if windowed is None or not windowed.channels:
        return literal(text), literal("[]")
    on_windowed = col(Subscriber.channel).in_(list(windowed.channels))
    seen = col(Subscriber.last_interaction_at)
    ending = and_(
        on_windowed,
        seen <= literal(now - windowed.warn_after, UTCDateTime()),
        seen > literal(now - windowed.window, UTCDateTime()),
    )
    text_expr = case((ending, literal(windowed.ending_texts[lang])), else_=literal(text))
    choices_expr = case((on_windowed, literal(windowed.choices[lang])), else_=literal("[]"))
    return text_expr, choices_expr


async def fan_out(
    session: AsyncSession,
    *,
    texts: Mapping[str, str],
    default_hour: str,
    dedup_prefix: str,
    run_id: int,
    now: datetime,
    now_local: datetime,
    channels: Sequence[str] | None,
    windowed: WindowedPost | None = None,
) -> int:
    """INSERT INTO outbox … SELECT … FROM subscriber: one row per due subscriber, in SQL.

    `texts` holds the post in "en" and "vi".
    """
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert_fn = pg_insert if dialect == "postgresql" else sqlite_insert
    outbox = OutboxMessage.__table__  # type: ignore[attr-defined]
    dedup_key = _dedup_key_expr(dedup_prefix)
    base = _audience(default_hour, now_local, channels, dedup_key)
    now_value = literal(now, UTCDateTime())
    inserted = 0
    # English readers get the English rendering; anything else reads Vietnamese, the reference.
    for lang, lang_test in (
        ("en", col(Subscriber.lang) == "en"),
        ("vi", col(Subscriber.lang) != "en"),
    ):
        text_expr, choices_expr = _post_columns(texts[lang], lang, now, windowed)
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


async def add_to_run(session: AsyncSession, *, run_id: int, enqueued: int) -> None:
    """Count `enqueued` more messages in a run and reopen it.

    The dispatcher's finish_runs may have closed the run after the first wave.
    """
    await session.execute(
        update(BulkRun)
        .where(col(BulkRun.id) == run_id)
        .values(queued=col(BulkRun.queued) + enqueued, status=RunStatus.RUNNING, finished_at=None)
    )
