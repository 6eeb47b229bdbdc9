"""End to end: python-telegram-bot's Application in polling mode (and webhook mode) against the
fake Bot API server over real HTTP; replies through the outbox, dispatcher and lean sender."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from bot.adoption.poster import poster_links
from bot.adoption.profile import profile_texts
from bot.app import TELEGRAM_SECRET_HEADER, Loa, build_loa
from bot.channels.telegram.receiver import TelegramReceiver
from bot.channels.telegram.sender import TelegramSender
from bot.clock import FakeClock
from bot.delivery.limiter import ChannelLimits
from bot.demo import DemoDriver, Person, Transcript
from bot.storage.db import Database
from bot.storage.models import InboxEvent, Subscriber
from bot.web.health import Activity, Health
from bot.web.server import Webhook, WebServer, build_app
from fakes.botapi import FakeBotApi
from tests.support.chat import find_subscriber
from tests.support.pack import small_pack

TOKEN = "7000000001:e2e-token"


@dataclass
class Harness:
    server: FakeBotApi
    loa: Loa
    driver: DemoDriver
    receiver: TelegramReceiver


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'e2e.db'}")
    await db.create_all()
    clock = FakeClock(datetime(2025, 11, 16, 3, 0, tzinfo=UTC))
    async with FakeBotApi() as server:
        base_url = f"{server.url}/bot"
        sender = TelegramSender(TOKEN, base_url, timeout=2.0)
        driver = DemoDriver(server, Transcript())
        loa = build_loa(
            db=db,
            pack=small_pack(),
            clock=clock,
            channels={"telegram": sender},
            limits={"telegram": ChannelLimits(per_second=500.0, per_chat_per_second=100.0)},
            after_turn=driver.turned,
        )
        receiver = TelegramReceiver(
            token=TOKEN,
            base_url=base_url,
            accept=loa.inbox.accept_many,
            clock=clock,
            profile=profile_texts(loa.pack),
        )
        await loa.inbox.start()
        await loa.dispatcher.start()
        await receiver.start_polling(poll_seconds=1)
        try:
            yield Harness(server, loa, driver, receiver)
        finally:
            await receiver.stop()
            await loa.inbox.stop()
            await loa.dispatcher.stop()
            await sender.aclose()
            await db.dispose()


async def subscriber(loa: Loa, chat_id: int) -> Subscriber | None:
    return await find_subscriber(loa.db, chat_id)


async def test_commands_are_registered_in_both_languages(harness: Harness) -> None:
    commands = harness.server.commands
    by_lang = {lang: [c["command"] for c in cmds] for (_, lang), cmds in commands.items()}
    assert "khauhieu" in by_lang["vi"]
    assert "xoadulieu" in by_lang["en"]
    descriptions = {c["command"]: c["description"] for c in commands[next(iter(commands))]}
    assert descriptions["khauhieu"] == "Khẩu hiệu của tháng hành động"


async def test_profile_texts_come_from_the_pack_in_both_languages(harness: Harness) -> None:
    texts = harness.server.descriptions
    assert set(texts) == {
        (kind, lang) for kind in ("description", "short_description") for lang in ("", "vi", "en")
    }
    assert texts[("description", "")] == texts[("description", "vi")]
    assert "phường Thử Nghiệm" in texts[("description", "vi")]
    assert "kỷ nguyên số" in texts[("description", "vi")]
    assert texts[("description", "en")].startswith("Loa is the assistant")
    assert all(len(text) <= 120 for (kind, _), text in texts.items() if kind.startswith("short"))


async def test_a_posters_deep_link_subscribes_to_its_group(harness: Harness) -> None:
    """What a resident's phone does after scanning the QR code of «Khối phố 4»."""
    link = poster_links(harness.loa.pack, 4, bot_username=harness.server.bot_username)[0]
    payload = link.url.split("?start=", 1)[1]
    assert link.url == f"https://t.me/{harness.server.bot_username}?start=g-khoi-pho-4"
    mai = Person("Mai", 2010)
    await harness.driver.say(mai, f"/start {payload}")
    await harness.driver.press(mai, "Tiếng Việt")
    row = await subscriber(harness.loa, 2010)
    assert row is not None
    assert (row.status, row.lang, row.group_code) == ("active", "vi", "Khối phố 4")
    texts = harness.server.texts_to(2010)
    assert any("Bạn thuộc Khối phố 4" in x for x in texts)
    assert not any("Bạn sống ở khối phố nào?" in x for x in texts)


async def test_a_resident_does_everything_on_telegram(harness: Harness) -> None:
    lan = Person("Lan", 2001)
    d = harness.driver
    await d.say(lan, "/start")
    await d.press(lan, "Tiếng Việt")
    await d.press(lan, "Khối phố 5")
    await d.say(lan, "/khauhieu")
    await d.press(lan, "Luật pháp, chính sách, chủ trương")
    await d.say(lan, "/trogiup")
    await d.say(lan, "/huy")
    row = await subscriber(harness.loa, 2001)
    assert row is not None
    assert (row.status, row.group_code) == ("stopped", "Khối phố 5")
    await d.say(lan, "/batdau")
    await d.say(lan, "/xoadulieu")
    await d.press(lan, "Xóa dữ liệu")
    assert await subscriber(harness.loa, 2001) is None
    texts = harness.server.texts_to(2001)
    assert any("Đầu tư cho bình đẳng giới là đầu tư cho tương lai." in x for x in texts)
    assert any("111" in x for x in texts)
    assert "Đã xóa toàn bộ dữ liệu" in texts[-1]
    # every button press was answered, so Telegram clients stop their spinner
    answered = harness.server.sent_to(2001, "answerCallbackQuery")
    assert len(answered) == 4


async def test_bad_input_over_telegram(harness: Harness) -> None:
    minh = Person("Minh", 2002)
    d = harness.driver
    await d.say(minh, "/start")
    await d.sticker(minh)
    harness.server.push_photo(2002)
    await d.show_replies(minh, len(harness.server.sent_to(2002, "sendMessage")))
    await d.say(minh, "x" * 5000)
    await d.say(minh, "/lenhkhongco")
    texts = harness.server.texts_to(2002)
    assert sum("Mình chỉ đọc được tin nhắn chữ" in x for x in texts) == 2
    # still on the language question: the 5,000 characters get it asked again, quoted short
    assert texts[-3] == f"Mình chưa hiểu «{'x' * 60}». Bạn chọn một mục bên dưới nhé."
    assert texts[-2] == "Bạn muốn đọc tin bằng ngôn ngữ nào?"
    assert "Mình không biết lệnh «/lenhkhongco»" in texts[-1]


async def test_the_same_update_delivered_twice_is_answered_once(harness: Harness) -> None:
    hoa = Person("Hoa", 2003)
    update = harness.server.message_update(2003, "/start")
    update["message"]["entities"] = [{"type": "bot_command", "offset": 0, "length": 6}]
    harness.server.push_raw(update)
    harness.server.push_raw(dict(update))
    await harness.driver.show_replies(hoa, 0)
    await harness.driver.say(hoa, "/trogiup")  # a later update: proves the duplicate was consumed
    sent = harness.server.texts_to(2003)
    assert sum("Xin chào! Mình là Loa" in x for x in sent) == 1


async def test_webhook_checks_the_secret_and_answers_after_the_commit(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'hook.db'}")
    await db.create_all()
    clock = FakeClock(datetime(2025, 11, 16, 3, 0, tzinfo=UTC))
    async with FakeBotApi() as server:
        loa = build_loa(db=db, pack=small_pack(), clock=clock, channels={})
        receiver = TelegramReceiver(
            token=TOKEN, base_url=f"{server.url}/bot", accept=loa.inbox.accept_many, clock=clock
        )
        route = Webhook("telegram", "/hook", "s3cret-Token", TELEGRAM_SECRET_HEADER)

        async def on_update(channel: str, payload: dict[str, Any]) -> None:
            await receiver.handle_payload(payload)

        health = Health({}, Activity(clock), ["telegram"])
        web = WebServer(build_app([route], on_update, health), listen="127.0.0.1", port=0)
        await web.start()
        url = f"http://127.0.0.1:{web.port}/hook"
        await receiver.set_webhook(url, "s3cret-Token")
        try:
            assert server.webhook["secret_token"] == "s3cret-Token"
            update = server.message_update(3001, "xin chào")
            assert await server.post_update_to(url, update, secret_token="wrong") == 403
            assert await server.post_update_to(url, update) == 403
            assert await inbox_rows(db) == 0
            assert await server.post_update_to(url, update, secret_token="s3cret-Token") == 200
            # the 200 came after the commit: the row is there without waiting
            assert await inbox_rows(db) == 1
            assert await server.post_update_to(url, update, secret_token="s3cret-Token") == 200
            assert await inbox_rows(db) == 1  # a re-delivery is stored once
            junk = {"update_id": 77, "message": "not an object"}  # JSON, but no update
            assert await server.post_update_to(url, junk, secret_token="s3cret-Token") == 400
            assert await inbox_rows(db) == 1
        finally:
            await web.stop()
            await receiver.stop()
            await db.dispose()


async def inbox_rows(db: Database) -> int:
    async with db.session() as session:
        return len((await session.execute(select(InboxEvent.id))).all())


async def test_replies_survive_server_failures(harness: Harness) -> None:
    """A 502 on polling, a 429 and a timeout on sending: the resident still gets every answer,
    exactly once."""
    lan = Person("Lan", 2004)
    server = harness.server
    clock = harness.loa.clock
    assert isinstance(clock, FakeClock)

    async def time_passes() -> None:  # the core's clock moves one second per real 0.2 s
        while True:
            await asyncio.sleep(0.2)
            clock.advance(timedelta(seconds=1))
            harness.loa.dispatcher.notify()

    ticking = asyncio.create_task(time_passes())
    server.fail_next("getUpdates", 502)
    server.fail_next("sendMessage", 429, retry_after=1, chat_id=2004)
    server.delay_next("sendMessage", 3.0)  # longer than the sender's 2 s timeout: retried
    try:
        await harness.driver.say(lan, "/start")
    finally:
        ticking.cancel()
    texts = server.texts_to(2004)
    assert sum("Xin chào! Mình là Loa" in x for x in texts) == 1
    assert sum("Bạn muốn đọc tin bằng ngôn ngữ nào?" in x for x in texts) == 1
    assert server.stats.errors_by_status.get(429, 0) >= 1
