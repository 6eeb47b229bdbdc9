"""The Telegram sender against HTTP/1.1 answers a hand-written transport used to trip on: a chunked
body with a trailer, a 100 Continue before the answer, a 204 without a length, and a keep-alive
connection the server has just closed. A raw asyncio server on 127.0.0.1 writes the bytes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from bot.channels.base import Outbound, SendStatus
from bot.channels.telegram.sender import TelegramSender

OK_BODY = b'{"ok":true,"result":{"message_id":1}}'
Answer = Callable[[int], bytes]  # request number on the connection → raw response bytes


class RawServer:
    """Reads each request (head and Content-Length body) and writes `answer(n)`; may close."""

    def __init__(self, answer: Answer, *, close_after: int | None = None) -> None:
        self.answer = answer
        self.close_after = close_after
        self.connections = 0
        self.requests = 0
        self._server: asyncio.Server | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}/bot"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        served = 0
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                await reader.readexactly(length)
                self.requests += 1
                served += 1
                writer.write(self.answer(self.requests))
                await writer.drain()
                if self.close_after is not None and served >= self.close_after:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def __aenter__(self) -> RawServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()


def chunked_with_trailer(_: int) -> bytes:
    half = len(OK_BODY) // 2
    return (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
        b"Trailer: X-Checksum\r\n\r\n"
        + b"%x\r\n%s\r\n" % (half, OK_BODY[:half])
        + b"%x\r\n%s\r\n" % (len(OK_BODY) - half, OK_BODY[half:])
        + b"0\r\nX-Checksum: abc\r\n\r\n"
    )


def continue_then_ok(_: int) -> bytes:
    return (
        b"HTTP/1.1 100 Continue\r\n\r\n"
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(OK_BODY), OK_BODY)
    )


def plain_ok(_: int) -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (
        len(OK_BODY),
        OK_BODY,
    )


def no_content(_: int) -> bytes:
    return b"HTTP/1.1 204 No Content\r\n\r\n"


@pytest.fixture
async def sender_factory() -> AsyncIterator[Callable[[str], TelegramSender]]:
    made: list[TelegramSender] = []

    def make(base_url: str) -> TelegramSender:
        sender = TelegramSender("7000000001:raw", base_url, timeout=2.0)
        made.append(sender)
        return sender

    yield make
    for sender in made:
        await sender.aclose()


@pytest.mark.parametrize("answer", [chunked_with_trailer, continue_then_ok])
async def test_unusual_but_valid_answers_are_read(
    sender_factory: Callable[[str], TelegramSender], answer: Answer
) -> None:
    async with RawServer(answer) as server:
        sender = sender_factory(server.base_url)
        for n in range(3):
            result = await sender.send(Outbound("telegram", "1", f"tin {n}"))
            assert result.status is SendStatus.OK
        assert server.connections == 1  # and the connection stays usable


async def test_a_204_without_length_does_not_hang(
    sender_factory: Callable[[str], TelegramSender],
) -> None:
    async with RawServer(no_content) as server:
        sender = sender_factory(server.base_url)
        result = await asyncio.wait_for(sender.send(Outbound("telegram", "1", "x")), 3)
        assert result.error != "timeout"
        assert (await sender.send(Outbound("telegram", "1", "y"))).error != "timeout"


async def test_a_connection_the_server_just_closed_is_not_reused(
    sender_factory: Callable[[str], TelegramSender],
) -> None:
    async with RawServer(plain_ok, close_after=1) as server:
        sender = sender_factory(server.base_url)
        assert (await sender.send(Outbound("telegram", "1", "a"))).status is SendStatus.OK
        await asyncio.sleep(0.05)  # the server's FIN arrives while the connection is idle
        assert (await sender.send(Outbound("telegram", "1", "b"))).status is SendStatus.OK
        assert (server.connections, server.requests) == (2, 2)
