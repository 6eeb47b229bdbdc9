"""A small typed client of the Zalo Bot API (bot.zapps.me / bot.zaloplatforms.com) over httpx.

Every method is ``POST <base_url><token>/<method>`` with a JSON body; answers are
``{"ok": true, "result": …}`` or ``{"ok": false, "error_code": N, "description": "…"}``.
The request URL contains the bot token: nothing here logs a URL or a description (descriptions
can quote user text), only the method name and the status code.

Errors (all raised by the API methods; `get_updates` turns 408 into an empty list)::

    ZaloError                     any failure; .status (HTTP status or error_code, 0 if none)
    ├── ZaloBadRequest            400 and other 4xx not listed below: permanent for this call
    ├── ZaloUnauthorized          401: the token is wrong or revoked
    ├── ZaloForbidden             403: the person blocked the bot (or it may not write there)
    ├── ZaloConflict              409: getUpdates while a webhook is set
    ├── ZaloRateLimited           429; .retry_after in seconds when Zalo says so, else None
    ├── ZaloServerError           5xx, and 408 outside getUpdates
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


class ZaloForbidden(ZaloError):
    """403: the person blocked the bot, or the bot may not write to this chat."""


class ZaloConflict(ZaloError):
    """409: getUpdates cannot be used while a webhook is set."""


class ZaloRateLimited(ZaloError):
    """429: too many requests; `retry_after` seconds when Zalo gave a hint."""

    def __init__(self, method: str, status: int, reason: str, retry_after: float | None) -> None:
        super().__init__(method, status, reason)
        self.retry_after = retry_after


class ZaloServerError(ZaloError):
    """5xx (or 408 outside long polling): try again later."""


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
        """Long-poll for updates up to `timeout_s` seconds; [] when none arrived (Zalo's 408).

        Zalo answers one update as an object; a list is accepted too, in case that changes.
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
        if isinstance(result, dict):
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
    """The `result` of a successful answer, or the matching ZaloError."""
    try:
        payload = response.json()
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        if response.status_code == 200:
            raise ZaloNetworkError(method, 200, "malformed answer")
        payload = {}
    if response.status_code == 200 and payload.get("ok") is True:
        return payload.get("result")
    code = payload.get("error_code")
    status = code if isinstance(code, int) and code >= 400 else response.status_code
    if status < 400:
        status = 400  # "ok": false with a 2xx status and no usable code: treat as a bad request
    raise _error(method, status, payload)


def _error(method: str, status: int, payload: dict[str, Any]) -> ZaloError:
    if status == 429:
        params = payload.get("parameters")
        hint = params.get("retry_after") if isinstance(params, dict) else None
        after = float(hint) if isinstance(hint, int | float) and hint >= 0 else None
        return ZaloRateLimited(method, status, "too many requests", after)
    if status == 401:
        return ZaloUnauthorized(method, status, "unauthorized")
    if status == 403:
        return ZaloForbidden(method, status, "forbidden")
    if status == 409:
        return ZaloConflict(method, status, "conflict")
    if status == 408 or status >= 500:
        return ZaloServerError(method, status, "server error")
    return ZaloBadRequest(method, status, "bad request")
