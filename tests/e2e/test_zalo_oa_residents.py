"""End to end on the ward's Zalo Official Account: the fake OA delivers signed webhook events over
HTTP to the real webhook handler, the core answers through the outbox, the dispatcher sends
consultation messages to the fake OA, which applies Zalo's rules (followers, the 7-day window,
the free frame, quota). Every resident scenario runs here as it does on Telegram and the Zalo Bot.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import col, select

from bot.clock import FakeClock
from bot.coordinators.board import board_view
from bot.delivery.window import window_counts
from bot.storage.db import Database
from bot.storage.models import BulkRun, OutboxMessage, Subscriber
from tests.support.pack import small_pack
from tests.support.zalo_oa import OaHarness, oa_harness

LAN = "2468458835296117922"
START = datetime(2025, 11, 16, 2, 0, tzinfo=UTC)  # 09:00 in Vietnam, day 2 of the window


@pytest.fixture
async def h(db: Database) -> AsyncIterator[OaHarness]:
    """The OA harness on SQLite and PostgreSQL."""
    async with oa_harness(db, small_pack(), FakeClock(START)) as harness:
        yield harness


@pytest.fixture
async def h_sqlite(sqlite_db: Database) -> AsyncIterator[OaHarness]:
    """The OA harness on SQLite only (the follow storm: a figure for the default set-up)."""
    async with oa_harness(sqlite_db, small_pack(), FakeClock(START)) as harness:
        yield harness


async def subscriber(h: OaHarness, user: str) -> Subscriber | None:
    async with h.loa.db.session() as session:
        stmt = select(Subscriber).where(
            col(Subscriber.channel) == "zalo_oa", col(Subscriber.chat_id) == user
        )
        return (await session.execute(stmt)).scalars().first()


async def subscribe(h: OaHarness, user: str) -> None:
    await h.follow(user)
    await h.say(user, "Tiếng Việt")
    await h.say(user, "5")


async def test_a_resident_does_everything_on_the_oa(h: OaHarness) -> None:
    offer = await h.follow(LAN)
    assert len(offer) == 1
    assert offer[0].startswith("Cảm ơn bạn đã quan tâm trang của phường Thử Nghiệm!")
    assert offer[0].endswith("[Tiếng Việt | English]")  # OA buttons
    assert await subscriber(h, LAN) is None  # an offer, not yet a subscription

    chosen = await h.say(LAN, "Tiếng Việt")  # the tap sends the label as text
    assert chosen[0] == "Đã chọn tiếng Việt."
    assert "(Khối phố 1 / Khối phố 2 / " in chosen[1]  # > 4 choices: typed, not buttons

    grouped = await h.say(LAN, "khoi pho 5")
    assert grouped[0] == "Đã ghi nhận: Khối phố 5."
    sub = await subscriber(h, LAN)
    assert sub is not None
    assert sub.status == "active"
    assert sub.last_interaction_at == h.clock.now()

    slogans = await h.say(LAN, "/khauhieu")
    assert slogans[0].endswith(
        "[Luật pháp, chính sách, chủ trương | Huy động sự tham gia của nam giới và xã hội]"
    )
    group = await h.say(LAN, "Huy động sự tham gia của nam giới và xã hội")
    assert "Chia sẻ việc nhà, gia đình hạnh phúc." in group[0]

    help_text = await h.say(LAN, "/trogiup")
    assert "111" in help_text[0]
    assert "Địa chỉ tin cậy" in help_text[0]

    h.advance(timedelta(days=1))  # 09:00 the next day: the post is due
    assert await h.daily_post() == 1
    post = h.seen(LAN)[-1]
    assert "Thông điệp ngày 3." in post
    assert post.endswith("[Nhận tiếp tin ngày mai]")
    assert "7 ngày" not in post  # no warning for someone who wrote yesterday
    thanks = await h.say(LAN, "Nhận tiếp tin ngày mai")
    assert thanks == ["Cảm ơn bạn! Ngày mai bạn sẽ nhận tin tiếp."]

    assert await h.sticker(LAN) != []  # a sticker gets a helpful answer, never silence

    stopped = await h.say(LAN, "/huy")
    assert stopped == ["Bạn đã dừng nhận tin. Gõ /batdau bất cứ lúc nào để nhận lại."]
    resumed = await h.say(LAN, "/batdau")
    assert resumed == ["Bạn sẽ nhận lại thông điệp mỗi ngày. Cảm ơn bạn!"]
    confirm = await h.say(LAN, "/xoadulieu")
    assert confirm[0].endswith("[Xóa dữ liệu | Không, giữ lại]")
    deleted = await h.say(LAN, "Xóa dữ liệu")
    assert deleted == ["Đã xóa toàn bộ dữ liệu của bạn. Nếu muốn dùng lại, hãy gõ /start."]
    assert await subscriber(h, LAN) is None
    async with h.loa.db.session() as session:
        left = (await session.execute(select(col(OutboxMessage.text)))).scalars().all()
    assert left == []  # even the confirmation is forgotten once sent


async def test_the_day_6_post_says_how_to_keep_receiving_and_day_8_is_skipped_and_counted(
    h: OaHarness,
) -> None:
    await subscribe(h, LAN)
    h.advance(timedelta(days=6))
    await h.daily_post()
    last_friendly = h.seen(LAN)[-1]
    assert "Zalo chỉ cho trang gửi tin cho bạn trong 7 ngày" in last_friendly
    assert last_friendly.endswith("[Nhận tiếp tin ngày mai]")
    h.advance(timedelta(days=1))  # 7 days since the last message: still inside, no new warning
    await h.daily_post()
    assert "7 ngày" not in h.seen(LAN)[-1]
    received = len(h.seen(LAN))

    h.advance(timedelta(days=1))  # left the window a day ago
    assert await h.daily_post() == 1  # the row is made …
    assert len(h.seen(LAN)) == received  # … but not sent: the OA would refuse it
    assert h.fake.errors_served == {}  # Loa did not even try
    async with h.loa.db.session() as session:
        row = (
            (await session.execute(select(OutboxMessage).order_by(col(OutboxMessage.id).desc())))
            .scalars()
            .first()
        )
        run = await session.get(BulkRun, row.run_id if row else 0)
        counts = await window_counts(session, "zalo_oa", timedelta(days=7), h.clock.now())
    assert row is not None
    assert row.status == "skipped"
    assert row.last_error == "outside the 7-day window"
    assert run is not None
    assert run.skipped == 1
    assert counts.in_window == 0
    assert counts.out_of_window == 1
    assert counts.skipped == {"outside the 7-day window": 1}
    board = await board_view(h.loa.db, h.loa.pack, h.clock, "vi")
    assert (
        "• Zalo OA: 0 người trong 7 ngày nhận được tin, 1 đã quá 7 ngày, 0 đã bỏ quan tâm; "
        "1 tin không gửi theo quy định của Zalo"
    ) in board.text

    await h.say(LAN, "xin chào")  # writing again opens the window again
    h.advance(timedelta(days=1))
    await h.daily_post()
    assert "Thông điệp ngày" in h.seen(LAN)[-1]


async def test_unfollow_stops_everything_and_a_new_follow_welcomes_back(h: OaHarness) -> None:
    await subscribe(h, LAN)
    received = len(h.seen(LAN))
    assert await h.fake.unfollow(LAN) == 200
    await h.loa.inbox.drain()
    await h.drain()
    assert len(h.seen(LAN)) == received  # nothing sent to someone who left
    sub = await subscriber(h, LAN)
    assert sub is not None
    assert sub.status == "blocked"
    h.advance(timedelta(days=1))
    assert await h.daily_post() == 0
    async with h.loa.db.session() as session:
        counts = await window_counts(session, "zalo_oa", timedelta(days=7), h.clock.now())
    assert counts.not_following == 1
    back = await h.follow(LAN)
    assert back == ["Chào mừng bạn quay lại! Bạn sẽ tiếp tục nhận thông điệp mỗi ngày."]


async def test_quota_running_out_halfway_through_a_daily_post(h: OaHarness) -> None:
    users = [f"30{n:04d}" for n in range(10)]
    for user in users:
        await subscribe(h, user)
    onboarding = sum(len(h.fake.sent_to(u)) for u in users)
    h.advance(timedelta(days=3))  # past the 48 h free frame: every post costs quota
    h.fake.quota = 5
    assert await h.daily_post() == 10
    assert sum(len(h.fake.sent_to(u)) for u in users) == onboarding + 5
    async with h.loa.db.session() as session:
        waiting = (
            (
                await session.execute(
                    select(OutboxMessage).where(col(OutboxMessage.status) == "pending")
                )
            )
            .scalars()
            .all()
        )
    assert len(waiting) == 5  # nothing lost, nothing failed: they wait for the quota
    assert {row.last_error for row in waiting} == {"-211 out of quota"}
    h.fake.quota = 100  # the ward tops up (or the month turns)
    h.advance(timedelta(hours=1, seconds=1))
    await h.drain()
    posts = [c for u in users for c in h.fake.sent_to(u) if "Thông điệp ngày" in (c.text or "")]
    assert len(posts) == 10  # each resident got the day's post exactly once


async def test_two_thousand_follows_within_a_minute(h_sqlite: OaHarness) -> None:
    h = h_sqlite
    users = [f"5{n:05d}" for n in range(2000)]  # what a ward announcement can bring
    statuses = await asyncio.gather(*(h.fake.follow(user) for user in users))
    assert set(statuses) == {200}  # each answered once stored in the inbox
    h.fake.rate_per_minute = 4000
    await h.loa.inbox.drain()
    await h.drain()
    offered = {u for u in users if h.fake.sent_to(u)}
    assert len(offered) == 2000
    assert h.webhook.counts["accepted"] == 2000


async def test_bad_input_over_the_oa(h: OaHarness) -> None:
    await subscribe(h, LAN)
    long = await h.say(LAN, "x" * 5000)  # longer than any message: cut, answered
    assert len(long) == 1
    unknown = await h.say(LAN, "/lenhkhongco")
    assert "/lenhkhongco" in unknown[0]
    assert all(len(text) <= 2000 for text in h.seen(LAN))


async def test_a_follower_gone_without_an_event_is_counted_not_following(h: OaHarness) -> None:
    await subscribe(h, LAN)
    h.fake.follower(LAN).following = False  # the unfollow event never reached Loa
    h.advance(timedelta(days=1))
    assert await h.daily_post() == 1
    assert h.fake.errors_served == {-213: 1}  # tried once, refused, not retried
    sub = await subscriber(h, LAN)
    assert sub is not None
    assert sub.status == "blocked"
    h.advance(timedelta(days=1))
    assert await h.daily_post() == 0
    assert h.fake.errors_served == {-213: 1}
