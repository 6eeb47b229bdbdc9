"""A modest fake of the Zalo Bot API, served by `FakeBotApi` under ``/zalo/bot<token>/<method>``.

Shapes follow the Zalo Bot Platform docs (bot.zapps.me/docs, bot.zaloplatforms.com/docs; read
through a public Vietnamese copy of them, and cross-checked with open-source Zalo bot SDKs):
  * base ``https://bot-api.zaloplatforms.com/bot<token>/<method>``, POST with a JSON body,
    token ``<bot_id>:<secret>``; answers ``{"ok": true, "result": …}`` or
    ``{"ok": false, "error_code": N, "description": "…"}``.
  * getUpdates takes ``timeout`` (seconds, a string, default 30) and returns ONE update as an
    object — ``{"event_name": "message.text.received", "message": {…}}`` — or, when nothing
    arrived in time, error_code 408 "Request timeout". There is no offset: an update is gone
    once delivered.
  * messages: ``message_id`` is a hex string, ``date`` is Unix milliseconds, ``chat`` has
    ``id`` and ``chat_type`` ("PRIVATE" | "GROUP"), ``from`` has ``id``, ``display_name`` and
    ``is_bot``.
  * sendMessage: ``chat_id``, ``text`` of 1 to 2,000 characters; result
    ``{"message_id", "date"}``; sendPhoto (``photo``, optional ``caption``) answers the same.
  * setWebhook: ``url`` and ``secret_token`` (8 to 256 characters; Zalo sends it back in the
    ``X-Bot-Api-Secret-Token`` header); result ``{"url", "updated_at"}``.
Guesses (not documented): the HTTP status equals error_code; the exact error descriptions;
getUpdates with an active webhook answers 409.
"""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import Awaitable
from typing import Any

from bot.clock import Clock, SystemClock
from fakes.calls import CallLog, CallPredicate, FakeStats, SentCall
from fakes.http_server import Request, Response, json_response

ZALO_TEXT_LIMIT = 2000
_TOKEN_RE = re.compile(r"^\d+:[\w-]+$")
_SEND_METHODS = frozenset({"sendmessage", "sendphoto"})
_METHODS = frozenset(
    {
        "getme",
        "getupdates",
        "sendmessage",
        "sendphoto",
        "setwebhook",
        "deletewebhook",
    }
)
_CANONICAL = {
    "sendmessage": "sendMessage",
    "sendphoto": "sendPhoto",
}


class FakeZaloApi:
    """Zalo routes and their test-side controls (push, sent, wait_for, fail_next)."""

    def __init__(self, *, clock: Clock | None = None) -> None:
        self._clock: Clock = clock or SystemClock()
        self.stats = FakeStats()
        self.forbidden_chats: set[str] = set()
        self._log = CallLog()
        self._updates: list[dict[str, Any]] = []
        self._waiters: list[asyncio.Future[None]] = []
        self._poll_parked = asyncio.Event()
        self._failures: list[list[Any]] = []  # [method, status, count, description]
        self._ids = itertools.count(0x16F6366B3F02645A3D15)
        self._webhook: dict[str, Any] = {}

    # ------------------------------------------------------------------ test-side API

    @property
    def sent(self) -> list[SentCall]:
        """Every accepted outbound call, oldest first."""
        return self._log.calls

    def sent_to(self, chat_id: str, method: str | None = None) -> list[SentCall]:
        """Accepted calls to one chat, oldest first."""
        return self._log.select(chat_id, method)

    async def wait_for(
        self,
        what: CallPredicate | int,
        *,
        chat_id: str | None = None,
        method: str | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109 - the test-side API the brief fixed
    ) -> list[SentCall]:
        """Wait for `what` accepted calls (count) or a call matching a predicate."""
        return await self._log.wait_for(what, chat_id=chat_id, method=method, timeout=timeout)

    async def wait_for_poll(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait until a getUpdates long poll is parked on the server (nothing to deliver)."""
        async with asyncio.timeout(timeout):
            while not self._waiters:
                self._poll_parked.clear()
                await self._poll_parked.wait()

    @property
    def webhook(self) -> dict[str, Any]:
        """The webhook set by setWebhook (empty when none)."""
        return self._webhook

    def reset(self) -> None:
        """Forget calls, counters, failures, updates and the webhook."""
        self._log.clear()
        self.stats = FakeStats()
        self._updates.clear()
        self._failures.clear()
        self._webhook = {}

    def push_raw(self, update: dict[str, Any]) -> None:
        """Queue an update as given (delivered once, however often it was pushed)."""
        self._updates.append(update)
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def take_update(self) -> dict[str, Any]:
        """Remove and return the newest queued update (to post it to a webhook instead)."""
        return self._updates.pop()

    def push_message(
        self, chat_id: str, text: str, *, display_name: str = "Lan", chat_type: str = "PRIVATE"
    ) -> str:
        """Queue a text message from a person; returns its message_id."""
        message = self._incoming(chat_id, display_name, chat_type)
        message["text"] = text
        self.push_raw({"event_name": "message.text.received", "message": message})
        return str(message["message_id"])

    def push_sticker(self, chat_id: str, *, display_name: str = "Lan") -> str:
        """Queue a sticker from a person; returns its message_id."""
        message = self._incoming(chat_id, display_name, "PRIVATE")
        message["sticker"] = "0e078a2fb66a5f34067b"
        message["url"] = "https://zalo-api.zadn.vn/api/emoticon/sticker/webpc?eid=1"
        self.push_raw({"event_name": "message.sticker.received", "message": message})
        return str(message["message_id"])

    def push_image(self, chat_id: str, *, caption: str = "", display_name: str = "Lan") -> str:
        """Queue an image from a person; returns its message_id."""
        message = self._incoming(chat_id, display_name, "PRIVATE")
        message["photo"] = "https://photo-stal-1.zadn.vn/fake.jpg"
        message["caption"] = caption
        self.push_raw({"event_name": "message.image.received", "message": message})
        return str(message["message_id"])

    def fail_next(
        self, method: str, status: int, *, count: int = 1, description: str | None = None
    ) -> None:
        """Answer the next `count` calls of `method` with error `status`."""
        self._failures.append([method.lower(), status, count, description])

    # ------------------------------------------------------------------ HTTP

    def handle(self, request: Request) -> Response | Awaitable[Response]:
        """Serve one ``/zalo/bot<token>/<method>`` request."""
        token, _, method = request.path[len("/zalo/bot") :].partition("/")
        if not _TOKEN_RE.match(token):
            return self._error(401, "Unauthorized")
        name = method.lower()
        if name not in _METHODS:
            return self._error(404, "Not Found")
        try:
            params = request.params()
        except (ValueError, UnicodeDecodeError):
            return self._error(400, "Bad Request: invalid JSON body")
        if name in _SEND_METHODS:
            self.stats.send_calls += 1
        for rule in self._failures:
            if rule[0] == name:
                rule[2] -= 1
                if rule[2] <= 0:
                    self._failures.remove(rule)
                return self._error(rule[1], rule[3] or "Internal Server Error")
        if name == "getupdates":
            return self._get_updates(params)
        if name == "getme":
            bot_id = token.split(":", 1)[0]
            return self._ok({"id": bot_id, "account_name": "bot.loa", "account_type": "BASIC",
                             "can_join_groups": False})  # fmt: skip
        if name == "setwebhook":
            return self._set_webhook(params)
        if name == "deletewebhook":
            self._webhook = {}
            return self._ok({"url": "", "updated_at": self._millis()})
        return self._send(token, name, params)

    def _send(self, token: str, name: str, params: dict[str, Any]) -> Response:
        chat_id = str(params.get("chat_id") or "")
        if not chat_id:
            return self._error(400, "Bad Request: chat_id is required")
        text: str | None = None
        if name == "sendmessage":
            text = params.get("text")
            if not isinstance(text, str) or not 1 <= len(text) <= ZALO_TEXT_LIMIT:
                return self._error(400, "Bad Request: text must be 1 to 2000 characters")
        elif name == "sendphoto":
            if not params.get("photo"):
                return self._error(400, "Bad Request: photo is required")
            text = params.get("caption")
        if chat_id in self.forbidden_chats:
            return self._error(403, "Forbidden: the user has blocked the bot")
        message_id = f"{next(self._ids):020x}"
        self.stats.sends_accepted += 1
        self.stats.per_chat_accepted[chat_id] += 1
        call = SentCall(_CANONICAL[name], token, chat_id, text, params, self._wall(), message_id)
        self._log.add(call)
        return self._ok({"message_id": message_id, "date": self._millis()})

    def _set_webhook(self, params: dict[str, Any]) -> Response:
        url = str(params.get("url") or "")
        secret = str(params.get("secret_token") or "")
        if not url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
            return self._error(400, "Bad Request: url must be HTTPS")
        if not 8 <= len(secret) <= 256:
            return self._error(400, "Bad Request: secret_token must be 8 to 256 characters")
        self._webhook = {"url": url, "secret_token": secret, "updated_at": self._millis()}
        return self._ok({"url": url, "updated_at": self._webhook["updated_at"]})

    def _get_updates(self, params: dict[str, Any]) -> Response | Awaitable[Response]:
        if self._webhook:
            return self._error(409, "Conflict: webhook is active; delete it to use getUpdates")
        if self._updates:
            return self._ok(self._updates.pop(0))
        try:
            timeout = float(params.get("timeout") or 30)
        except ValueError:
            return self._error(400, "Bad Request: timeout must be a number")
        return self._long_poll(max(0.0, timeout))

    async def _long_poll(self, seconds: float) -> Response:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while not self._updates:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return self._error(408, "Request timeout")
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiters.append(waiter)
            self._poll_parked.set()
            try:
                await asyncio.wait_for(waiter, remaining)
            except TimeoutError:
                pass
            finally:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
        return self._ok(self._updates.pop(0))

    # ------------------------------------------------------------------ shapes

    def _incoming(self, chat_id: str, display_name: str, chat_type: str) -> dict[str, Any]:
        return {
            "message_id": f"{next(self._ids):020x}",
            "from": {"id": chat_id, "display_name": display_name, "is_bot": False},
            "chat": {"id": chat_id, "chat_type": chat_type},
            "date": self._millis(),
        }

    def _ok(self, result: object) -> Response:
        return json_response(200, {"ok": True, "result": result})

    def _error(self, code: int, description: str) -> Response:
        self.stats.errors_by_status[code] += 1
        return json_response(code, {"ok": False, "error_code": code, "description": description})

    def _millis(self) -> int:
        return int(self._clock.now().timestamp() * 1000)

    def _wall(self) -> float:
        return self._clock.now().timestamp()
