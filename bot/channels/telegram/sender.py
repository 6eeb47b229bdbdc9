"""The lean Telegram sender used by the delivery engine: one pooled aiohttp client, no object model.

python-telegram-bot turns every answer into objects; on the bulk path that costs more than the
HTTP round trip, so this sender posts JSON and reads only `ok`, `error_code` and `parameters`.
The request URL contains the bot token: nothing here logs a URL, only the method name, and an
error kept on an outbox row is an exception's type name, never its text (which may quote the URL).

The client is aiohttp's: it pools keep-alive connections, speaks the whole of HTTP/1.1 (chunked
bodies with trailers, 1xx answers, 204 without a length, a connection the server just closed)
and reaches Telegram through a proxy — http(s) natively, socks4/5 through aiohttp-socks — which
a server in Vietnam needs (Telegram is blocked there). Measured against httpx's pool and the
earlier hand-written transport in the README's benchmark section.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import aiohttp_socks
import python_socks
from aiohttp_socks import ProxyConnector

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
# identity: the body is read as-is (auto_decompress is off: no decompression on the hot path)
# (JSON posts name their Content-Type each: a multipart upload must be free to name its own)
_HEADERS = {"Accept-Encoding": "identity"}
_JSON = {"Content-Type": "application/json"}
_TIMEOUTS = (TimeoutError, aiohttp_socks.ProxyTimeoutError)  # aiohttp's are TimeoutErrors
_NETWORK_ERRORS = (
    aiohttp.ClientError,
    OSError,
    python_socks.ProxyError,
    aiohttp_socks.ProxyError,
    aiohttp_socks.ProxyConnectionError,
)


def client_session(
    proxy: str | None, *, max_connections: int, timeout: float
) -> tuple[aiohttp.ClientSession, str | None]:
    """An aiohttp session for Telegram, and the proxy each request must name (http proxies).

    socks proxies live in the connector; http and https ones are named per request, as aiohttp
    wants. The environment's proxy variables are ignored (trust_env=False): only the setting
    counts. Call inside the running event loop.
    """
    per_request = None
    connector: aiohttp.BaseConnector
    if proxy and proxy.startswith("socks"):
        connector = ProxyConnector.from_url(proxy, limit=max_connections, rdns=True)
    else:
        connector = aiohttp.TCPConnector(limit=max_connections, keepalive_timeout=30.0)
        per_request = proxy or None
    session = aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=timeout, connect=min(timeout, 5.0)),
        headers=_HEADERS,
        trust_env=False,
        cookie_jar=aiohttp.DummyCookieJar(),
        auto_decompress=False,
    )
    return session, per_request


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
        self,
        token: str,
        base_url: str,
        *,
        timeout: float = 10.0,
        max_connections: int = 100,
        proxy: str | None = None,
    ) -> None:
        # base_url ends with "/bot" as in Settings.telegram_api_base_url; token follows directly
        self._method_url = f"{base_url}{token}/"
        self._send_url = f"{self._method_url}sendMessage"
        self._timeout = timeout
        self._max_connections = max_connections
        self._proxy = proxy
        self._session: aiohttp.ClientSession | None = None  # made in the loop, on first use
        self._request_proxy: str | None = None

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
        for index, chunk in enumerate(chunks):
            payload: dict[str, Any] = {"chat_id": message.chat_id, "text": chunk}
            keyboard = bool(message.choices) and index == len(chunks) - 1
            if keyboard:
                payload["reply_markup"] = build_keyboard(message.choices, message.columns)
            result = await self._post(self._send_url, payload, with_ref=keyboard)
            if result.status is not SendStatus.OK:
                # a later chunk failing is retried whole: a repeated first part beats a lost tail
                return replace(result, calls=index)
        return SendResult(SendStatus.OK, calls=len(chunks), message_ref=result.message_ref)

    async def _call(
        self, url: str, body: bytes | aiohttp.FormData, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        """POST `body` (JSON bytes, or a multipart form) to `url` through the session (made on
        first use); (status, body)."""
        if self._session is None:
            self._session, self._request_proxy = client_session(
                self._proxy, max_connections=self._max_connections, timeout=self._timeout
            )
        async with self._session.post(
            url, data=body, headers=headers, proxy=self._request_proxy
        ) as response:
            return response.status, await response.read()

    async def clear_choices(self, chat_id: str, message_ref: str) -> SendResult:
        """editMessageReplyMarkup without a markup: the message's inline keyboard goes away
        (core.telegram.org/bots/api#editmessagereplymarkup). «message is not modified» (the
        keyboard is already gone, e.g. taken off when pressed) counts as done."""
        payload = {"chat_id": chat_id, "message_id": int(message_ref)}
        return await self._edit("editMessageReplyMarkup", payload)

    async def edit_text(self, message_ref: str, message: Outbound) -> SendResult:
        """editMessageText (core.telegram.org/bots/api#editmessagetext) with `reply_markup`:
        the text and buttons of message `message_ref` become `message`'s (without choices the
        buttons go, as Telegram does). «message is not modified» (it shows them already, e.g.
        an edit sent again after a restart) counts as done."""
        payload: dict[str, Any] = {
            "chat_id": message.chat_id,
            "message_id": int(message_ref),
            "text": message.text[:MAX_TEXT],
        }
        if message.choices:
            payload["reply_markup"] = build_keyboard(message.choices, message.columns)
        return await self._edit("editMessageText", payload)

    async def _edit(self, method: str, payload: dict[str, Any]) -> SendResult:
        result = await self._post(f"{self._method_url}{method}", payload)
        if result.status is SendStatus.FAILED and result.error == NOT_MODIFIED:
            return SendResult(SendStatus.OK)
        return result

    async def _post(
        self, url: str, payload: dict[str, Any], *, with_ref: bool = False
    ) -> SendResult:
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        method = url.rsplit("/", 1)[-1]
        try:
            status, content = await self._call(url, body, _JSON)
        except _TIMEOUTS:
            log.warning("telegram %s timed out", method)
            return SendResult(SendStatus.RETRY, error="timeout")
        except _NETWORK_ERRORS as exc:  # refused, reset, proxy failure: the row waits
            log.warning("telegram %s transport error: %s", method, type(exc).__name__)
            return SendResult(SendStatus.RETRY, error=f"transport {type(exc).__name__}"[:200])
        result = classify_response(status, content)
        if with_ref and result.status is SendStatus.OK:
            return SendResult(SendStatus.OK, message_ref=_message_id(content))
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
        form = aiohttp.FormData()
        for key, value in data.items():
            form.add_field(key, value)
        form.add_field(field, content, filename=file.filename, content_type=file.media_type)
        url = f"{self._method_url}{method}"
        try:
            status, body = await self._call(url, form)
        except _TIMEOUTS:
            log.warning("telegram %s timed out", method)
            return SendResult(SendStatus.RETRY, error="timeout")
        except _NETWORK_ERRORS as exc:  # refused, reset, proxy failure: the row waits
            log.warning("telegram %s transport error: %s", method, type(exc).__name__)
            return SendResult(SendStatus.RETRY, error=f"transport {type(exc).__name__}"[:200])
        return classify_response(status, body)

    async def get_me(self) -> dict[str, Any]:
        """The bot's own user (getMe), e.g. its `username`. Raises ConnectionError when Telegram
        cannot be reached (directly or through the proxy) and ValueError when it answers with an
        error (401: a wrong token); the messages name no URL (it holds the token)."""
        try:
            status, content = await self._call(f"{self._method_url}getMe", b"{}", _JSON)
        except (*_TIMEOUTS, *_NETWORK_ERRORS) as exc:
            raise ConnectionError(f"getMe: {type(exc).__name__}") from None
        try:
            payload = json.loads(content or b"{}")
        except ValueError:
            payload = {}
        result = payload.get("result") if isinstance(payload, dict) else None
        if status != 200 or not isinstance(result, dict):
            raise ValueError(f"getMe answered HTTP {status}")
        return result

    async def aclose(self) -> None:
        """Close the connection pool."""
        if self._session is not None:
            await self._session.close()
            self._session = None


def _message_id(body: bytes) -> str | None:
    """The sent Message's `message_id` from a 200 answer (None if it cannot be read)."""
    try:
        message = json.loads(body).get("result")
    except (ValueError, AttributeError):
        return None
    message_id = message.get("message_id") if isinstance(message, dict) else None
    return str(message_id) if isinstance(message_id, int) else None
