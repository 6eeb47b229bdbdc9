"""A lean HTTP/1.1 server on `asyncio.Protocol`: just enough for the fake Bot API servers.

It supports keep-alive, Content-Length and chunked request bodies, JSON, urlencoded and
multipart/form-data bodies, and handlers that answer at once (a `Response`) or later (an
awaitable). Requests on one connection are answered in order, one at a time, as HTTP/1.1
requires. It is written for speed over generality: the benchmarks push thousands of requests a
second through it while the bot under test runs on the same cores.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

_LOGGER = logging.getLogger(__name__)

_MAX_HEAD = 64 * 1024
_MAX_BODY = 64 * 1024 * 1024


@dataclass(slots=True)
class UploadedFile:
    """One file part of a multipart/form-data body."""

    filename: str
    content_type: str
    data: bytes


@dataclass(slots=True)
class Request:
    """One parsed HTTP request."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes

    def params(self) -> dict[str, Any]:
        """The query string and the body merged into one dict (body values win).

        Form values stay strings (PTB JSON-encodes non-string values inside form fields);
        multipart file parts become `UploadedFile`. A body that cannot be parsed raises
        `ValueError`.
        """
        result: dict[str, Any] = dict(parse_qsl(self.query, keep_blank_values=True))
        if not self.body:
            return result
        content_type = self.headers.get("content-type", "")
        kind, _, options = content_type.partition(";")
        kind = kind.strip().lower()
        if kind == "application/json" or (not kind and self.body[:1] in (b"{", b"[")):
            parsed = json.loads(self.body)
            if not isinstance(parsed, dict):
                raise ValueError("JSON body must be an object")
            result.update(parsed)
        elif kind == "application/x-www-form-urlencoded":
            result.update(parse_qsl(self.body.decode("utf-8"), keep_blank_values=True))
        elif kind == "multipart/form-data":
            result.update(_parse_multipart(self.body, _header_option(options, "boundary")))
        else:
            raise ValueError(f"unsupported content type {kind!r}")
        return result


@dataclass(slots=True)
class Response:
    """A response body with its status; JSON unless told otherwise."""

    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Request], Response | Awaitable[Response]]

_REASONS = {status.value: status.phrase for status in HTTPStatus}


def json_response(status: int, payload: object) -> Response:
    """A compact UTF-8 JSON response."""
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(status, body)


def _header_option(options: str, name: str) -> str:
    for part in options.split(";"):
        key, _, value = part.strip().partition("=")
        if key.lower() == name:
            return value.strip().strip('"')
    return ""


def _parse_multipart(body: bytes, boundary: str) -> dict[str, Any]:
    if not boundary:
        raise ValueError("multipart body without boundary")
    result: dict[str, Any] = {}
    delimiter = b"--" + boundary.encode("latin-1")
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break
        head, sep, data = chunk.partition(b"\r\n\r\n")
        if not sep:
            continue
        if data.endswith(b"\r\n"):
            data = data[:-2]
        name = filename = ""
        part_type = "text/plain"
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, _, value = line.partition(":")
            key = key.strip().lower()
            if key == "content-disposition":
                name = _header_option(value, "name")
                filename = _header_option(value, "filename")
            elif key == "content-type":
                part_type = value.strip()
        if not name:
            continue
        if filename:
            result[name] = UploadedFile(filename, part_type, data)
        else:
            result[name] = data.decode("utf-8")
    return result


def _chunked_body(buffer: bytearray, start: int) -> tuple[bytes, int] | None:
    """Decode a chunked body starting at `start`; None while incomplete."""
    body = bytearray()
    pos = start
    while True:
        line_end = buffer.find(b"\r\n", pos)
        if line_end < 0:
            return None
        size = int(bytes(buffer[pos:line_end]).split(b";")[0], 16)
        pos = line_end + 2
        if size == 0:
            trailer_end = buffer.find(b"\r\n\r\n", pos - 2)
            if trailer_end < 0:
                return None
            return bytes(body), trailer_end + 4
        if len(buffer) < pos + size + 2:
            return None
        body += buffer[pos : pos + size]
        pos += size + 2


class _Connection(asyncio.Protocol):
    """One client connection: parses requests and writes responses in order."""

    def __init__(self, handler: Handler, connections: set[_Connection]) -> None:
        self._handler = handler
        self._connections = connections
        self._buffer = bytearray()
        self._transport: asyncio.Transport | None = None
        self._task: asyncio.Task[Response] | None = None
        self._keep_alive = True
        self._closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        self._connections.discard(self)
        if self._task is not None:
            self._task.cancel()
            self._task = None

    def close(self) -> None:
        """Close the connection now (used when the server stops)."""
        if self._transport is not None:
            self._transport.close()

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if self._task is None:
            self._process()

    def _process(self) -> None:
        while not self._closed and self._task is None:
            try:
                request = self._parse()
            except ValueError:
                self._write(json_response(400, {"ok": False, "description": "Bad HTTP"}))
                self._keep_alive = False
                self.close()
                return
            if request is None:
                return
            try:
                result = self._handler(request)
            except Exception:
                _LOGGER.exception("fake server handler failed")
                result = json_response(500, {"ok": False, "description": "Internal error"})
            if isinstance(result, Response):
                self._write(result)
            else:
                self._task = asyncio.ensure_future(result)
                self._task.add_done_callback(self._on_done)

    def _on_done(self, task: asyncio.Task[Response]) -> None:
        if task is not self._task:
            return
        self._task = None
        if task.cancelled() or self._closed:
            return
        exc = task.exception()
        if exc is not None:
            _LOGGER.error("fake server handler failed", exc_info=exc)
            self._write(json_response(500, {"ok": False, "description": "Internal error"}))
        else:
            self._write(task.result())
        self._process()

    def _parse(self) -> Request | None:
        buffer = self._buffer
        head_end = buffer.find(b"\r\n\r\n")
        if head_end < 0:
            if len(buffer) > _MAX_HEAD:
                raise ValueError("head too large")
            return None
        lines = bytes(buffer[:head_end]).decode("latin-1").split("\r\n")
        method, target, version = lines[0].split(" ", 2)
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        start = head_end + 4
        if headers.get("transfer-encoding", "").lower() == "chunked":
            decoded = _chunked_body(buffer, start)
            if decoded is None:
                return None
            body, end = decoded
        else:
            length = int(headers.get("content-length", "0"))
            if length > _MAX_BODY:
                raise ValueError("body too large")
            end = start + length
            if len(buffer) < end:
                return None
            body = bytes(buffer[start:end])
        del buffer[:end]
        connection = headers.get("connection", "").lower()
        if version == "HTTP/1.0":
            self._keep_alive = connection == "keep-alive"
        else:
            self._keep_alive = connection != "close"
        path, _, query = target.partition("?")
        return Request(method.upper(), path, query, headers, body)

    def _write(self, response: Response) -> None:
        if self._transport is None or self._closed:
            return
        reason = _REASONS.get(response.status, "Unknown")
        extra = "".join(f"{name}: {value}\r\n" for name, value in response.headers.items())
        head = (
            f"HTTP/1.1 {response.status} {reason}\r\n"
            f"Content-Type: {response.content_type}\r\n"
            f"Content-Length: {len(response.body)}\r\n"
            f"{extra}"
            f"Connection: {'keep-alive' if self._keep_alive else 'close'}\r\n\r\n"
        )
        self._transport.write(head.encode("latin-1") + response.body)
        if not self._keep_alive:
            self._transport.close()


class HttpServer:
    """Serves one handler on 127.0.0.1; start() binds, stop() closes every connection."""

    def __init__(self, handler: Handler, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self._handler = handler
        self._host = host
        self._port = port
        self._server: asyncio.Server | None = None
        self._connections: set[_Connection] = set()

    @property
    def port(self) -> int:
        """The bound port (after start)."""
        if self._server is None:
            raise RuntimeError("server not started")
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def start(self) -> None:
        """Bind and start accepting connections."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: _Connection(self._handler, self._connections),
            self._host,
            self._port,
            reuse_address=True,
        )

    async def stop(self) -> None:
        """Stop accepting, close open connections and wait for the listener to close."""
        if self._server is None:
            return
        self._server.close()
        for connection in list(self._connections):
            connection.close()
        with contextlib.suppress(Exception):
            await self._server.wait_closed()
        self._server = None
