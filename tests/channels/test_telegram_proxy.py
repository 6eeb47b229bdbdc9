"""Telegram through a proxy (TELEGRAM_PROXY_URL): the sender and the receiver alike, over a small
local http proxy and a socks5 one; a proxy that refuses or never answers leaves rows waiting."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.channels.base import Inbound, Outbound, SendStatus
from bot.channels.telegram.receiver import TelegramReceiver
from bot.channels.telegram.sender import TelegramSender
from bot.clock import FakeClock
from bot.delivery.outbox import OutboxItem, Priority, enqueue
from bot.storage.db import Database
from bot.storage.models.delivery import OutboxMessage
from fakes.botapi import FakeBotApi
from tests.support.delivery import CountingChannel, Runner
from tests.support.proxies import BlackHole, HttpProxy, Socks5Proxy, refusing_port

TOKEN = "7000000001:proxy-token"
START = datetime(2025, 11, 25, 1, 0, tzinfo=UTC)
OUT = OutboxMessage.__table__  # type: ignore[attr-defined]
PROXIES = {"http": HttpProxy, "socks5": Socks5Proxy}


@pytest.mark.parametrize("kind", sorted(PROXIES))
async def test_sender_goes_through_the_proxy(kind: str) -> None:
    async with FakeBotApi() as server, PROXIES[kind]() as proxy:
        sender = TelegramSender(TOKEN, f"{server.url}/bot", timeout=5.0, proxy=proxy.url)
        try:
            for n in range(5):
                result = await sender.send(Outbound("telegram", "42", f"tin {n}"))
                assert result.status is SendStatus.OK
        finally:
            await sender.aclose()
        assert server.texts_to("42") == [f"tin {n}" for n in range(5)]
        assert proxy.tunnels  # every request went through it
        assert {port for _, port in proxy.tunnels} == {server.port}
        assert proxy.connections <= 5  # kept alive through the proxy, not one per send


@pytest.mark.parametrize("kind", sorted(PROXIES))
async def test_receiver_polls_through_the_proxy(kind: str) -> None:
    seen: list[Inbound] = []
    arrived = asyncio.Event()

    async def accept(batch: Sequence[Inbound]) -> None:
        seen.extend(batch)
        arrived.set()

    async with FakeBotApi() as server, PROXIES[kind]() as proxy:
        receiver = TelegramReceiver(
            token=TOKEN,
            base_url=f"{server.url}/bot",
            accept=accept,
            clock=FakeClock(START),
            proxy=proxy.url,
        )
        await receiver.start_polling(poll_seconds=1)
        try:
            server.push_message(77, "xin chào qua proxy")
            await asyncio.wait_for(arrived.wait(), 10)
        finally:
            await receiver.stop()
        assert [i.text for i in seen] == ["xin chào qua proxy"]
        assert proxy.tunnels
        assert {port for _, port in proxy.tunnels} == {server.port}


@pytest.mark.parametrize("scheme", ["http", "socks5"])
async def test_a_refusing_proxy_is_a_retry(scheme: str) -> None:
    with refusing_port() as port:
        await _refused(f"{scheme}://127.0.0.1:{port}")


async def _refused(url: str) -> None:
    async with FakeBotApi() as server:
        sender = TelegramSender(TOKEN, f"{server.url}/bot", timeout=2.0, proxy=url)
        try:
            result = await sender.send(Outbound("telegram", "42", "x"))
        finally:
            await sender.aclose()
        assert result.status is SendStatus.RETRY
        assert result.error is not None
        assert result.error.startswith("transport ")
        assert "127.0.0.1" not in result.error  # a type name, never a URL
        assert server.sent == []


@pytest.mark.parametrize("scheme", ["http", "socks5"])
async def test_a_silent_proxy_is_a_timeout_retry(scheme: str) -> None:
    async with FakeBotApi() as server, BlackHole() as hole:
        url = f"{scheme}://127.0.0.1:{hole.port}"
        sender = TelegramSender(TOKEN, f"{server.url}/bot", timeout=0.3, proxy=url)
        try:
            result = await sender.send(Outbound("telegram", "42", "x"))
        finally:
            await sender.aclose()
        assert (result.status, result.error) == (SendStatus.RETRY, "timeout")
        assert server.sent == []


async def test_rows_wait_while_the_proxy_is_down_and_go_when_it_is_back(db: Database) -> None:
    clock = FakeClock(START)
    async with db.session() as session:
        items = [OutboxItem(Outbound("telegram", str(500 + n), f"tin {n}"), Priority.BULK, f"p{n}")
                 for n in range(3)]  # fmt: skip
        await enqueue(session, items, now=START)
    async with FakeBotApi() as server, HttpProxy() as proxy:
        with refusing_port() as port:
            down = TelegramSender(
                TOKEN, f"{server.url}/bot", timeout=1.0, proxy=f"http://127.0.0.1:{port}"
            )
            assert await Runner(db, CountingChannel(down), clock).run(sends=3) == 3
            await down.aclose()
        async with db.session() as session:
            rows = (await session.execute(select(OUT.c.status, OUT.c.last_error))).all()
        assert {status for status, _ in rows} == {"pending"}
        assert all((error or "").startswith("transport ") for _, error in rows)

        clock.set(datetime(2025, 11, 25, 2, 0, tzinfo=UTC))  # past every retry's backoff
        up = TelegramSender(TOKEN, f"{server.url}/bot", timeout=2.0, proxy=proxy.url)
        assert await Runner(db, CountingChannel(up), clock).run(sends=3) == 3
        await up.aclose()
        async with db.session() as session:
            statuses = (await session.execute(select(OUT.c.status))).scalars().all()
        assert statuses == ["sent"] * 3
        assert sorted(server.texts_to(str(500 + n))[0] for n in range(3)) == [
            "tin 0",
            "tin 1",
            "tin 2",
        ]
