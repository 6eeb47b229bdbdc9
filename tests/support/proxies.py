"""Tiny proxies on 127.0.0.1 for the proxy tests: HTTP (CONNECT and absolute-form forwarding),
SOCKS5 (no authentication, RFC 1928), and a black hole that accepts and never answers.

They count what they carried, so a test can tell a request really went through the proxy. Each
only relays bytes; they are test support, not a product.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import struct
from collections.abc import Iterator
from types import TracebackType
from typing import Self


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


class _Proxy:
    """A listening server on 127.0.0.1 with a connection counter."""

    def __init__(self) -> None:
        self.connections = 0
        self.tunnels: list[tuple[str, int]] = []  # upstream (host, port) of each relay
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def url(self) -> str:
        """The proxy URL a client is given."""
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self.serve(reader, writer)
        except (ConnectionError, OSError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            self._tasks.discard(task)
            with contextlib.suppress(Exception):
                writer.close()

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError

    async def _relay(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    ) -> None:
        up_reader, up_writer = upstream
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))


class HttpProxy(_Proxy):
    """CONNECT tunnels (https targets, aiohttp-socks) and absolute-form forwarding (plain http
    targets: httpx and aiohttp send ``POST http://host:port/path HTTP/1.1``)."""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        method, target, _ = head.split(b"\r\n", 1)[0].split(b" ", 2)
        if method == b"CONNECT":
            host, _, port = target.decode().rpartition(":")
            upstream = await asyncio.open_connection(host, int(port))
            self.tunnels.append((host, int(port)))
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await writer.drain()
            await self._relay(reader, writer, upstream)
            return
        # absolute form: one upstream connection; every request on it is rewritten
        authority = target.split(b"//", 1)[1].split(b"/", 1)[0].decode()
        host, _, port = authority.rpartition(":")
        up_reader, up_writer = await asyncio.open_connection(host, int(port or 80))
        self.tunnels.append((host, int(port or 80)))
        back = asyncio.create_task(_pipe(up_reader, writer))
        try:
            while True:
                up_writer.write(_origin_form(head))
                length = _content_length(head)
                if length:
                    up_writer.write(await reader.readexactly(length))
                await up_writer.drain()
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError:
                    return
        finally:
            up_writer.close()
            back.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await back


def _origin_form(head: bytes) -> bytes:
    line, rest = head.split(b"\r\n", 1)
    method, target, version = line.split(b" ", 2)
    path = b"/" + target.split(b"//", 1)[1].split(b"/", 1)[1] if b"//" in target else target
    lines = [h for h in rest.split(b"\r\n") if not h.lower().startswith(b"proxy-")]
    return b" ".join((method, path, version)) + b"\r\n" + b"\r\n".join(lines)


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip())
    return 0


class Socks5Proxy(_Proxy):
    """SOCKS5 without authentication: CONNECT to an IPv4 address or a host name."""

    @property
    def url(self) -> str:
        return f"socks5://127.0.0.1:{self.port}"

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        version, count = await reader.readexactly(2)
        methods = await reader.readexactly(count)
        if version != 5 or 0 not in methods:
            writer.write(b"\x05\xff")
            return
        writer.write(b"\x05\x00")
        _, command, _, kind = await reader.readexactly(4)
        if kind == 1:
            host = str(ipaddress.IPv4Address(await reader.readexactly(4)))
        elif kind == 3:
            host = (await reader.readexactly((await reader.readexactly(1))[0])).decode()
        else:
            host = str(ipaddress.IPv6Address(await reader.readexactly(16)))
        (port,) = struct.unpack("!H", await reader.readexactly(2))
        if command != 1:
            writer.write(b"\x05\x07\x00\x01" + bytes(6))
            return
        upstream = await asyncio.open_connection(host, port)
        self.tunnels.append((host, port))
        writer.write(b"\x05\x00\x00\x01" + socket.inet_aton("127.0.0.1") + struct.pack("!H", 0))
        await writer.drain()
        await self._relay(reader, writer, upstream)


class BlackHole(_Proxy):
    """Accepts connections and never answers: a proxy that times out."""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(3600)


@contextlib.contextmanager
def refusing_port() -> Iterator[int]:
    """A port on 127.0.0.1 that refuses connections: bound, never listening, and held while the
    block runs, so no other process on the machine can take it meanwhile."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])
