"""A small typed client of the Zalo Bot API (bot.zapps.me / bot.zaloplatforms.com) over httpx.

Every method is ``POST <base_url><token>/<method>`` (method names are case-sensitive) with a
JSON body; answers are ``{"ok": true, "result": …}`` or ``{"ok": false, "error_code": N,
"description": "…"}`` — errors arrive with HTTP 200 (measured), so the body decides, whatever
the status; the status counts only when the body is not Zalo's JSON. Source: the Zalo Bot
Platform docs, "Phản hồi từ API" and "Bảng mã lỗi" (bot.zaloplatforms.com/docs).
The request URL contains the bot token: nothing here logs a URL or a description (descriptions
can quote user text), only the method name and the status code.

Errors, by the documented error table (`get_updates` turns 408 into an empty list)::

    ZaloError                     any failure; .status (error_code, else HTTP status; 0 if none)
    ├── ZaloBadRequest            400 (bad path or method name), 404 and any other code not below;
    │                             also getUpdates while a webhook is set (measured: 400)
    ├── ZaloUnauthorized          401: the token expired or is invalid
    ├── ZaloQuotaExceeded         429: "Quota exceeded", the plan's monthly message quota
    ├── ZaloServerError           403 (documented as "Internal server error"), 408 outside
    │                             getUpdates, 5xx: try again later
    └── ZaloNetworkError          no answer: connection refused/reset, bad response
        └── ZaloTimeout           the request timed out
"""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://bot-api.zaloplatforms.com/bot"
_HEADERS = {"Content-Type": "application/json"}


class ZaloError(Exception):
    """A Zalo Bot API call failed; `status` is the HTTP status or error_code (0 if none)."""

    def __init__(self, method: str, status: int, reason: str) -> None:
        # the message names the method and status only: never the URL (token) or user text
        super().__init__(f"zalo {method}: {status} {reason}")
        self.method = method
        self.status = status


class ZaloBadRequest(ZaloError):
    """400 or another 4xx: this call will never succeed as it is."""


class ZaloUnauthorized(ZaloError):
    """401: the bot token is wrong or revoked."""


class ZaloQuotaExceeded(ZaloError):
    """429: the plan's quota is used up (3,000 messages a month on the free plan)."""


class ZaloServerError(ZaloError):
    """403 ("Internal server error" in Zalo's table), 5xx, or 408 outside long polling."""


class ZaloNetworkError(ZaloError):
    """No usable answer: the connection failed or the response was malformed."""


class ZaloTimeout(ZaloNetworkError):
    """The request timed out."""


class ZaloClient:
    """The Zalo Bot API methods Loa uses; one pooled httpx client, JSON in and out."""

    def __init__(self, token: str, base_url: str = DEFAULT_BASE_URL, *, timeout: float = 10.0):
        # httpx logs every request URL at INFO, and the URL carries the token
        logging.getLogger("httpx").setLevel(logging.WARNING)
        # base_url ends with "/bot" (as Telegram's); the token follows directly
        self._prefix = f"{base_url}{token}/"
        self._timeout = timeout
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            headers=_HEADERS,
            trust_env=False,  # never route through a proxy picked up from the environment
        )

    async def get_me(self) -> dict[str, Any]:
        """The bot's own account: ``{"id", "account_name", "account_type", …}``."""
        result = await self._call("getMe", {})
        return result if isinstance(result, dict) else {}

    async def get_updates(self, timeout_s: float) -> list[dict[str, Any]]:
        """Long-poll for updates up to `timeout_s` seconds; [] when none arrived.

        Zalo answers one update as an object, or after the timeout ``{"ok": false,
        "error_code": 408, "description": "Request timeout"}`` (measured; some clients saw it
        with HTTP 408, most with 200: both are read). An empty result is "none" too; a list is
        accepted, in case that changes.
        """
        seconds = max(0, int(timeout_s))
        try:
            result = await self._call(
                "getUpdates",
                {"timeout": str(seconds)},  # the docs give it as a string
                read_timeout=seconds + self._timeout,
            )
        except ZaloServerError as exc:
            if exc.status == 408:
                return []
            raise
        if isinstance(result, dict) and result:
            return [result]
        if isinstance(result, list):
            return [item for item in result if isinstance(item, dict)]
        return []

    async def send_message(self, chat_id: str, text: str) -> dict[str, Any]:
        """Send a text (1 to 2,000 characters); the raw result ``{"message_id", "date"}``."""
        result = await self._call("sendMessage", {"chat_id": chat_id, "text": text})
        return result if isinstance(result, dict) else {}

    async def set_webhook(self, url: str, secret: str) -> dict[str, Any]:
        """Have Zalo POST updates to `url` with `secret` in the X-Bot-Api-Secret-Token header."""
        result = await self._call("setWebhook", {"url": url, "secret_token": secret})
        return result if isinstance(result, dict) else {}

    async def delete_webhook(self) -> None:
        """Remove the webhook (needed before long polling)."""
        await self._call("deleteWebhook", {})

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()

    async def _call(
        self, method: str, params: dict[str, Any], *, read_timeout: float | None = None
    ) -> Any:
        body = json.dumps(params, ensure_ascii=False).encode("utf-8")
        timeout = (
            httpx.Timeout(read_timeout, connect=min(self._timeout, 5.0))
            if read_timeout is not None
            else httpx.USE_CLIENT_DEFAULT
        )
        try:
            response = await self._client.post(self._prefix + method, content=body, timeout=timeout)
        # httpx errors carry the request, whose URL holds the token: never chain them
        except httpx.TimeoutException:
            raise ZaloTimeout(method, 0, "timeout") from None
        except httpx.TransportError as exc:
            raise ZaloNetworkError(method, 0, type(exc).__name__) from None
        return _result(method, response)


def _result(method: str, response: httpx.Response) -> Any:
    """The `result` of a successful answer, or the matching ZaloError: read from the body."""
    try:
        payload = response.json()
    except ValueError:
        payload = None
    if isinstance(payload, dict) and isinstance(payload.get("ok"), bool):
        if payload["ok"]:
            return payload.get("result")
        code = _code(payload.get("error_code"))
        if code < 400:  # "ok": false without a usable code: the HTTP status, else a bad request
            code = response.status_code if response.status_code >= 400 else 400
        raise _error(method, code)
    if response.status_code == 200:
        raise ZaloNetworkError(method, 200, "malformed answer")
    raise _error(method, response.status_code)


def _code(value: object) -> int:
    """error_code as an int (one careful client saw it as a string too); 0 when unusable."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return 0


def _error(method: str, status: int) -> ZaloError:
    if status == 429:
        return ZaloQuotaExceeded(method, status, "quota exceeded")
    if status == 401:
        return ZaloUnauthorized(method, status, "unauthorized")
    if status in (403, 408) or status >= 500:
        return ZaloServerError(method, status, "server error")
    return ZaloBadRequest(method, status, "bad request")
