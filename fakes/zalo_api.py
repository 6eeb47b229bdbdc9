"""A fake of the Zalo Bot API, served by `FakeBotApi` under ``/zalo/bot<token>/<method>``.

It answers as the Zalo Bot Platform docs say (bot.zaloplatforms.com/docs; read through a public
copy, lamdt1/ckvn-bot docs/zalo-bot-doc.md) and, where the docs are silent, as clients measured
against real bots report (see the README's Zalo section for the sources):
  * base ``https://bot-api.zaloplatforms.com/bot<token>/<method>``, token ``<bot_id>:<secret>``;
    GET or POST, parameters in the query, a form or JSON [docs "Cách truyền tham số"]; method
    names are case-sensitive [docs "Lưu ý"]: ``sendmessage`` is an unknown method.
  * every answer is ``{"ok": true, "result": …}`` or ``{"ok": false, "error_code": N,
    "description": "…"}`` [docs "Phản hồi từ API"], errors with HTTP 200 (measured: a bad token's
    getMe, an idle getUpdates); `errors_as_http_status` mirrors the code as the HTTP status
    instead (one client measured that too), so both paths stay tested.
  * error codes as the docs' table defines them [docs "Bảng mã lỗi"]: 400 bad request / unknown
    method, 401 bad token, **403 internal server error**, 404 not found, 408 request timeout,
    **429 quota exceeded**.
  * getUpdates takes ``timeout`` (seconds, default 30) and returns ONE update as an object
    [docs getUpdates, "tham khảo dữ liệu mẫu tương tự tại Webhook"], or, when nothing arrived in
    time, ``{"ok": false, "error_code": 408, "description": "Request timeout"}`` (measured).
    There is no offset: an update is gone once delivered. With a webhook set it answers 400
    "You cannot use this API while a webhook is set…" (measured).
  * messages: ``message_id`` is a hex string, ``date`` is Unix milliseconds, ``chat`` has
    ``id`` and ``chat_type``, ``from`` has ``id``, ``display_name`` and ``is_bot`` [docs
    Webhook]; images carry ``photo_url``, ``caption`` and ``message_type: CHAT_PHOTO``, voice
    ``voice_url`` and ``message_type: CHAT_VOICE`` (real payloads logged by an integrator;
    python-zalo-bot reads ``photo_url``); ``message.unsupported.received`` carries no content:
    what Zalo sends for people in protected groups (children, people with disabilities …) [docs
    Webhook, "cảnh báo"].
  * sendMessage: ``chat_id``, ``text`` of 1 to 2,000 characters [docs sendMessage], counted
    here in UTF-16 units (the only unit the docs define, for text_styles; never more lenient
    than code points); result ``{"message_id", "date"}``; sendPhoto (``photo``, optional
    ``caption``) answers the same.
  * setWebhook: ``url`` and ``secret_token`` (8 to 256 characters; Zalo sends it back in the
    ``X-Bot-Api-Secret-Token`` header) [docs setWebhook]; result ``{"url", "updated_at"}``;
    webhook deliveries are ``{"ok": true, "result": update}`` [docs Webhook].
  * the free plan [pricing page as quoted by secondary sources]: 50 users per bot, 3,000
    messages a month; `plan_mode(users=50, messages_per_month=3000)` answers 429 "Quota
    exceeded" once the month's sends are used up (calendar month of the fake's clock, Vietnam
    time: the reset rule is not published) and counts the distinct people reached.
Guesses (not documented): the exact descriptions of errors not measured.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from collections.abc import Awaitable
from typing import Any

import httpx

from bot.clock import VN_TZ, Clock, SystemClock
from fakes.calls import CallLog, CallPredicate, FakeStats, SentCall
from fakes.http_server import Request, Response, json_response

ZALO_TEXT_LIMIT = 2000
_TOKEN_RE = re.compile(r"^\d+:[\w-]+$")
_SEND_METHODS = frozenset({"sendMessage", "sendPhoto"})
_METHODS = frozenset(
    {"getMe", "getUpdates", "sendMessage", "sendPhoto", "setWebhook", "deleteWebhook"}
)
# descriptions: the docs' table (400, 401, 403, 404, 429) and measured answers (408, webhook)
DESCRIPTIONS = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Internal server error",
    404: "Not Found",
    408: "Request timeout",
    429: "Quota exceeded",
}
WEBHOOK_SET = "You cannot use this API while a webhook is set. Please remove the webhook first"


def utf16_units(text: str) -> int:
    """Length in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


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
        self.errors_as_http_status = False
        self.monthly_quota: int | None = None  # plan mode: sends a month
        self.user_cap: int | None = None  # plan mode: people per bot (counted, not enforced)
        self.sent_by_month: dict[str, int] = {}
        self.people: set[str] = set()  # distinct chats that wrote or were written to

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
        self.sent_by_month.clear()
        self.people.clear()

    def plan_mode(self, *, users: int = 50, messages_per_month: int = 3000) -> None:
        """Behave like the free plan: 429 "Quota exceeded" past the month's messages."""
        self.user_cap = users
        self.monthly_quota = messages_per_month

    def month(self) -> str:
        """The current quota month, «YYYY-MM» on Vietnam's wall clock."""
        return self._clock.now().astimezone(VN_TZ).strftime("%Y-%m")

    def take(self, chat_id: str) -> dict[str, Any]:
        """Take the oldest queued update for `chat_id` off the queue (to deliver it by webhook)."""
        for index, update in enumerate(self._updates):
            chat = update.get("message", {}).get("chat", {})
            if str(chat.get("id")) == chat_id:
                return self._updates.pop(index)
        raise LookupError("no queued update for this chat")

    async def deliver(self, update: dict[str, Any], *, secret: str | None = None) -> int:
        """POST `update` to the webhook as Zalo does (wrapped, with the secret header)."""
        url = self._webhook.get("url")
        if not url:
            raise RuntimeError("no webhook is set")
        token = self._webhook.get("secret_token", "") if secret is None else secret
        body = json.dumps({"ok": True, "result": update}, ensure_ascii=False).encode()
        headers = {"X-Bot-Api-Secret-Token": token, "Content-Type": "application/json"}
        async with httpx.AsyncClient(trust_env=False, timeout=10.0) as client:
            response = await client.post(url, content=body, headers=headers)
        return response.status_code

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

    def push_voice(self, chat_id: str, *, display_name: str = "Lan") -> str:
        """Queue a voice message (shape logged from a real bot); returns its message_id."""
        message = self._incoming(chat_id, display_name, "PRIVATE")
        message["voice_url"] = "https://f2-voice-aac-dl.zdn.vn/fake.aac"
        message["message_type"] = "CHAT_VOICE"
        self.push_raw({"event_name": "message.voice.received", "message": message})
        return str(message["message_id"])

    def push_unsupported(self, chat_id: str, *, display_name: str = "Lan") -> str:
        """Queue what a protected-group sender's message becomes: no content at all."""
        message = self._incoming(chat_id, display_name, "PRIVATE")
        self.push_raw({"event_name": "message.unsupported.received", "message": message})
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
        message["photo_url"] = "https://photo-stal-1.zdn.vn/fake.jpg"
        message["caption"] = caption
        message["message_type"] = "CHAT_PHOTO"
        self.push_raw({"event_name": "message.image.received", "message": message})
        return str(message["message_id"])

    def fail_next(
        self, method: str, status: int, *, count: int = 1, description: str | None = None
    ) -> None:
        """Answer the next `count` calls of `method` with error `status`."""
        self._failures.append([method, status, count, description])

    # ------------------------------------------------------------------ HTTP

    def handle(self, request: Request) -> Response | Awaitable[Response]:
        """Serve one ``/zalo/bot<token>/<method>`` request."""
        token, _, name = request.path[len("/zalo/bot") :].partition("/")
        if not _TOKEN_RE.match(token):
            return self._error(401)
        if name not in _METHODS:  # case-sensitive, as documented
            return self._error(400)
        try:
            params = request.params()
        except (ValueError, UnicodeDecodeError):
            return self._error(400)
        if name in _SEND_METHODS:
            self.stats.send_calls += 1
        for rule in self._failures:
            if rule[0] == name:
                rule[2] -= 1
                if rule[2] <= 0:
                    self._failures.remove(rule)
                return self._error(rule[1], rule[3])
        if name == "getUpdates":
            return self._get_updates(params)
        if name == "getMe":
            bot_id = token.split(":", 1)[0]
            return self._ok({"id": bot_id, "account_name": "bot.loa", "account_type": "BASIC",
                             "can_join_groups": False})  # fmt: skip
        if name == "setWebhook":
            return self._set_webhook(params)
        if name == "deleteWebhook":
            self._webhook = {}
            return self._ok({"url": "", "updated_at": self._millis()})
        return self._send(token, name, params)

    def _send(self, token: str, name: str, params: dict[str, Any]) -> Response:
        chat_id = str(params.get("chat_id") or "")
        if not chat_id:
            return self._error(400)
        text: str | None = None
        if name == "sendMessage":
            text = params.get("text")
            if not isinstance(text, str) or not 1 <= utf16_units(text) <= ZALO_TEXT_LIMIT:
                return self._error(400)  # the real description is not documented
        elif name == "sendPhoto":
            if not params.get("photo"):
                return self._error(400, "The photo must not be empty")  # measured
            text = params.get("caption")
        if chat_id in self.forbidden_chats:
            # how a block shows is undocumented; this fake answers with Zalo's 403, which the
            # docs define as an internal server error
            return self._error(403)
        month = self.month()
        used = self.sent_by_month.get(month, 0)
        if self.monthly_quota is not None and used >= self.monthly_quota:
            return self._error(429)
        self.sent_by_month[month] = self.sent_by_month.get(month, 0) + 1
        self.people.add(chat_id)
        message_id = f"{next(self._ids):020x}"
        self.stats.sends_accepted += 1
        self.stats.per_chat_accepted[chat_id] += 1
        call = SentCall(name, token, chat_id, text, params, self._wall(), message_id)
        self._log.add(call)
        return self._ok({"message_id": message_id, "date": self._millis()})

    def _set_webhook(self, params: dict[str, Any]) -> Response:
        url = str(params.get("url") or "")
        secret = str(params.get("secret_token") or "")
        if not url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
            return self._error(400)
        if not 8 <= len(secret) <= 256:
            return self._error(400)
        self._webhook = {"url": url, "secret_token": secret, "updated_at": self._millis()}
        return self._ok({"url": url, "updated_at": self._webhook["updated_at"]})

    def _get_updates(self, params: dict[str, Any]) -> Response | Awaitable[Response]:
        if self._webhook:
            return self._error(400, WEBHOOK_SET)
        if self._updates:
            return self._ok(self._updates.pop(0))
        try:
            timeout = float(params.get("timeout") or 30)
        except ValueError:
            return self._error(400)
        return self._long_poll(max(0.0, timeout))

    async def _long_poll(self, seconds: float) -> Response:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while not self._updates:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return self._error(408)
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
        self.people.add(chat_id)
        return {
            "message_id": f"{next(self._ids):020x}",
            "from": {"id": chat_id, "display_name": display_name, "is_bot": False},
            "chat": {"id": chat_id, "chat_type": chat_type},
            "date": self._millis(),
        }

    def _ok(self, result: object) -> Response:
        return json_response(200, {"ok": True, "result": result})

    def _error(self, code: int, description: str | None = None) -> Response:
        self.stats.errors_by_status[code] += 1
        text = description or DESCRIPTIONS.get(code, "Error")
        body = {"ok": False, "error_code": code, "description": text}
        return json_response(code if self.errors_as_http_status else 200, body)

    def _millis(self) -> int:
        return int(self._clock.now().timestamp() * 1000)

    def _wall(self) -> float:
        return self._clock.now().timestamp()
