"""The lean Telegram sender used by the delivery engine: one pooled httpx client, no object model.

python-telegram-bot turns every answer into objects; on the bulk path that costs more than the
HTTP round trip, so this sender posts JSON and reads only `ok`, `error_code` and `parameters`.
The request URL contains the bot token: nothing here logs a URL, only the method name.

The client's transport is `KeepAlivePool`, a small HTTP/1.1 keep-alive pool on asyncio streams.
Why not httpcore's pool: it polls every idle connection's socket on each request and re-imports
`sniffio` on every lock (a failed import when it is absent), measured here at ~840 sends/s on one
connection falling to ~100/s with 64; this pool does ~2,000/s+ on one core with the same client.
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
import time
from pathlib import Path
from typing import Any

import httpx

from bot.channels.base import (
    Attachment,
    Capabilities,
    Choice,
    MenuCommand,
    Outbound,
    SendResult,
    SendStatus,
)
from bot.domain.text import TELEGRAM_MAX_TEXT, split_text

log = logging.getLogger(__name__)

MAX_TEXT = TELEGRAM_MAX_TEXT
MAX_CALLBACK_BYTES = 64
NOT_MODIFIED = "400 message is not modified"
MAX_CAPTION = 1024  # core.telegram.org/bots/api#senddocument: caption, 0-1024 characters
# identity: the body is read as-is (no decompression on the hot path)
# (JSON posts name their Content-Type each: a multipart upload must be free to name its own)
_HEADERS = {"Accept-Encoding": "identity"}
_JSON = {"Content-Type": "application/json"}


class _Connection:
    __slots__ = ("idle_since", "reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.idle_since = time.monotonic()

    def close(self) -> None:
        self.writer.close()


class KeepAlivePool(httpx.AsyncBaseTransport):
    """HTTP/1.1 keep-alive connections (plain or TLS) for an httpx.AsyncClient; no pipelining."""

    def __init__(self, *, max_connections: int = 100, keepalive_expiry: float = 30.0) -> None:
        self._slots = asyncio.Semaphore(max_connections)
        self._idle: dict[tuple[str, str, int], list[_Connection]] = {}
        self._expiry = keepalive_expiry
        self._ssl: ssl.SSLContext | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send one request on a pooled connection and read the whole response."""
        timeouts = request.extensions.get("timeout", {})
        url = request.url
        origin = (url.scheme, url.host, url.port or (443 if url.scheme == "https" else 80))
        try:
            async with asyncio.timeout(timeouts.get("pool")):
                await self._slots.acquire()
        except TimeoutError as exc:
            raise httpx.PoolTimeout("no free connection") from exc
        try:
            conn = await self._connection(origin, timeouts.get("connect"))
            try:
                status, headers, body, reusable = await self._exchange(
                    conn, request, timeouts.get("read")
                )
            except BaseException:
                conn.close()
                raise
            if reusable:
                conn.idle_since = time.monotonic()
                self._idle.setdefault(origin, []).append(conn)
            else:
                conn.close()
        finally:
            self._slots.release()
        return httpx.Response(status, headers=headers, content=body, request=request)

    async def _connection(self, origin: tuple[str, str, int], limit_s: float | None) -> _Connection:
        idle = self._idle.get(origin)
        now = time.monotonic()
        while idle:
            conn = idle.pop()
            # a connection the server closed (FIN seen) or kept too long is not reused
            if conn.reader.at_eof() or now - conn.idle_since > self._expiry:
                conn.close()
                continue
            return conn
        scheme, host, port = origin
        context = None
        if scheme == "https":
            if self._ssl is None:
                self._ssl = ssl.create_default_context()
            context = self._ssl
        try:
            async with asyncio.timeout(limit_s):
                reader, writer = await asyncio.open_connection(host, port, ssl=context)
        except TimeoutError as exc:
            raise httpx.ConnectTimeout("connect timed out") from exc
        except OSError as exc:
            raise httpx.ConnectError(f"connect failed: {type(exc).__name__}") from exc
        return _Connection(reader, writer)

    async def _exchange(
        self, conn: _Connection, request: httpx.Request, limit_s: float | None
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes, bool]:
        body = await request.aread()
        lines = [b"%s %s HTTP/1.1" % (request.method.encode(), request.url.raw_path)]
        lines.extend(key + b": " + value for key, value in request.headers.raw)
        if body and "content-length" not in request.headers:
            lines.append(b"Content-Length: %d" % len(body))
        conn.writer.write(b"\r\n".join(lines) + b"\r\n\r\n" + body)
        try:
            async with asyncio.timeout(limit_s):
                await conn.writer.drain()
                return await self._read_response(conn.reader)
        except TimeoutError as exc:
            raise httpx.ReadTimeout("read timed out") from exc
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
            raise httpx.RemoteProtocolError(f"bad response: {type(exc).__name__}") from exc
        except OSError as exc:
            raise httpx.ReadError(f"connection lost: {type(exc).__name__}") from exc

    @staticmethod
    async def _read_response(
        reader: asyncio.StreamReader,
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes, bool]:
        head = await reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head[:-4].split(b"\r\n")
        version, status_text, *_ = status_line.split(b" ", 2)
        status = int(status_text)
        headers: list[tuple[bytes, bytes]] = []
        length: int | None = None
        chunked = False
        keep_alive = version == b"HTTP/1.1"
        for line in header_lines:
            key, _, value = line.partition(b":")
            key, value = key.strip(), value.strip()
            lower = key.lower()
            if lower == b"content-length":
                length = int(value)
            elif lower == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
                continue  # the body handed to httpx is already de-chunked
            elif lower == b"connection":
                keep_alive = value.lower() == b"keep-alive" or (
                    keep_alive and value.lower() != b"close"
                )
            headers.append((key, value))
        if chunked:
            parts = []
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                if size == 0:
                    await reader.readuntil(b"\r\n")  # no trailers expected from the Bot API
                    break
                parts.append(await reader.readexactly(size))
                await reader.readexactly(2)
            return status, headers, b"".join(parts), keep_alive
        if length is not None:
            return status, headers, await reader.readexactly(length), keep_alive
        return status, headers, await reader.read(), False

    async def aclose(self) -> None:
        """Close every idle connection."""
        for idle in self._idle.values():
            for conn in idle:
                conn.close()
        self._idle.clear()


def build_keyboard(choices: tuple[Choice, ...], columns: int) -> dict[str, Any]:
    """An inline keyboard with `columns` buttons per row; callback data is Choice.data."""
    per_row = max(1, columns)
    buttons = []
    for choice in choices:
        if len(choice.data.encode("utf-8")) > MAX_CALLBACK_BYTES:
            raise ValueError("callback data longer than 64 bytes")
        buttons.append({"text": choice.label, "callback_data": choice.data})
    rows = [buttons[i : i + per_row] for i in range(0, len(buttons), per_row)]
    return {"inline_keyboard": rows}


def classify_response(status_code: int, body: bytes) -> SendResult:
    """Map one Bot API answer to a SendResult, reading only the fields the engine needs."""
    if status_code == 200:
        return SendResult(SendStatus.OK)
    try:
        payload = json.loads(body) if body else {}
    except ValueError:
        payload = {}
    if not isinstance(payload, dict):
        payload = {}
    params = payload.get("parameters")
    params = params if isinstance(params, dict) else {}
    code = payload.get("error_code", status_code)
    if status_code == 429 or code == 429:
        retry_after = params.get("retry_after")
        after = float(retry_after) if isinstance(retry_after, int | float) else None
        return SendResult(SendStatus.RETRY, retry_after=after, error="429 too many requests")
    if status_code == 403:
        return SendResult(SendStatus.BLOCKED, error="403 forbidden")
    migrate_to = params.get("migrate_to_chat_id")
    if status_code == 400 and migrate_to is not None:
        return SendResult(SendStatus.MIGRATED, new_chat_id=str(migrate_to), error="400 migrated")
    if status_code >= 500:
        return SendResult(SendStatus.RETRY, error=f"{status_code} server error")
    if status_code == 400 and "message is not modified" in str(payload.get("description", "")):
        return SendResult(SendStatus.FAILED, error=NOT_MODIFIED)
    # other 4xx: a permanent error for this message; the description may quote user text: not kept
    return SendResult(SendStatus.FAILED, error=f"{status_code} bad request")


class TelegramSender:
    """Implements the `Channel` protocol over the Bot API with one keep-alive connection pool."""

    name = "telegram"
    capabilities = Capabilities(
        max_text=MAX_TEXT, buttons=True, max_buttons=100, edits=True, files=True
    )

    def __init__(
        self, token: str, base_url: str, *, timeout: float = 10.0, max_connections: int = 100
    ) -> None:
        # httpx logs every request URL at INFO, and the URL carries the token
        logging.getLogger("httpx").setLevel(logging.WARNING)
        # base_url ends with "/bot" as in Settings.telegram_api_base_url; token follows directly
        self._method_url = f"{base_url}{token}/"
        self._send_url = f"{self._method_url}sendMessage"
        self._client = httpx.AsyncClient(
            transport=KeepAlivePool(max_connections=max_connections),
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            headers=_HEADERS,
            trust_env=False,  # never route through a proxy picked up from the environment
        )

    async def send(self, message: Outbound) -> SendResult:
        """Send `message`, split at 4,096 characters; buttons go on the last chunk.

        A command menu is set first (scope: this chat); a file follows the text, with the text as
        its caption when the text fits one.
        """
        if message.menu is not None:
            result = await self._set_menu(message.chat_id, message.menu)
            if result.status is not SendStatus.OK:
                return result
        if message.attachment is not None:
            return await self._send_file(message, message.attachment)
        if not message.text:
            return SendResult(SendStatus.OK)
        return await self._send_text(message)

    async def _send_text(self, message: Outbound) -> SendResult:
        chunks = (
            split_text(message.text, MAX_TEXT) if len(message.text) > MAX_TEXT else [message.text]
        )
        result = SendResult(SendStatus.OK)
        for index, chunk in enumerate(chunks):
            payload: dict[str, Any] = {"chat_id": message.chat_id, "text": chunk}
            keyboard = bool(message.choices) and index == len(chunks) - 1
            if keyboard:
                payload["reply_markup"] = build_keyboard(message.choices, message.columns)
            result = await self._post(self._send_url, payload, with_ref=keyboard)
            if result.status is not SendStatus.OK:
                # a later chunk failing is retried whole: a repeated first part beats a lost tail
                return result
        return result

    async def clear_choices(self, chat_id: str, message_ref: str) -> SendResult:
        """editMessageReplyMarkup without a markup: the message's inline keyboard goes away
        (core.telegram.org/bots/api#editmessagereplymarkup). «message is not modified» (the
        keyboard is already gone, e.g. taken off when pressed) counts as done."""
        payload = {"chat_id": chat_id, "message_id": int(message_ref)}
        result = await self._post(f"{self._method_url}editMessageReplyMarkup", payload)
        if result.status is SendStatus.FAILED and result.error == NOT_MODIFIED:
            return SendResult(SendStatus.OK)
        return result

    async def _post(
        self, url: str, payload: dict[str, Any], *, with_ref: bool = False
    ) -> SendResult:
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        method = url.rsplit("/", 1)[-1]
        try:
            response = await self._client.post(url, content=body, headers=_JSON)
        except httpx.TimeoutException:
            log.warning("telegram %s timed out", method)
            return SendResult(SendStatus.RETRY, error="timeout")
        except httpx.TransportError as exc:
            log.warning("telegram %s transport error: %s", method, type(exc).__name__)
            return SendResult(SendStatus.RETRY, error=f"transport {type(exc).__name__}"[:200])
        result = classify_response(response.status_code, response.content)
        if with_ref and result.status is SendStatus.OK:
            return SendResult(SendStatus.OK, message_ref=_message_id(response.content))
        return result

    async def _set_menu(self, chat_id: str, menu: tuple[MenuCommand, ...]) -> SendResult:
        """setMyCommands with a chat scope (core.telegram.org/bots/api#botcommandscopechat)."""
        payload = {
            "commands": [{"command": c.command, "description": c.description} for c in menu],
            "scope": {"type": "chat", "chat_id": chat_id},
        }
        return await self._post(f"{self._method_url}setMyCommands", payload)

    async def _send_file(self, message: Outbound, file: Attachment) -> SendResult:
        """sendDocument / sendPhoto, multipart/form-data (core.telegram.org/bots/api#inputfile)."""
        caption = message.text
        if len(caption) > MAX_CAPTION:
            text = Outbound(channel=message.channel, chat_id=message.chat_id, text=caption)
            result = await self._send_text(text)
            if result.status is not SendStatus.OK:
                return result
            caption = ""
        try:
            content = await asyncio.to_thread(Path(file.path).read_bytes)
        except OSError:
            log.warning("telegram file to send is gone")
            return SendResult(SendStatus.FAILED, error="file missing")
        method, field = ("sendPhoto", "photo") if file.photo else ("sendDocument", "document")
        data: dict[str, str] = {"chat_id": message.chat_id}
        if caption:
            data["caption"] = caption
        if message.choices:
            data["reply_markup"] = json.dumps(build_keyboard(message.choices, message.columns))
        files = {field: (file.filename, content, file.media_type)}
        url = f"{self._method_url}{method}"
        try:
            response = await self._client.post(url, data=data, files=files)
        except httpx.TimeoutException:
            log.warning("telegram %s timed out", method)
            return SendResult(SendStatus.RETRY, error="timeout")
        except httpx.TransportError as exc:
            log.warning("telegram %s transport error: %s", method, type(exc).__name__)
            return SendResult(SendStatus.RETRY, error=f"transport {type(exc).__name__}"[:200])
        return classify_response(response.status_code, response.content)

    async def edit_text(
        self, chat_id: str, message_id: str, text: str, choices: tuple[Choice, ...] = ()
    ) -> SendResult:
        """editMessageText (core.telegram.org/bots/api#editmessagetext): a progress message.
        Without `choices` the message's buttons are removed (as Telegram does)."""
        payload: dict[str, Any] = {
            "chat_id": chat_id,
            "message_id": int(message_id),
            "text": text[:MAX_TEXT],
        }
        if choices:
            payload["reply_markup"] = build_keyboard(choices, 1)
        return await self._post(f"{self._method_url}editMessageText", payload)

    async def send_for_id(
        self, chat_id: str, text: str, choices: tuple[Choice, ...] = ()
    ) -> tuple[SendResult, str | None]:
        """sendMessage returning the new message's id (to edit it later)."""
        payload: dict[str, Any] = {"chat_id": chat_id, "text": text[:MAX_TEXT]}
        if choices:
            payload["reply_markup"] = build_keyboard(choices, 1)
        result = await self._post(self._send_url, payload, with_ref=True)
        return result, result.message_ref

    async def get_me(self) -> dict[str, Any]:
        """The bot's own user (getMe), e.g. its `username`. Raises httpx.HTTPError when Telegram
        cannot be reached and ValueError when it answers with an error (401: a wrong token)."""
        response = await self._client.post(f"{self._method_url}getMe", content=b"{}", headers=_JSON)
        try:
            payload = json.loads(response.content or b"{}")
        except ValueError:
            payload = {}
        result = payload.get("result") if isinstance(payload, dict) else None
        if response.status_code != 200 or not isinstance(result, dict):
            raise ValueError(f"getMe answered HTTP {response.status_code}")
        return result

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()


def _message_id(body: bytes) -> str | None:
    """The sent Message's `message_id` from a 200 answer (None if it cannot be read)."""
    try:
        message = json.loads(body).get("result")
    except (ValueError, AttributeError):
        return None
    message_id = message.get("message_id") if isinstance(message, dict) else None
    return str(message_id) if isinstance(message_id, int) else None
