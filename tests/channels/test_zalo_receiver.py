"""The Zalo client and receiver against the fake Zalo routes: polling, errors, the webhook."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from bot.channels.base import Inbound, InboundKind
from bot.channels.zalo.client import (
    ZaloBadRequest,
    ZaloClient,
    ZaloConflict,
    ZaloForbidden,
    ZaloRateLimited,
    ZaloServerError,
    ZaloUnauthorized,
)
from bot.channels.zalo.receiver import WEBHOOK_SECRET_HEADER, ZaloReceiver
from bot.clock import FakeClock
from fakes.botapi import FakeBotApi

TOKEN = "7000000001:zalo-recv-token"
SECRET = "hook-secret-123"


@pytest.fixture
async def server() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as fake:
        yield fake


@pytest.fixture
async def client(server: FakeBotApi) -> AsyncIterator[ZaloClient]:
    zalo = ZaloClient(TOKEN, f"{server.url}/zalo/bot", timeout=2.0)
    try:
        yield zalo
    finally:
        await zalo.aclose()


class Collector:
    """The core's handler stand-in: records Inbounds, optionally failing on some."""

    def __init__(self, *, fail_on: str | None = None) -> None:
        self.seen: list[Inbound] = []
        self.fail_on = fail_on
        self._more = asyncio.Event()

    async def __call__(self, inbound: Inbound) -> list[object]:
        self.seen.append(inbound)
        self._more.set()
        if self.fail_on is not None and inbound.text == self.fail_on:
            raise RuntimeError("handler broke")
        return []

    async def wait(self, count: int) -> None:
        async with asyncio.timeout(5):
            while len(self.seen) < count:
                self._more.clear()
                await self._more.wait()


def clock() -> FakeClock:
    return FakeClock(datetime(2025, 11, 20, 1, 0, tzinfo=UTC))


# ---------------------------------------------------------------- client


async def test_get_me_and_empty_long_poll(server: FakeBotApi, client: ZaloClient) -> None:
    me = await client.get_me()
    assert me["id"] == "7000000001"
    assert await client.get_updates(0) == []  # Zalo's 408 means «nothing yet», not an error
    assert server.zalo.stats.errors_by_status[408] == 1


async def test_get_updates_returns_the_pushed_update(
    server: FakeBotApi, client: ZaloClient
) -> None:
    server.zalo.push_message("u1", "xin chào")
    updates = await client.get_updates(1)
    assert [u["message"]["text"] for u in updates] == ["xin chào"]


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, ZaloBadRequest),
        (401, ZaloUnauthorized),
        (403, ZaloForbidden),
        (409, ZaloConflict),
        (429, ZaloRateLimited),
        (500, ZaloServerError),
        (408, ZaloServerError),
    ],
)
async def test_errors_map_to_the_exception_tree(
    server: FakeBotApi, client: ZaloClient, status: int, error: type[Exception]
) -> None:
    server.zalo.fail_next("sendMessage", status)
    with pytest.raises(error) as caught:
        await client.send_message("u1", "x")
    assert TOKEN not in str(caught.value)
    assert caught.value.__cause__ is None  # httpx errors (which hold the URL) are not chained


async def test_webhook_set_and_deleted(server: FakeBotApi, client: ZaloClient) -> None:
    await client.set_webhook("https://loa.example.vn/zalo", SECRET)
    assert server.zalo.webhook["secret_token"] == SECRET
    with pytest.raises(ZaloConflict):
        await client.get_updates(0)
    await client.delete_webhook()
    assert server.zalo.webhook == {}


# ---------------------------------------------------------------- polling


async def test_polling_hands_updates_to_the_core(server: FakeBotApi, client: ZaloClient) -> None:
    handled = Collector()
    receiver = ZaloReceiver(client, handled, clock(), poll_seconds=1)
    await receiver.start()
    try:
        server.zalo.push_message("u2", "/start")
        server.zalo.push_sticker("u2")
        server.zalo.push_raw({"event_name": "user.follow", "message": {}})
        server.zalo.push_message("u2", "1")
        await handled.wait(3)
    finally:
        await receiver.stop()
    kinds = [(i.kind, i.command or i.text) for i in handled.seen]
    assert kinds == [
        (InboundKind.COMMAND, "start"),
        (InboundKind.OTHER, ""),
        (InboundKind.TEXT, "1"),
    ]
    assert not receiver.running


async def test_polling_survives_errors_and_a_failing_handler(
    server: FakeBotApi, client: ZaloClient, caplog: pytest.LogCaptureFixture
) -> None:
    handled = Collector(fail_on="boom")
    receiver = ZaloReceiver(client, handled, clock(), poll_seconds=1, backoff_s=0.01)
    server.zalo.fail_next("getUpdates", 502, count=2)
    server.zalo.fail_next("deleteWebhook", 500)
    with caplog.at_level(logging.DEBUG):
        await receiver.start()
        try:
            server.zalo.push_message("u3", "boom")
            server.zalo.push_message("u3", "vẫn chạy")
            await handled.wait(2)
        finally:
            await receiver.stop()
    assert [i.text for i in handled.seen] == ["boom", "vẫn chạy"]
    assert receiver.errors == 3
    assert TOKEN not in caplog.text
    assert "vẫn chạy" not in caplog.text
    assert "u3" not in caplog.text
    assert "RuntimeError" in caplog.text


async def test_polling_removes_a_webhook_first(server: FakeBotApi, client: ZaloClient) -> None:
    await client.set_webhook("https://loa.example.vn/zalo", SECRET)
    handled = Collector()
    receiver = ZaloReceiver(client, handled, clock(), poll_seconds=1, backoff_s=0.01)
    await receiver.start()
    try:
        server.zalo.push_message("u4", "xin chào")
        await handled.wait(1)
    finally:
        await receiver.stop()
    assert server.zalo.webhook == {}
    assert receiver.errors == 0


async def test_stop_while_parked_in_a_long_poll_is_prompt(
    server: FakeBotApi, client: ZaloClient
) -> None:
    receiver = ZaloReceiver(client, Collector(), clock(), poll_seconds=30)
    await receiver.start()
    await server.zalo.wait_for_poll()
    async with asyncio.timeout(2):
        await receiver.stop()
    assert not receiver.running


# ---------------------------------------------------------------- webhook


def body(server: FakeBotApi, text: str) -> bytes:
    server.zalo.push_message("w1", text)
    update = server.zalo.take_update()  # the fake's own shape, taken off its queue
    return json.dumps(update, ensure_ascii=False).encode()


async def test_webhook_checks_the_secret(server: FakeBotApi, client: ZaloClient) -> None:
    handled = Collector()
    receiver = ZaloReceiver(client, handled, clock(), webhook_secret=SECRET)
    payload = body(server, "xin chào")
    assert WEBHOOK_SECRET_HEADER == "X-Bot-Api-Secret-Token"
    assert await receiver.handle_webhook(payload, None) == 403
    assert await receiver.handle_webhook(payload, "wrong") == 403
    assert handled.seen == []
    assert await receiver.handle_webhook(payload, SECRET) == 200
    assert [i.text for i in handled.seen] == ["xin chào"]


async def test_webhook_reads_a_wrapped_body_and_refuses_junk(
    server: FakeBotApi, client: ZaloClient
) -> None:
    handled = Collector(fail_on="boom")
    receiver = ZaloReceiver(client, handled, clock(), webhook_secret=SECRET)
    inner = json.loads(body(server, "/khauhieu"))
    wrapped = json.dumps({"ok": True, "result": inner}).encode()
    assert await receiver.handle_webhook(wrapped, SECRET) == 200
    assert handled.seen[-1].command == "khauhieu"
    assert await receiver.handle_webhook(b"not json", SECRET) == 400
    assert await receiver.handle_webhook(b"[1, 2]", SECRET) == 400
    ignored = json.dumps({"event_name": "user.follow"}).encode()
    assert await receiver.handle_webhook(ignored, SECRET) == 200
    assert await receiver.handle_webhook(body(server, "boom"), SECRET) == 500
    assert len(handled.seen) == 2


async def test_webhook_without_a_configured_secret_refuses_everything(
    server: FakeBotApi, client: ZaloClient
) -> None:
    receiver = ZaloReceiver(client, Collector(), clock())
    assert await receiver.handle_webhook(body(server, "x"), "") == 403
    with pytest.raises(ValueError, match="secret"):
        await receiver.register_webhook("https://loa.example.vn/zalo")


async def test_register_webhook_sends_the_secret(server: FakeBotApi, client: ZaloClient) -> None:
    receiver = ZaloReceiver(client, Collector(), clock(), webhook_secret=SECRET)
    await receiver.register_webhook("https://loa.example.vn/zalo")
    assert server.zalo.webhook["url"] == "https://loa.example.vn/zalo"
    assert server.zalo.webhook["secret_token"] == SECRET


async def test_polling_gives_up_on_a_rejected_token_with_one_line(
    server: FakeBotApi, client: ZaloClient, caplog: pytest.LogCaptureFixture
) -> None:
    fatal: list[str] = []
    stopped = asyncio.Event()

    def give_up(line: str) -> None:
        fatal.append(line)
        stopped.set()

    receiver = ZaloReceiver(
        client, Collector(), clock(), poll_seconds=1, backoff_s=0.01, on_fatal=give_up
    )
    server.zalo.fail_next("getUpdates", 401, count=100)
    with caplog.at_level(logging.DEBUG):
        await receiver.start()
        await asyncio.wait_for(stopped.wait(), 5)
        await receiver.stop()
    assert fatal == ["ZALO_BOT_TOKEN: rejected by Zalo (401); Zalo polling stopped"]
    assert receiver.errors == 0  # it did not go on retrying
    assert "ZaloUnauthorized" not in caplog.text
    assert TOKEN not in caplog.text
