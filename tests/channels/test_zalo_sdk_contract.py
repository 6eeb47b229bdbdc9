"""Contract: the third-party `python-zalo-bot` client (PyPI, 0.1.9) pointed at the Zalo fake.

If an independent client reads every answer of the fake as it reads Zalo's, the fake's shapes
are not just Loa's own idea. What the SDK does with an error is its own choice, and this test
pins it down: it never reads ``ok`` (`BaseRequest.post` returns ``result``), so an HTTP 200 +
``ok:false`` answer — Zalo's way, measured — becomes ``None``, not an exception; only a non-2xx
status raises, mapped with Telegram's meanings (403 → Forbidden). Loa's own client reads the body.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from zalo_bot import Bot, Message, Update
from zalo_bot.error import Forbidden

from fakes.botapi import FakeBotApi

TOKEN = "7000000003:sdk-contract"


@pytest.fixture
async def server() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as fake:
        yield fake


@pytest.fixture
async def bot(server: FakeBotApi) -> AsyncIterator[Bot]:
    client = Bot(TOKEN, base_url=f"{server.url}/zalo")  # the SDK appends /bot<token>
    await client.initialize()  # calls getMe
    try:
        yield client
    finally:
        await client.shutdown()


async def test_get_me(bot: Bot) -> None:
    me = await bot.get_me()
    assert me.id == "7000000003"
    assert (me.account_name, me.account_type, me.can_join_groups) == ("bot.loa", "BASIC", False)


async def test_a_text_update(server: FakeBotApi, bot: Bot) -> None:
    message_id = server.zalo.push_message("c0ffee", "Xin chào", display_name="Lan")
    update = await bot.get_update(timeout=1)
    assert isinstance(update, Update)
    assert update.api_kwargs["event_name"] == "message.text.received"
    message = update.message
    assert message is not None
    assert (message.message_id, message.text, message.chat.id) == (message_id, "Xin chào", "c0ffee")
    assert message.chat.type == "PRIVATE"
    assert message.from_user is not None
    assert message.from_user.id == "c0ffee"
    assert message.date.year >= 2025  # milliseconds, as the SDK divides by 1000


async def test_image_voice_and_unsupported_updates(server: FakeBotApi, bot: Bot) -> None:
    server.zalo.push_image("c1", caption="ảnh")
    server.zalo.push_voice("c1")
    server.zalo.push_unsupported("c1")
    image = await bot.get_update(timeout=1)
    assert image is not None
    assert image.message is not None
    assert image.message.photo_url == "https://photo-stal-1.zdn.vn/fake.jpg"  # the SDK's field
    assert image.message.message_type == "CHAT_PHOTO"
    voice = await bot.get_update(timeout=1)
    assert voice is not None
    assert voice.message is not None
    assert voice.api_kwargs["event_name"] == "message.voice.received"
    assert voice.message.message_type == "CHAT_VOICE"
    assert voice.message.api_kwargs["voice_url"].endswith(".aac")
    hidden = await bot.get_update(timeout=1)
    assert hidden is not None
    assert hidden.message is not None
    assert hidden.api_kwargs["event_name"] == "message.unsupported.received"
    assert (hidden.message.text, hidden.message.photo_url) == (None, None)


async def test_an_idle_poll_is_no_update(server: FakeBotApi, bot: Bot) -> None:
    assert await bot.get_update(timeout=1) is None  # 408 "Request timeout", HTTP 200
    assert server.zalo.stats.errors_by_status[408] == 1


async def test_send_message(server: FakeBotApi, bot: Bot) -> None:
    sent = await bot.send_message("c2", "Bình đẳng giới")
    assert isinstance(sent, Message)
    assert sent.message_id == server.zalo.sent_to("c2")[0].message_id
    assert server.zalo.sent_to("c2")[0].text == "Bình đẳng giới"


@pytest.mark.parametrize("code", [400, 403, 429, 500])
async def test_an_error_with_http_200_is_none_to_the_sdk(
    server: FakeBotApi, bot: Bot, code: int
) -> None:
    server.zalo.fail_next("sendMessage", code)
    assert await bot.send_message("c3", "x") is None
    assert server.zalo.stats.errors_by_status[code] == 1
    assert server.zalo.sent_to("c3") == []


async def test_an_error_with_its_http_status_raises_in_the_sdk(
    server: FakeBotApi, bot: Bot
) -> None:
    server.zalo.errors_as_http_status = True
    server.zalo.fail_next("sendMessage", 403)  # Zalo: internal error; the SDK: Telegram's meaning
    with pytest.raises(Forbidden):
        await bot.send_message("c4", "x")


async def test_method_names_are_case_sensitive(server: FakeBotApi, bot: Bot) -> None:
    assert await bot._post("sendmessage", {"chat_id": "c5", "text": "x"}) is None
    assert server.zalo.stats.errors_by_status[400] == 1
    assert server.zalo.sent_to("c5") == []


async def test_webhook_set_and_deleted(server: FakeBotApi, bot: Bot) -> None:
    # the SDK's public set_webhook runs its own event loop; its coroutine is used here
    assert await bot._set_webhook_async("https://loa.example.vn/zalo", "secret-123") is True
    assert server.zalo.webhook["secret_token"] == "secret-123"
    assert await bot.get_update(timeout=1) is None  # 400 while a webhook is set
    assert await bot._delete_webhook_async() is True
    assert server.zalo.webhook == {}
