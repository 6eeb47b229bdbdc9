"""The dispatcher with the real Telegram sender against the fake Bot API (real HTTP, 127.0.0.1)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import insert, select

from bot.app import CHAT_EVENTS
from bot.channels.base import Outbound
from bot.channels.telegram.sender import TelegramSender
from bot.clock import FakeClock
from bot.delivery.dispatcher import Dispatcher
from bot.delivery.limiter import ChannelLimits
from bot.delivery.outbox import OutboxItem, Priority, enqueue, start_run
from bot.storage.db import Database
from bot.storage.models.delivery import BulkRun, OutboxMessage
from bot.storage.models.residents import Subscriber
from fakes.botapi import FakeBotApi
from tests.support.delivery import CountingChannel

START = datetime(2025, 11, 25, 1, 0, tzinfo=UTC)
OUT = OutboxMessage.__table__  # type: ignore[attr-defined]
SUBS = Subscriber.__table__  # type: ignore[attr-defined]


async def test_broadcast_over_http_blocks_migrates_and_sends_each_once(db: Database) -> None:
    chats = [str(1000 + i) for i in range(40)] + ["-500"]
    clock = FakeClock(START)
    async with db.session() as session:
        await session.execute(
            insert(SUBS),
            [
                {"channel": "telegram", "chat_id": c, "created_at": START, "updated_at": START}
                for c in chats
            ],
        )
        run_id = await start_run(session, kind="broadcast", label="http", now=START)
        items = [
            OutboxItem(Outbound("telegram", c, f"tin {c}"), Priority.BULK, f"b:{c}", run_id)
            for c in chats
        ]
        await enqueue(session, items, now=START)
    async with FakeBotApi(forbidden_chats={"1003", "1007"}) as server:
        server.migrate_chat("-500", -100500)
        sender = TelegramSender("7000000001:test", f"{server.url}/bot", timeout=2.0)
        channel = CountingChannel(sender)
        limits = ChannelLimits(per_second=2000, per_chat_per_second=100)
        dispatcher = Dispatcher(
            db, {"telegram": channel}, clock, limits={"telegram": limits}, chats=CHAT_EVENTS
        )
        await dispatcher.start()
        async with db.session() as session:
            reply = OutboxItem(Outbound("telegram", "1001", "trả lời"), Priority.REPLY)
            await enqueue(session, [reply], now=START)
        dispatcher.notify()
        # 41 bulk rows, the migrated group's second try and the reply
        await channel.waiter.until(43)
        await dispatcher.stop()
        await sender.aclose()
        accepted = dict(server.stats.per_chat_accepted)
    async with db.session() as session:
        run = await session.get(BulkRun, run_id)
        blocked = set(
            (await session.execute(select(SUBS.c.chat_id).where(SUBS.c.status == "blocked")))
            .scalars()
            .all()
        )
        migrated = (
            await session.execute(select(SUBS.c.chat_id).where(SUBS.c.chat_id.like("-%")))
        ).scalar_one()
    assert run is not None
    assert (run.status, run.queued, run.sent, run.blocked, run.failed) == ("done", 41, 39, 2, 0)
    assert blocked == {"1003", "1007"}
    assert migrated == "-100500"
    expected = {c: 1 for c in chats if c not in {"1003", "1007", "-500"}}
    expected["-100500"] = 1
    expected["1001"] = 2  # the broadcast and the reply
    assert accepted == expected
