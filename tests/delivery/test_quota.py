"""Monthly quota: the reserve for replies, Zalo's 429 halfway through a daily post, rows kept,
coordinators told once, bulk again next month — the real Zalo sender against the fake's plan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, insert, select

from bot.channels.base import Outbound
from bot.channels.zalo.client import ZaloClient
from bot.channels.zalo.sender import ZaloSender
from bot.clock import FakeClock
from bot.delivery.outbox import OutboxItem, Priority, enqueue, start_run
from bot.delivery.quota import Quota, QuotaBook, next_month_start, quota_figures
from bot.reporting.repository import bind_official
from bot.storage.db import Database
from bot.storage.models import BulkRun, OutboxMessage, SendCounter
from bot.zalo_plan.limits import quota_notice
from fakes.botapi import FakeBotApi
from tests.support.delivery import CountingChannel, Runner

START = datetime(2025, 11, 20, 1, 0, tzinfo=UTC)  # 08:00 in Vietnam
OUT = OutboxMessage.__table__  # type: ignore[attr-defined]
TOKEN = "7000000002:quota-token"


async def seed_post(db: Database, people: int) -> int:
    async with db.session() as session:
        run_id = await start_run(session, kind="daily_post", label="ngày 6", now=START)
        items = [
            OutboxItem(Outbound("zalo", f"p{n:03}", f"Bài ngày 6 ({n})"), Priority.BULK,
                       f"post:6:{n}", run_id)
            for n in range(people)
        ]  # fmt: skip
        await enqueue(session, items, now=START)
        await bind_official(
            session, channel="telegram", chat_id="c1", role="coordinator", agency_id=None,
            lang="vi", now=START,
        )  # fmt: skip
    return run_id


async def statuses(db: Database) -> dict[str, int]:
    async with db.session() as session:
        rows = await session.execute(
            select(OUT.c.status, func.count()).where(OUT.c.channel == "zalo").group_by(OUT.c.status)
        )
        return {status: number for status, number in rows.all()}


async def notices(db: Database) -> list[str]:
    async with db.session() as session:
        rows = await session.execute(select(OUT.c.text).where(OUT.c.channel == "telegram"))
        return list(rows.scalars())


CLIENTS: list[ZaloClient] = []


@pytest.fixture(autouse=True)
async def close_clients() -> AsyncIterator[None]:
    yield
    while CLIENTS:
        await CLIENTS.pop().aclose()


def dispatcher(db: Database, server: FakeBotApi, clock: FakeClock, quota: Quota) -> Runner:
    """The dispatcher with the real Zalo sender, run in stretches on a FakeTicker."""
    client = ZaloClient(TOKEN, f"{server.url}/zalo/bot", timeout=5.0)
    CLIENTS.append(client)
    book = QuotaBook({"zalo": quota}, on_closed=quota_notice)
    return Runner(db, CountingChannel(ZaloSender(client)), clock, quota=book)


async def test_bulk_stops_at_the_reserve_and_replies_still_go(db: Database) -> None:
    clock = FakeClock(START)
    run_id = await seed_post(db, 40)
    async with FakeBotApi(clock=clock) as server:
        server.zalo.plan_mode(users=50, messages_per_month=30)
        loa = dispatcher(db, server, clock, Quota(per_month=30, reserve=5))
        assert await loa.run(sends=25) == 25  # the other 15 are never handed to the sender
        assert await loa.run() == 0
        assert server.zalo.stats.sends_accepted == 25  # 30 minus the reserve of 5
        assert await statuses(db) == {"sent": 25, "pending": 15}
        async with db.session() as session:
            reply = OutboxItem(Outbound("zalo", "p001", "trả lời"), Priority.REPLY)
            await enqueue(session, [reply], now=clock.now())
        assert await loa.run(sends=1) == 1
        assert server.zalo.sent_to("p001")[-1].text == "trả lời"
        assert server.zalo.stats.errors_by_status[429] == 0
    told = await notices(db)
    assert len(told) == 1
    assert "/30 tin nhắn của tháng 11/2025" in told[0]
    async with db.session() as session:
        run = await session.get(BulkRun, run_id)
        waiting = (await session.execute(select(OUT.c.next_attempt_at).where(
            OUT.c.status == "pending"))).scalars().all()  # fmt: skip
        figures = await quota_figures(session, {"zalo": Quota(30, 5)}, clock.now())
    assert run is not None
    assert (run.status, run.sent, run.failed) == ("running", 25, 0)  # open: 15 rows wait
    # never sent: they wait, unclaimed or (claimed before the limit showed) until next month
    assert all(at <= START or at == next_month_start(START) for at in waiting)
    assert [(f.sent, f.per_month, f.closed) for f in figures] == [(26, 30, True)]


async def test_zalos_429_halfway_through_a_post_keeps_every_row(db: Database) -> None:
    clock = FakeClock(START)
    run_id = await seed_post(db, 40)
    async with FakeBotApi(clock=clock) as server:
        server.zalo.plan_mode(users=50, messages_per_month=12)  # Zalo counts more than Loa
        loa = dispatcher(db, server, clock, Quota(per_month=3000, reserve=300))
        await loa.run(sends=13)  # twelve go through, then Zalo's 429 closes bulk sending
        assert server.zalo.stats.sends_accepted == 12
        assert server.zalo.stats.errors_by_status[429] >= 1
        counts = await statuses(db)
        assert counts == {"sent": 12, "pending": 28}  # nothing failed, nothing lost
        first_429s = server.zalo.stats.errors_by_status[429]
        assert await loa.run() == 0  # bulk paused: no hammering
        assert server.zalo.stats.errors_by_status[429] == first_429s
        async with db.session() as session:
            waiting = (await session.execute(select(OUT.c.next_attempt_at, OUT.c.attempts).where(
                OUT.c.status == "pending"))).all()  # fmt: skip
        # refused with 429 (or claimed before the pause): next month, no attempt counted; the
        # rest were never claimed
        assert {attempts for _, attempts in waiting} == {0}
        assert {at for at, _ in waiting} <= {START, next_month_start(START)}
        assert len(await notices(db)) == 1

        clock.set(datetime(2025, 12, 1, 0, 0, tzinfo=UTC))  # 07:00 on 1 December in Vietnam
        server.zalo.monthly_quota = 100  # December's quota is fresh (and larger than the rest)
        assert await loa.run(sends=28) == 28
        assert await statuses(db) == {"sent": 40}
    async with db.session() as session:
        run = await session.get(BulkRun, run_id)
        counters = SendCounter.__table__.c  # type: ignore[attr-defined]
        months = (await session.execute(select(counters.month, counters.sent))).all()
    assert run is not None
    assert (run.status, run.sent, run.failed, run.blocked) == ("done", 40, 0, 0)
    assert sorted(months) == [("2025-11", 12), ("2025-12", 28)]
    assert len(await notices(db)) == 1  # told once, not again when December opened


async def test_the_notice_is_told_once_across_restarts(db: Database) -> None:
    clock = FakeClock(START)
    await seed_post(db, 10)
    async with FakeBotApi() as server:
        for sends in (2, 0):  # two processes one after the other
            loa = dispatcher(db, server, clock, Quota(per_month=4, reserve=2))
            assert await loa.run(sends=sends) == sends
    assert server.zalo.stats.sends_accepted == 2
    assert len(await notices(db)) == 1


async def test_counters_are_written_once_per_message(db: Database) -> None:
    book = QuotaBook({"zalo": Quota(per_month=100, reserve=10)})
    async with db.session() as session:
        await session.execute(insert(SendCounter).values(channel="zalo", month="2025-11", sent=7))
    async with db.session() as session:
        await book.load(session, START)
    book.count("zalo", 3, START)
    assert book.used("zalo", START) == 10
    async with db.session() as session:
        await book.write(session, START)
    async with db.session() as session:
        await book.write(session, START)  # nothing new: nothing added twice
        row = await session.get(SendCounter, ("zalo", "2025-11"))
    assert row is not None
    assert row.sent == 10
