"""End to end on Zalo: the real core, the polling ZaloReceiver and the ZaloSender against the fake
Bot API server's Zalo routes over real HTTP. Zalo has no buttons: every choice is a typed number
or label, and nothing sent may exceed 2,000 characters."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.app import Loa, build_loa
from bot.channels.base import Outbound
from bot.channels.zalo.client import ZaloClient
from bot.channels.zalo.receiver import ZaloReceiver
from bot.channels.zalo.sender import ZaloSender, render_chunks
from bot.clock import FakeClock
from bot.delivery.limiter import ChannelLimits
from bot.storage.db import Database
from bot.storage.models import Subscriber
from fakes.botapi import FakeBotApi
from tests.support.chat import find_subscriber
from tests.support.pack import small_pack

TOKEN = "7000000002:zalo-e2e-token"


@dataclass
class Harness:
    server: FakeBotApi
    loa: Loa
    receiver: ZaloReceiver
    replies: asyncio.Queue[list[Outbound]]

    def texts(self, chat_id: str) -> list[str]:
        return [c.text or "" for c in self.server.zalo.sent_to(chat_id, "sendMessage")]

    async def _answers(self, chat_id: str, before: int) -> list[str]:
        replies = await asyncio.wait_for(self.replies.get(), timeout=10)
        # one reply may travel as several texts: count them the way the sender splits
        expected = before + sum(len(render_chunks(reply)) for reply in replies)
        await self.server.zalo.wait_for(expected, chat_id=chat_id, method="sendMessage")
        return self.texts(chat_id)[before:]

    async def say(self, chat_id: str, text: str) -> list[str]:
        """The person types `text`; returns the texts the bot answered with."""
        before = len(self.texts(chat_id))
        self.server.zalo.push_message(chat_id, text)
        return await self._answers(chat_id, before)

    async def sticker(self, chat_id: str) -> list[str]:
        """The person sends a sticker."""
        before = len(self.texts(chat_id))
        self.server.zalo.push_sticker(chat_id)
        return await self._answers(chat_id, before)


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'zalo.db'}")
    await db.create_all()
    clock = FakeClock(datetime(2025, 11, 16, 3, 0, tzinfo=UTC))
    replies: asyncio.Queue[list[Outbound]] = asyncio.Queue()
    async with FakeBotApi() as server:
        client = ZaloClient(TOKEN, f"{server.url}/zalo/bot", timeout=5.0)
        sender = ZaloSender(client)
        loa = build_loa(
            db=db,
            pack=small_pack(),
            clock=clock,
            channels={"zalo": sender},
            limits={"zalo": ChannelLimits(per_second=500.0, per_chat_per_second=100.0)},
            after_turn=replies.put,
        )
        receiver = ZaloReceiver(client, loa.inbox.accept, clock, poll_seconds=1)
        await loa.inbox.start()
        await loa.dispatcher.start()
        await receiver.start()
        try:
            yield Harness(server, loa, receiver, replies)
        finally:
            await receiver.stop()
            await loa.inbox.stop()
            await loa.dispatcher.stop()
            await client.aclose()
            await db.dispose()


async def subscriber(loa: Loa, chat_id: str) -> Subscriber | None:
    return await find_subscriber(loa.db, chat_id, channel="zalo")


async def test_a_resident_does_everything_on_zalo(harness: Harness) -> None:
    lan = "7d3c0a9e51f2b4c8"  # Zalo ids are opaque strings
    h = harness
    welcome = await h.say(lan, "/start")
    assert "Xin chào! Mình là Loa" in welcome[0]
    assert welcome[-1].endswith("  1. Tiếng Việt\n  2. English")

    chosen = await h.say(lan, "1")
    assert chosen[0] == "Đã chọn tiếng Việt."
    # the group list is not numbered by page: a typed number is the group's own place
    assert "(Khối phố 1 / Khối phố 2 / " in chosen[-1]
    assert "(1–12)" in chosen[-1]

    grouped = await h.say(lan, "khoi pho 5")
    assert grouped[0] == "Đã ghi nhận: Khối phố 5."
    assert "/khauhieu" in grouped[-1]

    slogans = await h.say(lan, "/khauhieu")
    assert "  1. Luật pháp, chính sách, chủ trương" in slogans[-1]
    assert "  2. Huy động sự tham gia của nam giới và xã hội" in slogans[-1]
    second = await h.say(lan, "2")
    assert "Chia sẻ việc nhà, gia đình hạnh phúc." in second[0]

    helped = await h.say(lan, "/trogiup")
    assert any("111" in x for x in helped)

    stickered = await h.sticker(lan)
    assert stickered[0].startswith("Mình chỉ đọc được tin nhắn chữ.")
    assert "\n  1. " in stickered[0]

    stopped = await h.say(lan, "/huy")
    assert stopped[0].startswith("Bạn đã dừng nhận tin.")
    row = await subscriber(h.loa, lan)
    assert row is not None
    assert (row.status, row.group_code, row.lang) == ("stopped", "Khối phố 5", "vi")

    confirm = await h.say(lan, "/xoadulieu")
    assert "  1. Xóa dữ liệu" in confirm[-1]
    deleted = await h.say(lan, "1")
    assert deleted[-1].startswith("Đã xóa toàn bộ dữ liệu của bạn.")
    assert await subscriber(h.loa, lan) is None

    sent = h.texts(lan)
    assert all(1 <= len(x) <= 2000 for x in sent)
    assert h.server.zalo.stats.errors_by_status[400] == 0
    assert h.receiver.errors == 0


async def test_a_group_picked_by_its_number(harness: Harness) -> None:
    minh = "a01b"
    await harness.say(minh, "/start")
    await harness.say(minh, "2")  # English
    asked = await harness.say(minh, "3")
    assert asked[0] == "Noted: Khối phố 3."
    row = await subscriber(harness.loa, minh)
    assert row is not None
    assert (row.lang, row.group_code, row.status) == ("en", "Khối phố 3", "active")


async def test_a_resident_who_blocked_the_bot_is_marked_blocked(harness: Harness) -> None:
    hoa = "b02c"
    await harness.say(hoa, "/start")
    harness.server.zalo.forbidden_chats.add(hoa)
    before = len(harness.texts(hoa))
    harness.server.zalo.push_message(hoa, "1")
    await asyncio.wait_for(harness.replies.get(), timeout=10)
    row = None
    for _ in range(250):
        row = await subscriber(harness.loa, hoa)
        if row is not None and row.status == "blocked":
            break
        await asyncio.sleep(0.02)
    assert row is not None
    assert row.status == "blocked"
    assert harness.server.zalo.stats.forbidden >= 1
    assert len(harness.texts(hoa)) == before
