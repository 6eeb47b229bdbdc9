"""Campaign events as rows and the sweep, over a simulated month with a FakeClock.

What is checked is what lands in the outbox (the dispatcher is tested on its own).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import text
from sqlmodel import select

from bot.campaign.events import (
    activate_campaign,
    quiet_predicate,
    render_post,
    sweep_due,
    window_day,
)
from bot.clock import FakeClock
from bot.domain.campaign import CampaignPack, Delivery
from bot.storage.db import Database
from bot.storage.models.delivery import BulkRun
from tests.support.campaign import (
    CAMPAIGN,
    DAYS,
    END,
    START,
    add_subscriber,
    events,
    make_pack,
    outbox_rows,
    run_until,
    update_subscriber,
    vn,
    window,
)

# ---- pure helpers ---------------------------------------------------------------------------


def test_window_day_uses_vietnam_calendar() -> None:
    pack = make_pack()
    # 23:30 UTC on 14/11 is already 06:30 on 15/11 in Vietnam
    assert window_day(pack, datetime(2025, 11, 14, 23, 30, tzinfo=UTC)) == 1
    assert window_day(pack, vn(date(2025, 11, 14), 23, 59)) is None
    assert window_day(pack, vn(END, 23, 59)) == DAYS
    assert window_day(pack, vn(END + timedelta(days=1), 0, 0)) is None


def test_quiet_predicate_reads_vietnam_time() -> None:
    is_quiet = quiet_predicate(make_pack())
    assert is_quiet(vn(START, 21, 0))
    assert is_quiet(vn(START, 6, 59))
    assert not is_quiet(vn(START, 7, 0))
    assert not is_quiet(vn(START, 20, 59))


def test_render_post_per_language() -> None:
    pack = make_pack()
    vi_text = render_post(pack, 3, "vi")
    assert vi_text.startswith("📣 Tháng hành động · Ngày 3/31")
    assert "Thông điệp ngày 3." in vi_text
    assert "/huy" in vi_text
    assert "/trogiup" in vi_text
    en_text = render_post(pack, 3, "en")
    assert en_text.startswith("📣 Action Month · Day 3/31")
    assert "Message of day 3." in en_text
    # without an English text the reference (Vietnamese) body is used
    assert "Thông điệp ngày 3." in render_post(make_pack(english=False), 3, "en")


# ---- activation -----------------------------------------------------------------------------


async def test_activation_materialises_one_event_per_day(db: Database) -> None:
    now = vn(date(2025, 11, 1), 9)
    result = await activate_campaign(db, make_pack(), now=now)
    assert result.created == DAYS
    by_day = await events(db)
    assert sorted(by_day) == list(range(1, DAYS + 1))
    assert by_day[1].key == "ky-lua-2025:post:1"
    assert by_day[3].due_at == vn(date(2025, 11, 17), 7, 30)
    assert by_day[3].due_at.utcoffset() == timedelta(0)  # stored and read back as UTC
    assert all(e.status == "pending" and e.kind == "daily_post" for e in by_day.values())


async def test_activation_is_idempotent(db: Database) -> None:
    now = vn(date(2025, 11, 1), 9)
    await activate_campaign(db, make_pack(), now=now)
    again = await activate_campaign(db, make_pack(), now=now + timedelta(hours=1))
    assert (again.created, again.updated, again.cancelled, again.unchanged) == (0, 0, 0, DAYS)
    assert len(await events(db)) == DAYS


async def test_reactivating_an_edited_pack_updates_only_pending_events(db: Database) -> None:
    pack = make_pack()
    clock = FakeClock(vn(START, 0))
    await activate_campaign(db, pack, now=clock.now())
    await add_subscriber(db, "100", now=clock.now())
    await run_until(db, pack, clock, vn(window(4), 0, 30))  # days 1-3 sent and closed
    before = await events(db)
    # new hour; the window shortened by a day, so day 31 is dropped
    edited = make_pack(hour="08:00", days=range(1, DAYS), end=END - timedelta(days=1))
    result = await activate_campaign(db, edited, now=clock.now())
    assert result.unchanged == 3  # the done days
    assert result.updated == DAYS - 4  # days 4..30 moved to 08:00
    assert result.cancelled == 1  # day 31
    after = await events(db)
    assert [after[d].status for d in (1, 2, 3)] == ["done"] * 3
    assert after[3].due_at == before[3].due_at
    assert after[4].due_at == vn(window(4), 8, 0)
    assert after[31].status == "cancelled"
    # the edited pack now drives the sweep: 07:30 is too early, 08:00 is right
    clock.set(vn(window(4), 7, 30))
    assert (await sweep_due(db, edited, now=clock.now())).enqueued == 0
    clock.set(vn(window(4), 8, 0))
    assert (await sweep_due(db, edited, now=clock.now())).enqueued == 1


# ---- the month ------------------------------------------------------------------------------


async def test_a_whole_month_each_active_subscriber_gets_31_posts_in_order(db: Database) -> None:
    pack = make_pack()
    clock = FakeClock(vn(START - timedelta(days=1), 0))
    await activate_campaign(db, pack, now=clock.now())
    now = clock.now()
    await add_subscriber(db, "vi-default", now=now)
    await add_subscriber(db, "en-default", now=now, lang="en")
    await add_subscriber(db, "vi-evening", now=now, hour="18:00")
    await add_subscriber(db, "zalo-1", now=now, channel="zalo")
    await add_subscriber(db, "muted", now=now, muted=True)
    await add_subscriber(db, "stopped", now=now, status="stopped")
    await add_subscriber(db, "blocked", now=now, status="blocked")

    await run_until(db, pack, clock, vn(END + timedelta(days=1), 23, 59))

    for chat_id, earliest in [
        ("vi-default", time(7, 30)),
        ("en-default", time(7, 30)),
        ("vi-evening", time(18, 0)),
        ("zalo-1", time(7, 30)),
    ]:
        rows = await outbox_rows(db, chat_id)
        assert [r.day for r in rows] == list(range(1, DAYS + 1)), chat_id
        for row in rows:
            assert row.local.date() == window(row.day)  # sent on its own day, never late
            assert row.local.time() >= earliest
            assert row.priority == 2
            assert row.dedup_key.startswith(f"post:{CAMPAIGN}:{row.day}:")
    assert all(r.text.startswith("📣 Action Month") for r in await outbox_rows(db, "en-default"))
    assert all("Ngày" in r.text for r in await outbox_rows(db, "vi-default"))
    for chat_id in ("muted", "stopped", "blocked"):
        assert await outbox_rows(db, chat_id) == []
    all_rows = await outbox_rows(db)
    assert len(all_rows) == 4 * DAYS
    # nothing before 15/11 or after 15/12
    assert min(r.local.date() for r in all_rows) == START
    assert max(r.local.date() for r in all_rows) == END
    by_day = await events(db)
    assert {e.status for e in by_day.values()} == {"done"}
    async with db.session() as session:
        runs = (await session.execute(select(BulkRun))).scalars().all()
    assert len(runs) == DAYS  # one run per day, shared by the 07:30 and 18:00 waves
    assert {r.kind for r in runs} == {"daily_post"}
    assert sum(r.queued for r in runs) == 4 * DAYS
    assert "ky-lua-2025 ngày 3 (17/11/2025)" in {r.label for r in runs}
    assert {r.run_id for r in all_rows} == {r.id for r in runs}


async def test_sweeping_twice_in_a_row_inserts_nothing_twice(db: Database) -> None:
    pack = make_pack()
    now = vn(window(2), 8)
    await activate_campaign(db, pack, now=now)
    await add_subscriber(db, "1", now=now)
    await add_subscriber(db, "2", now=now, lang="en")
    first = await sweep_due(db, pack, now=now)
    second = await sweep_due(db, pack, now=now)
    assert (first.enqueued, second.enqueued) == (2, 0)
    assert first.run_id == second.run_id


async def test_restart_on_day_10_neither_repeats_nor_skips(db: Database) -> None:
    pack = make_pack()
    clock = FakeClock(vn(START, 0))
    await activate_campaign(db, pack, now=clock.now())
    await add_subscriber(db, "a", now=clock.now())
    await add_subscriber(db, "b", now=clock.now(), hour="18:00")
    await run_until(db, pack, clock, vn(window(10), 9))  # crash at 09:00 on day 10
    assert [r.day for r in await outbox_rows(db, "a")] == list(range(1, 11))
    assert [r.day for r in await outbox_rows(db, "b")] == list(range(1, 10))

    # a new process: new database object, pack, clock; activation runs again at start-up
    schema = None
    if not db.is_sqlite:
        async with db.session() as session:
            schema = (await session.execute(text("SELECT current_schema()"))).scalar()
    fresh = Database(db.url, schema=schema)
    try:
        pack2 = make_pack()
        clock2 = FakeClock(vn(window(10), 9, 20))
        assert (await activate_campaign(fresh, pack2, now=clock2.now())).created == 0
        await run_until(fresh, pack2, clock2, vn(END, 23, 50))
    finally:
        await fresh.dispose()
    for chat_id in ("a", "b"):
        assert [r.day for r in await outbox_rows(db, chat_id)] == list(range(1, DAYS + 1))


async def test_start_in_the_middle_of_the_window(db: Database) -> None:
    pack = make_pack()
    start = vn(window(12), 10, 15)  # the bot is first started at 10:15 on day 12
    await add_subscriber(db, "a", now=start)
    await activate_campaign(db, pack, now=start)
    clock = FakeClock(start)
    first = await sweep_due(db, pack, now=clock.now())
    assert first.day == 12
    assert first.enqueued == 1  # today's post, late in the morning but today
    assert first.closed_missed == 11  # days 1-11 are not sent late
    await run_until(db, pack, clock, vn(END + timedelta(days=1), 12))
    assert [r.day for r in await outbox_rows(db, "a")] == list(range(12, DAYS + 1))
    by_day = await events(db)
    assert {by_day[d].status for d in range(1, 12)} == {"missed"}
    assert {by_day[d].status for d in range(12, DAYS + 1)} == {"done"}


async def test_down_for_a_whole_day_that_day_is_missed_the_next_is_sent_once(db: Database) -> None:
    pack = make_pack()
    clock = FakeClock(vn(START, 0))
    await activate_campaign(db, pack, now=clock.now())
    await add_subscriber(db, "a", now=clock.now())
    await run_until(db, pack, clock, vn(window(5), 23, 59))
    clock.set(vn(window(7), 6, 0))  # the machine was off all of day 6
    result = await sweep_due(db, pack, now=clock.now())
    assert (result.closed_missed, result.enqueued) == (1, 0)  # quiet hours at 06:00
    await run_until(db, pack, clock, vn(window(8), 23, 0), step=timedelta(minutes=30))
    assert [r.day for r in await outbox_rows(db, "a")] == [1, 2, 3, 4, 5, 7, 8]
    by_day = await events(db)
    assert by_day[6].status == "missed"
    assert by_day[6].run_id is None
    assert by_day[7].status == "done"


async def test_clock_jump_backwards_repeats_nothing(db: Database) -> None:
    pack = make_pack()
    clock = FakeClock(vn(START, 0))
    await activate_campaign(db, pack, now=clock.now())
    await add_subscriber(db, "a", now=clock.now())
    await add_subscriber(db, "b", now=clock.now(), hour="18:00")
    await run_until(db, pack, clock, vn(window(8), 19))
    sent = len(await outbox_rows(db))
    assert sent == 16
    for back in (vn(window(8), 7, 45), vn(window(7), 19), vn(window(7), 8)):
        clock.set(back)  # NTP corrects the clock backwards, even across midnight
        result = await sweep_due(db, pack, now=clock.now())
        assert result.enqueued == 0
    assert len(await outbox_rows(db)) == sent
    clock.set(vn(window(8), 20))
    await run_until(db, pack, clock, vn(window(9), 19))
    assert [r.day for r in await outbox_rows(db, "a")] == list(range(1, 10))
    assert [r.day for r in await outbox_rows(db, "b")] == list(range(1, 10))
    assert (await events(db))[7].status == "done"


async def test_wrong_forward_jump_then_correction_does_not_skip_the_current_day(
    db: Database,
) -> None:
    pack = make_pack()
    clock = FakeClock(vn(window(3), 9))
    await activate_campaign(db, pack, now=clock.now())
    await add_subscriber(db, "a", now=clock.now())
    await sweep_due(db, pack, now=clock.now())
    clock.set(vn(window(20), 9))  # a bad clock: 17 days ahead
    await sweep_due(db, pack, now=clock.now())
    clock.set(vn(window(3), 10))  # corrected
    back = await sweep_due(db, pack, now=clock.now())
    assert back.enqueued == 0  # day 3 already went out
    clock.set(vn(window(4), 7, 30))
    reopened = await sweep_due(db, pack, now=clock.now())
    assert reopened.reopened  # day 4 was closed as missed during the bad jump
    assert reopened.enqueued == 1
    await run_until(db, pack, clock, vn(window(21), 8))
    days = [r.day for r in await outbox_rows(db, "a")]
    assert days[:2] == [3, 20]  # day 20 went out early, under the wrong clock …
    assert sorted(days) == list(range(3, 22))  # … and is not sent again on its real day
    assert len(days) == len(set(days))


# ---- quiet hours, hours, muting, joiners ----------------------------------------------------


async def test_an_event_due_in_quiet_hours_waits_until_they_end(db: Database) -> None:
    # `check` refuses such a pack now; the sweep still must not send in quiet hours if one is
    # built anyway (model_construct skips validation), and sends when they end (07:00).
    quiet_hour = Delivery.model_construct(hour="06:00", quiet_start="21:00", quiet_end="07:00")
    pack = make_pack().model_copy(update={"delivery": quiet_hour})
    await activate_campaign(db, pack, now=vn(START, 0))
    await add_subscriber(db, "a", now=vn(START, 0))
    for hh, mm in [(6, 0), (6, 30), (6, 59)]:
        result = await sweep_due(db, pack, now=vn(START, hh, mm))
        assert result.quiet
        assert result.enqueued == 0
    result = await sweep_due(db, pack, now=vn(START, 7, 0))
    assert result.enqueued == 1
    rows = await outbox_rows(db, "a")
    assert rows[0].local == vn(START, 7, 0)


async def test_nothing_bulk_is_enqueued_in_the_evening_quiet_hours(db: Database) -> None:
    pack = make_pack()
    await activate_campaign(db, pack, now=vn(START, 0))
    # joins at 21:30: quiet hours; the day ends before they do, so no post that day
    await add_subscriber(db, "late", now=vn(window(5), 21, 30))
    for moment in (vn(window(5), 21, 30), vn(window(5), 23, 59), vn(window(6), 6, 59)):
        assert (await sweep_due(db, pack, now=moment)).enqueued == 0
    assert (await sweep_due(db, pack, now=vn(window(6), 7, 30))).enqueued == 1
    assert [r.day for r in await outbox_rows(db, "late")] == [6]


async def test_custom_hour_18_gets_it_at_18_not_0730(db: Database) -> None:
    pack = make_pack()
    await activate_campaign(db, pack, now=vn(START, 0))
    await add_subscriber(db, "early", now=vn(START, 0), hour="07:00")
    await add_subscriber(db, "evening", now=vn(START, 0), hour="18:00")
    await add_subscriber(db, "default", now=vn(START, 0))
    day = window(2)
    seen: dict[str, datetime] = {}
    for minute in range(6 * 60, 21 * 60, 15):
        now = vn(day, minute // 60, minute % 60)
        await sweep_due(db, pack, now=now)
        for row in await outbox_rows(db):
            seen.setdefault(row.chat_id, row.local)
    assert seen == {
        "early": vn(day, 7, 0),  # earlier than the pack's hour: honoured
        "default": vn(day, 7, 30),
        "evening": vn(day, 18, 0),
    }


async def test_muting_and_unmuting(db: Database) -> None:
    pack = make_pack()
    clock = FakeClock(vn(START, 0))
    await activate_campaign(db, pack, now=clock.now())
    await add_subscriber(db, "a", now=clock.now())
    await run_until(db, pack, clock, vn(window(2), 23))
    await update_subscriber(db, "a", posts_muted=True)
    await run_until(db, pack, clock, vn(window(4), 23))
    assert [r.day for r in await outbox_rows(db, "a")] == [1, 2]
    clock.set(vn(window(5), 12))  # unmuted at noon: today's post follows at once
    await update_subscriber(db, "a", posts_muted=False)
    await run_until(db, pack, clock, vn(window(6), 23))
    assert [r.day for r in await outbox_rows(db, "a")] == [1, 2, 5, 6]
    assert (await outbox_rows(db, "a"))[2].local == vn(window(5), 12)


async def test_stopped_or_blocked_get_nothing_even_after_their_hour(db: Database) -> None:
    pack = make_pack()
    await activate_campaign(db, pack, now=vn(START, 0))
    await add_subscriber(db, "a", now=vn(START, 0))
    await add_subscriber(db, "s", now=vn(START, 0))
    assert (await sweep_due(db, pack, now=vn(START, 7, 30))).enqueued == 2
    await update_subscriber(db, "s", status="stopped")
    await add_subscriber(db, "b", now=vn(START, 8), status="blocked")
    assert (await sweep_due(db, pack, now=vn(window(2), 8))).enqueued == 1
    assert [r.chat_id for r in await outbox_rows(db)] == ["a", "s", "a"]


async def test_a_resident_joining_at_1500_on_day_5_gets_day_5(db: Database) -> None:
    pack = make_pack()
    clock = FakeClock(vn(window(5), 7))
    await activate_campaign(db, pack, now=clock.now())
    await add_subscriber(db, "early", now=clock.now())
    await run_until(db, pack, clock, vn(window(5), 14, 59), step=timedelta(minutes=30))
    await add_subscriber(db, "joiner", now=vn(window(5), 15))
    result = await sweep_due(db, pack, now=vn(window(5), 15))
    assert result.enqueued == 1
    rows = await outbox_rows(db, "joiner")
    assert [(r.day, r.local) for r in rows] == [(5, vn(window(5), 15))]
    assert rows[0].run_id == (await outbox_rows(db, "early"))[0].run_id


async def test_nothing_is_sent_outside_the_window(db: Database) -> None:
    pack = make_pack()
    await activate_campaign(db, pack, now=vn(date(2025, 11, 1), 0))
    await add_subscriber(db, "a", now=vn(date(2025, 11, 1), 0))
    for moment in (vn(window(0), 12), vn(END + timedelta(days=1), 7, 30), vn(date(2026, 1, 1), 9)):
        result = await sweep_due(db, pack, now=moment)
        assert result.day is None
        assert result.enqueued == 0
    assert await outbox_rows(db) == []


async def test_not_activated_means_nothing_sent(db: Database) -> None:
    pack = make_pack()
    await add_subscriber(db, "a", now=vn(START, 0))
    result = await sweep_due(db, pack, now=vn(START, 9))
    assert (result.day, result.enqueued, result.run_id) == (1, 0, None)


async def test_channels_limit_the_audience(db: Database) -> None:
    pack = make_pack()
    await activate_campaign(db, pack, now=vn(START, 0))
    await add_subscriber(db, "t", now=vn(START, 0))
    await add_subscriber(db, "z", now=vn(START, 0), channel="zalo")
    result = await sweep_due(db, pack, now=vn(START, 8), channels=["zalo"])
    assert result.enqueued == 1
    assert [r.chat_id for r in await outbox_rows(db)] == ["z"]


@pytest.mark.parametrize("lang", ["vi", "en"])
async def test_a_custom_renderer_is_used(db: Database, lang: str) -> None:
    pack = make_pack()
    await activate_campaign(db, pack, now=vn(START, 0))
    await add_subscriber(db, "a", now=vn(START, 0), lang=lang)

    def plain(p: CampaignPack, day: int, language: str) -> str:
        return f"{p.campaign.id}/{day}/{language}"

    await sweep_due(db, pack, now=vn(START, 8), lang_text=plain)
    assert [r.text for r in await outbox_rows(db)] == [f"{CAMPAIGN}/1/{lang}"]
