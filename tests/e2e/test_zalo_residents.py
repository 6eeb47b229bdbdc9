"""End to end on Zalo: the real core, the polling ZaloReceiver and the ZaloSender against the fake
Bot API server's Zalo routes over real HTTP. Zalo has no buttons: every choice is a typed number
or label, and nothing sent may exceed 2,000 characters. The resident's and the official's stories
run here as they run on Telegram (tests/e2e/test_telegram_residents.py, the demo)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.app import Loa, build_loa
from bot.channels.base import Outbound
from bot.channels.zalo.client import ZaloClient
from bot.channels.zalo.receiver import ZaloReceiver
from bot.channels.zalo.sender import ZaloSender, render_chunks
from bot.clock import FakeClock
from bot.delivery.limiter import ChannelLimits
from bot.reporting.officials import create_invite
from bot.storage.db import Database
from bot.storage.models import Subscriber
from fakes.botapi import FakeBotApi
from tests.support.chat import find_subscriber
from tests.support.reporting import reporting_pack

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

    async def voice(self, chat_id: str) -> list[str]:
        """The person sends a voice message."""
        before = len(self.texts(chat_id))
        self.server.zalo.push_voice(chat_id)
        return await self._answers(chat_id, before)

    async def hidden(self, chat_id: str) -> list[str]:
        """A person in a protected group writes: Zalo hides the content."""
        before = len(self.texts(chat_id))
        self.server.zalo.push_unsupported(chat_id)
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
            pack=reporting_pack(),
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


async def test_a_403_is_zalos_own_fault_the_resident_stays_and_the_reply_comes_later(
    harness: Harness,
) -> None:
    """Zalo's error table: 403 = internal server error. Loa once took it for "blocked" and
    unsubscribed the person; now the reply waits and goes out when Zalo recovers."""
    hoa = "b02c"
    await harness.say(hoa, "/start")
    before = len(harness.texts(hoa))
    harness.server.zalo.fail_next("sendMessage", 403)
    harness.server.zalo.push_message(hoa, "1")
    await asyncio.wait_for(harness.replies.get(), timeout=10)
    for _ in range(250):
        if harness.server.zalo.stats.errors_by_status[403]:
            break
        await asyncio.sleep(0.02)
    assert harness.server.zalo.stats.errors_by_status[403] == 1
    row = await subscriber(harness.loa, hoa)
    assert row is not None
    assert row.status == "active"
    clock = harness.loa.clock
    assert isinstance(clock, FakeClock)
    for _ in range(100):  # time passes: the retry's backoff runs out
        if len(harness.texts(hoa)) > before:
            break
        clock.advance(timedelta(minutes=1))
        harness.loa.dispatcher.notify()
        await asyncio.sleep(0.05)
    assert harness.texts(hoa)[before] == "Đã chọn tiếng Việt."


async def test_voice_gets_an_answer_and_a_hidden_sender_subscribes(harness: Harness) -> None:
    voiced = await harness.voice("v01")  # not silence: how to subscribe, and a typed choice
    assert voiced[0].startswith("Chào bạn! Mình là Loa")
    assert voiced[0].endswith("  1. Đăng ký nhận tin")
    offer = await harness.hidden("h01")
    assert "Zalo không cho Loa xem nội dung" in offer[0]
    done = await harness.hidden("h01")
    assert done[0].startswith("Đã đăng ký.")
    row = await subscriber(harness.loa, "h01")
    assert row is not None
    assert (row.status, row.lang) == ("active", "vi")


async def test_an_official_reports_on_zalo_by_typing(harness: Harness) -> None:
    """The demo's official story, on Zalo: bind with the code, answer every question by typing."""
    loa = harness.loa
    invite = await create_invite(
        loa.db, pack=loa.pack, role="official", agency_id="tram-y-te", now=loa.clock.now()
    )
    thu = "0f1c"
    bound = await harness.say(thu, f"/start {invite.code}")
    assert "Trạm Y tế phường" in bound[0]
    form = await harness.say(thu, "/baocao")
    assert "\n  1. " in form[-1]  # the choices are numbered lines
    answers = ["Không có", "Loa truyền thanh", "12", "300", "450", "Cấp xã (phường, xã)",
               "Không", "Không có", "bỏ qua", "bỏ qua", "Người dân hưởng ứng tích cực.",
               "Bỏ qua", "Bỏ qua"]  # fmt: skip
    for answer in answers:
        last = await harness.say(thu, answer)
    assert any("Tóm tắt báo cáo" in text for text in last)
    sent = await harness.say(thu, "Gửi")
    assert sent[0].startswith("Đã nhận báo cáo của «Trạm Y tế phường»")
    assert "phiên bản 1, đúng hạn" in sent[0]
    mine = await harness.say(thu, "/baocaocuatoi")
    assert any("Trạm Y tế phường" in text for text in mine)
    assert all(1 <= len(x) <= 2000 for x in harness.texts(thu))
    coordinator = await create_invite(
        loa.db, pack=loa.pack, role="coordinator", agency_id=None, now=loa.clock.now()
    )
    chi = "0c0d"
    assert "điều phối" in (await harness.say(chi, f"/start {coordinator.code}"))[0]
