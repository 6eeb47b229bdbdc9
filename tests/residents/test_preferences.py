"""A resident's delivery hour and muting: validation, storage, and the effect on the sweep."""

from __future__ import annotations

from datetime import datetime, time

import pytest
from sqlmodel import col, select

from bot.campaign.events import activate_campaign, sweep_due
from bot.chat.repository import get_subscriber
from bot.domain.campaign import Delivery
from bot.residents.preferences import (
    PreferenceResult,
    apply_delivery_hour,
    apply_posts_muted,
    parse_hour,
)
from bot.storage.db import Database
from bot.storage.models.residents import Subscriber
from messages import t
from tests.support.campaign import (
    START,
    add_subscriber,
    make_pack,
    outbox_rows,
    vn,
    window,
)

NOW = vn(START, 9)


async def set_delivery_hour(
    db: Database,
    *,
    channel: str,
    chat_id: str,
    hour: str | None,
    now: datetime,
    delivery: Delivery | None = None,
) -> PreferenceResult:
    """`apply_delivery_hour` in a transaction of its own (for these tests)."""
    async with db.session() as session:
        subscriber = await get_subscriber(session, channel=channel, chat_id=chat_id)
        return apply_delivery_hour(subscriber, hour, delivery=delivery or Delivery(), now=now)


async def set_posts_muted(
    db: Database, *, channel: str, chat_id: str, muted: bool, now: datetime
) -> PreferenceResult:
    """`apply_posts_muted` in a transaction of its own (for these tests)."""
    async with db.session() as session:
        subscriber = await get_subscriber(session, channel=channel, chat_id=chat_id)
        return apply_posts_muted(subscriber, muted, now=now)


async def stored(db: Database, chat_id: str) -> Subscriber:
    async with db.session() as session:
        return (
            await session.execute(select(Subscriber).where(col(Subscriber.chat_id) == chat_id))
        ).scalar_one()


def render(result: PreferenceResult, lang: str = "vi") -> str:
    """What the lead's handler will show; proves key and fields match the catalogue."""
    return t(result.key, lang, **result.fields)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("18:00", time(18, 0)),
        ("7:30", time(7, 30)),
        ("07:05", time(7, 5)),
        ("18h", time(18, 0)),
        ("18h30", time(18, 30)),
        ("7 giờ 30", time(7, 30)),
        ("7 gio\u031b\u0300 30", time(7, 30)),  # NFD, as some phones send it
        (" 20.15 ", time(20, 15)),
        ("24:00", None),
        ("7:60", None),
        ("bảy giờ", None),
        ("", None),
        ("18:0", None),
    ],
)
def test_parse_hour(text: str, expected: time | None) -> None:
    assert parse_hour(text) == expected


async def test_set_hour_stores_zero_padded_value(db: Database) -> None:
    await add_subscriber(db, "a", now=NOW)
    result = await set_delivery_hour(db, channel="telegram", chat_id="a", hour="18h", now=NOW)
    assert result.ok
    assert result.key == "preferences.hour.set"
    assert result.delivery_hour == "18:00"
    assert "18:00" in render(result)
    assert "18:00" in render(result, "en")
    sub = await stored(db, "a")
    assert sub.delivery_hour == "18:00"
    assert sub.updated_at == NOW


async def test_clearing_the_hour_returns_to_the_pack_default(db: Database) -> None:
    await add_subscriber(db, "a", now=NOW, hour="18:00")
    result = await set_delivery_hour(
        db, channel="telegram", chat_id="a", hour=None, now=NOW, delivery=Delivery(hour="08:00")
    )
    assert (result.ok, result.key, result.delivery_hour) == (True, "preferences.hour.reset", None)
    assert "08:00" in render(result)
    assert (await stored(db, "a")).delivery_hour is None


@pytest.mark.parametrize("hour", ["21:30", "21:00", "23:00", "05:30", "06:59", "00:00"])
async def test_hours_in_quiet_time_are_refused(db: Database, hour: str) -> None:
    await add_subscriber(db, "a", now=NOW, hour="18:00")
    result = await set_delivery_hour(db, channel="telegram", chat_id="a", hour=hour, now=NOW)
    assert not result.ok
    assert result.key == "preferences.hour.quiet"
    assert "21:00" in render(result)
    assert "07:00" in render(result, "en")
    assert (await stored(db, "a")).delivery_hour == "18:00"  # unchanged


async def test_hours_outside_05_21_are_refused_even_with_narrow_quiet_hours(
    db: Database,
) -> None:
    await add_subscriber(db, "a", now=NOW)
    narrow = Delivery(quiet_start="23:00", quiet_end="04:00")
    late = await set_delivery_hour(
        db, channel="telegram", chat_id="a", hour="21:30", now=NOW, delivery=narrow
    )
    early = await set_delivery_hour(
        db, channel="telegram", chat_id="a", hour="04:30", now=NOW, delivery=narrow
    )
    ok = await set_delivery_hour(
        db, channel="telegram", chat_id="a", hour="05:00", now=NOW, delivery=narrow
    )
    assert (late.key, early.key) == ("preferences.hour.out_of_range",) * 2
    assert "05:00" in render(late)
    assert "21:00" in render(late)
    assert ok.ok
    assert ok.delivery_hour == "05:00"


async def test_an_unreadable_hour_is_refused_with_a_key(db: Database) -> None:
    await add_subscriber(db, "a", now=NOW)
    result = await set_delivery_hour(db, channel="telegram", chat_id="a", hour="sáng", now=NOW)
    assert (result.ok, result.key) == (False, "preferences.hour.invalid")
    assert "HH:MM" in render(result)


async def test_unknown_or_stopped_residents_are_not_subscribed(db: Database) -> None:
    await add_subscriber(db, "gone", now=NOW, status="stopped")
    for chat_id in ("nobody", "gone"):
        hour = await set_delivery_hour(
            db, channel="telegram", chat_id=chat_id, hour="18:00", now=NOW
        )
        mute = await set_posts_muted(db, channel="telegram", chat_id=chat_id, muted=True, now=NOW)
        assert (hour.ok, hour.key) == (False, "preferences.not_subscribed")
        assert (mute.ok, mute.key) == (False, "preferences.not_subscribed")
    # the same chat id on another channel is another person
    await add_subscriber(db, "z", now=NOW, channel="zalo")
    other = await set_posts_muted(db, channel="telegram", chat_id="z", muted=True, now=NOW)
    assert other.key == "preferences.not_subscribed"


async def test_mute_and_unmute(db: Database) -> None:
    await add_subscriber(db, "a", now=NOW)
    first = await set_posts_muted(db, channel="telegram", chat_id="a", muted=True, now=NOW)
    again = await set_posts_muted(db, channel="telegram", chat_id="a", muted=True, now=NOW)
    back = await set_posts_muted(db, channel="telegram", chat_id="a", muted=False, now=NOW)
    assert [first.key, again.key, back.key] == [
        "preferences.posts.muted",
        "preferences.posts.already_muted",
        "preferences.posts.unmuted",
    ]
    assert "/batbai" in render(first)
    assert back.posts_muted is False
    assert (await stored(db, "a")).posts_muted is False


async def test_preferences_drive_the_sweep(db: Database) -> None:
    """A resident moves their hour to 18:00, mutes, unmutes: the outbox follows."""
    pack = make_pack()
    await activate_campaign(db, pack, now=vn(START, 0))
    await add_subscriber(db, "a", now=vn(START, 0))
    day = window(2)
    await set_delivery_hour(db, channel="telegram", chat_id="a", hour="18:00", now=vn(day, 6))
    assert (await sweep_due(db, pack, now=vn(day, 7, 30))).enqueued == 0
    assert (await sweep_due(db, pack, now=vn(day, 18))).enqueued == 1
    await set_posts_muted(db, channel="telegram", chat_id="a", muted=True, now=vn(day, 19))
    assert (await sweep_due(db, pack, now=vn(window(3), 18))).enqueued == 0
    await set_posts_muted(db, channel="telegram", chat_id="a", muted=False, now=vn(window(3), 19))
    assert (await sweep_due(db, pack, now=vn(window(3), 19))).enqueued == 1
    assert [r.day for r in await outbox_rows(db, "a")] == [2, 3]
