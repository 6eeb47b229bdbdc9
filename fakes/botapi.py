"""A fast fake of the Telegram Bot API (plus a modest Zalo Bot API) on 127.0.0.1.

Point python-telegram-bot at it::

    async with FakeBotApi() as server:
        app = (ApplicationBuilder().token("123:abc")
               .base_url(f"{server.url}/bot").base_file_url(f"{server.url}/file/bot").build())

Routes: ``/bot<token>/<method>`` (Telegram), ``/zalo/bot<token>/<method>`` (Zalo, see
`fakes.zalo_api`), ``GET /_fake/stats``, ``POST /_fake/reset``, ``POST /_fake/update`` and
``POST /_fake/config`` (admin routes for the separate-process mode:
``python -m fakes.botapi --port 0`` prints ``READY <url>``).

The fake plays one Telegram world: any well-formed token may call it, every token reads the same
update queue, and sends are recorded with the token that made them. Sends (sendMessage,
sendPhoto, sendDocument) pass a gate in this order: migrated chat (400 + migrate_to_chat_id),
blocked chat (403), then the rate limits (429 + retry_after). Injected failures (`fail_next`)
and delays (`delay_next`) come before everything else.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import itertools
import json
import math
import re
import signal
import sys
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Hashable, Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

import httpx

from bot.clock import Clock, SystemClock
from fakes.calls import CallLog, CallPredicate, FakeStats, SentCall
from fakes.http_server import HttpServer, Request, Response, UploadedFile, json_response
from fakes.zalo_api import FakeZaloApi

__all__ = [
    "FakeBotApi",
    "FakeStats",
    "SentCall",
    "SlidingWindow",
    "is_blocked_by_ratio",
    "main",
]

TOKEN_RE = re.compile(r"^\d+:[\w-]+$")
TELEGRAM_TEXT_LIMIT = 4096
CALLBACK_DATA_LIMIT = 64  # bytes
COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")

# Form bodies carry JSON-encoded values for these fields (PTB's RequestData.json_parameters).
_JSON_FIELDS = frozenset(
    {
        "reply_markup",
        "entities",
        "caption_entities",
        "commands",
        "scope",
        "allowed_updates",
        "link_preview_options",
        "reply_parameters",
    }
)
_INT_FIELDS = frozenset(
    {"offset", "limit", "timeout", "message_id", "reply_to_message_id", "cache_time"}
)
_BOOL_FIELDS = frozenset(
    {
        "drop_pending_updates",
        "disable_notification",
        "protect_content",
        "show_alert",
        "disable_web_page_preview",
    }
)
SEND_METHODS = frozenset({"sendmessage", "sendphoto", "senddocument"})
_METHOD_NAMES = {
    name.lower(): name
    for name in (
        "getMe",
        "getUpdates",
        "deleteWebhook",
        "setWebhook",
        "setMyCommands",
        "setMyDescription",
        "setMyShortDescription",
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "editMessageText",
        "answerCallbackQuery",
        "editMessageReplyMarkup",
    )
}


class ApiError(Exception):
    """A Telegram-shaped error answer."""

    def __init__(
        self, code: int, description: str, parameters: dict[str, Any] | None = None
    ) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters


def is_blocked_by_ratio(chat_id: str | int, ratio: float) -> bool:
    """Whether `forbidden_ratio` blocks this chat: a stable hash, so a benchmark can predict it."""
    if ratio <= 0:
        return False
    digest = hashlib.blake2b(str(chat_id).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64 < ratio


class SlidingWindow:
    """At most `limit` accepted events per key in any `window_s` seconds (a sliding log).

    Only accepted events enter the log, so a refused request costs the sender nothing but
    time; `retry_after` is the whole seconds until the oldest logged event leaves the window.
    """

    __slots__ = ("_events", "limit", "window_s")

    def __init__(self, limit: int, window_s: float) -> None:
        self.limit = limit
        self.window_s = window_s
        self._events: dict[Hashable, deque[float]] = {}

    @classmethod
    def per_second(cls, rate: float) -> SlidingWindow:
        """A window for `rate` events a second; fractional rates widen the window instead."""
        limit = max(1, int(rate))
        return cls(limit, limit / rate)

    def retry_after(self, key: Hashable, now: float) -> int:
        """0 when an event may pass now, else the seconds to wait (at least 1)."""
        events = self._events.get(key)
        if not events:
            return 0
        cutoff = now - self.window_s
        while events and events[0] <= cutoff:
            events.popleft()
        if len(events) < self.limit:
            return 0
        return max(1, math.ceil(events[0] + self.window_s - now))

    def add(self, key: Hashable, now: float) -> None:
        """Log one accepted event."""
        events = self._events.get(key)
        if events is None:
            events = self._events[key] = deque()
        events.append(now)

    def clear(self) -> None:
        """Forget every logged event."""
        self._events.clear()


@dataclass
class _Injection:
    method: str
    status: int
    count: int
    retry_after: int | None
    chat_id: str | None
    description: str | None


@dataclass
class _Delay:
    method: str
    seconds: float
    count: int
    deliver_if_gone: bool


@dataclass
class _QueuedUpdate:
    update_id: int
    payload: dict[str, Any]
    delivered: bool = False


_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


class FakeBotApi:
    """The fake server: Telegram routes, test-side controls, failure injection and counters."""

    def __init__(
        self,
        *,
        port: int = 0,
        rate_limit_per_s: float | None = None,
        per_chat_limit_per_s: float | None = None,
        group_limit_per_min: float | None = None,
        forbidden_chats: Iterable[str | int] = (),
        forbidden_ratio: float = 0.0,
        latency_ms: float = 0.0,
        record: bool = True,
        bot_username: str = "loa_test_bot",
        bot_first_name: str = "Loa",
        clock: Clock | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = HttpServer(self._handle, port=port)
        self._clock: Clock = clock or SystemClock()
        self._monotonic = monotonic
        self.record = record
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self.forbidden_chats: set[str] = {str(chat) for chat in forbidden_chats}
        self.forbidden_ratio = forbidden_ratio
        self.latency_ms = latency_ms
        self.stats = FakeStats()
        self.zalo = FakeZaloApi(clock=self._clock)
        self._global_window: SlidingWindow | None = None
        self._chat_window: SlidingWindow | None = None
        self._group_window: SlidingWindow | None = None
        self.rate_limit_per_s = rate_limit_per_s
        self.per_chat_limit_per_s = per_chat_limit_per_s
        self.group_limit_per_min = group_limit_per_min
        self._log = CallLog()
        self._injections: list[_Injection] = []
        self._delays: list[_Delay] = []
        self._migrations: dict[str, int] = {}
        self._commands: dict[tuple[str, str], list[dict[str, str]]] = {}
        self._descriptions: dict[tuple[str, str], str] = {}
        self.method_calls: Counter[str] = Counter()  # every well-formed call, by method name
        self._webhook: dict[str, Any] = {}
        self._updates: list[_QueuedUpdate] = []
        self._update_waiters: list[asyncio.Future[None]] = []
        self._poll_parked = asyncio.Event()
        self._update_ids = itertools.count(10_001)
        self._callback_ids = itertools.count(1)
        self._callback_chats: dict[str, str] = {}
        self._message_ids: Counter[str] = Counter()
        self._messages: dict[tuple[str, int], dict[str, Any]] = {}
        self._chats: dict[str, dict[str, Any]] = {}
        self._background: set[asyncio.Task[Response]] = set()
        self._last_token = "7000000001:fake"
        self._methods: dict[str, Callable[[str, dict[str, Any]], object]] = {
            "getme": self._get_me,
            "deletewebhook": self._delete_webhook,
            "setwebhook": self._set_webhook,
            "setmycommands": self._set_my_commands,
            "setmydescription": self._set_my_description,
            "setmyshortdescription": self._set_my_short_description,
            "sendmessage": self._send_message,
            "sendphoto": self._send_media,
            "senddocument": self._send_media,
            "editmessagetext": self._edit_message_text,
            "answercallbackquery": self._answer_callback_query,
            "editmessagereplymarkup": self._edit_message_reply_markup,
        }

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Bind 127.0.0.1 on the configured (or a free) port and start serving."""
        await self._http.start()

    async def stop(self) -> None:
        """Close every connection and stop serving."""
        for waiter in self._update_waiters:
            if not waiter.done():
                waiter.cancel()
        self._update_waiters.clear()
        for task in list(self._background):
            task.cancel()
        await self._http.stop()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:PORT (PTB: base_url=f"{url}/bot")."""
        return f"http://127.0.0.1:{self._http.port}"

    @property
    def port(self) -> int:
        """The bound port."""
        return self._http.port

    # ------------------------------------------------------------------ limits (run-time)

    @property
    def rate_limit_per_s(self) -> float | None:
        """Global limit on sends per token per second; None turns it off."""
        window = self._global_window
        return None if window is None else window.limit / window.window_s

    @rate_limit_per_s.setter
    def rate_limit_per_s(self, value: float | None) -> None:
        self._global_window = SlidingWindow.per_second(value) if value else None

    @property
    def per_chat_limit_per_s(self) -> float | None:
        """Limit on sends per chat per second (Telegram: about 1); None turns it off."""
        window = self._chat_window
        return None if window is None else window.limit / window.window_s

    @per_chat_limit_per_s.setter
    def per_chat_limit_per_s(self, value: float | None) -> None:
        self._chat_window = SlidingWindow.per_second(value) if value else None

    @property
    def group_limit_per_min(self) -> float | None:
        """Limit on sends per group chat (negative id) per minute (Telegram: 20); None = off."""
        window = self._group_window
        return None if window is None else window.limit * 60 / window.window_s

    @group_limit_per_min.setter
    def group_limit_per_min(self, value: float | None) -> None:
        if not value:
            self._group_window = None
            return
        limit = max(1, int(value))
        self._group_window = SlidingWindow(limit, limit * 60 / value)

    # ------------------------------------------------------------------ test-side API

    @property
    def sent(self) -> list[SentCall]:
        """Every accepted outbound call, oldest first."""
        return self._log.calls

    def sent_to(self, chat_id: str | int, method: str | None = None) -> list[SentCall]:
        """Accepted calls to one chat (optionally of one method), oldest first."""
        return self._log.select(chat_id, method)

    def texts_to(self, chat_id: str | int) -> list[str]:
        """The texts of sendMessage calls to one chat, oldest first."""
        return [call.text or "" for call in self._log.select(chat_id, "sendMessage")]

    async def wait_for(
        self,
        what: CallPredicate | int,
        *,
        chat_id: str | int | None = None,
        method: str | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109 - the test-side API the brief fixed
    ) -> list[SentCall]:
        """Wait for `what` accepted calls (count) or a call matching a predicate."""
        return await self._log.wait_for(what, chat_id=chat_id, method=method, timeout=timeout)

    async def wait_for_poll(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait until a getUpdates long poll is parked on the server (nothing to deliver)."""
        async with asyncio.timeout(timeout):
            while not self._update_waiters:
                self._poll_parked.clear()
                await self._poll_parked.wait()

    @property
    def commands(self) -> dict[tuple[str, str], list[dict[str, str]]]:
        """What setMyCommands stored, keyed by (scope, language_code); scope e.g. "default"."""
        return self._commands

    @property
    def descriptions(self) -> dict[tuple[str, str], str]:
        """What setMyDescription / setMyShortDescription stored, keyed by ("description" or
        "short_description", language_code); "" is the default language."""
        return dict(self._descriptions)

    @property
    def webhook(self) -> dict[str, Any]:
        """The webhook set by setWebhook (empty when none)."""
        return self._webhook

    @property
    def pending_updates(self) -> int:
        """Updates queued and not yet confirmed by the bot."""
        return len(self._updates)

    def reset(self) -> None:
        """Forget calls, counters, injections, queued updates and stored commands."""
        self._log.clear()
        self.stats = FakeStats()
        self.method_calls.clear()
        self._descriptions.clear()
        self._injections.clear()
        self._delays.clear()
        self._migrations.clear()
        self._commands.clear()
        self._webhook = {}
        self._updates.clear()
        self._message_ids.clear()
        self._messages.clear()
        for window in (self._global_window, self._chat_window, self._group_window):
            if window is not None:
                window.clear()
        self.zalo.reset()

    def push_raw(self, update: dict[str, Any]) -> int:
        """Queue an update as given (an update_id is added if missing); returns its update_id.

        Pushing the same dict twice delivers it twice: the fake never de-duplicates, even
        when the id is below the bot's offset (an update is only dropped once delivered).
        """
        if "update_id" not in update:
            update = {"update_id": next(self._update_ids), **update}
        update_id = int(update["update_id"])
        self._updates.append(_QueuedUpdate(update_id, update))
        if self._update_waiters:
            waiters, self._update_waiters = self._update_waiters, []
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)
        return update_id

    def push_message(
        self,
        chat_id: int | str,
        text: str,
        *,
        user_id: int | None = None,
        first_name: str = "Lan",
        language_code: str | None = "vi",
        chat_type: str = "private",
        entities: list[dict[str, Any]] | None = None,
    ) -> int:
        """Queue a text message from a person; returns the update_id."""
        message = self._incoming(chat_id, user_id, first_name, language_code, chat_type)
        message["text"] = text
        if entities:
            message["entities"] = entities
        return self.push_raw({"message": message})

    def push_command(self, chat_id: int | str, command: str, **kwargs: Any) -> int:
        """Queue a command such as "/start abc" with its bot_command entity."""
        word = command.split(maxsplit=1)[0]
        entity = {"type": "bot_command", "offset": 0, "length": _utf16_len(word)}
        return self.push_message(chat_id, command, entities=[entity], **kwargs)

    def push_callback(
        self,
        chat_id: int | str,
        data: str,
        *,
        message_id: int,
        user_id: int | None = None,
        first_name: str = "Lan",
        language_code: str | None = "vi",
    ) -> int:
        """Queue an inline-button press on the bot's message `message_id`; returns update_id."""
        chat_key = str(chat_id)
        message = self._messages.get((chat_key, message_id))
        if message is None:
            # A press on a message the fake never saw: make one up so PTB can parse it.
            message = {
                "message_id": message_id,
                "from": self._bot_user(self._last_token),
                "chat": self._chat(chat_key),
                "date": self._now(),
                "text": "…",
            }
        sender = self._incoming(chat_id, user_id, first_name, language_code, "private")["from"]
        query_id = str(next(self._callback_ids))
        self._callback_chats[query_id] = chat_key
        query = {
            "id": query_id,
            "from": sender,
            "message": message,
            "chat_instance": str(abs(hash(chat_key)) % 10**12),
            "data": data,
        }
        return self.push_raw({"callback_query": query})

    def push_sticker(self, chat_id: int | str, **kwargs: Any) -> int:
        """Queue a sticker from a person; returns the update_id."""
        message = self._incoming(chat_id, **self._sender_kwargs(kwargs))
        message["sticker"] = {
            "file_id": "CAACAgIAAxkBAAEFakeSticker",
            "file_unique_id": "AgADFakeSticker",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": "👍",
        }
        return self.push_raw({"message": message})

    def push_photo(self, chat_id: int | str, *, caption: str | None = None, **kwargs: Any) -> int:
        """Queue a photo from a person; returns the update_id."""
        message = self._incoming(chat_id, **self._sender_kwargs(kwargs))
        message["photo"] = [
            {"file_id": f"AgACFakePhoto{size}", "file_unique_id": f"AQADFake{size}",
             "width": size, "height": size, "file_size": size * 40}
            for size in (90, 800)
        ]  # fmt: skip
        if caption:
            message["caption"] = caption
        return self.push_raw({"message": message})

    def fail_next(
        self,
        method: str,
        status: int,
        *,
        count: int = 1,
        retry_after: int | None = None,
        chat_id: str | int | None = None,
        description: str | None = None,
    ) -> None:
        """Answer the next `count` calls of `method` (optionally to one chat) with an error."""
        self._injections.append(
            _Injection(
                method.lower(),
                status,
                count,
                retry_after,
                None if chat_id is None else str(chat_id),
                description,
            )
        )

    def delay_next(
        self, method: str, seconds: float, *, count: int = 1, deliver_if_gone: bool = False
    ) -> None:
        """Hold the next `count` calls of `method` for `seconds` before answering.

        If the client gives up (times out) meanwhile, the call is dropped unless
        `deliver_if_gone`, which models Telegram delivering a send whose answer was lost.
        """
        self._delays.append(_Delay(method.lower(), seconds, count, deliver_if_gone))

    def migrate_chat(self, old_id: str | int, new_id: int) -> None:
        """Sends to `old_id` answer 400 with migrate_to_chat_id=`new_id` (group → supergroup)."""
        self._migrations[str(old_id)] = new_id

    def is_forbidden(self, chat_id: str | int) -> bool:
        """Whether sends to this chat get 403 (listed, or picked by forbidden_ratio)."""
        key = str(chat_id)
        return key in self.forbidden_chats or is_blocked_by_ratio(key, self.forbidden_ratio)

    async def post_update_to(
        self, url: str, update: dict[str, Any], secret_token: str | None = None
    ) -> int:
        """POST an update to a bot's webhook as Telegram would; returns the HTTP status."""
        if "update_id" not in update:
            update = {"update_id": next(self._update_ids), **update}
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret_token} if secret_token else {}
        async with httpx.AsyncClient(trust_env=False, timeout=10.0) as client:
            response = await client.post(url, json=update, headers=headers)
        return response.status_code

    def message_update(self, chat_id: int | str, text: str, **kwargs: Any) -> dict[str, Any]:
        """Build (without queueing) a message update, e.g. for post_update_to."""
        message = self._incoming(chat_id, **self._sender_kwargs(kwargs))
        message["text"] = text
        return {"update_id": next(self._update_ids), "message": message}

    # ------------------------------------------------------------------ HTTP dispatch

    def _handle(self, request: Request) -> Response | Awaitable[Response]:
        self.stats.requests += 1
        path = request.path
        if path.startswith("/bot"):
            token, _, method = path[4:].partition("/")
            if self.latency_ms > 0:
                return self._after_latency(lambda: self._telegram(request, token, method))
            return self._telegram(request, token, method)
        if path.startswith("/zalo/bot"):
            if self.latency_ms > 0:
                return self._after_latency(lambda: self.zalo.handle(request))
            return self.zalo.handle(request)
        if path.startswith("/_fake/"):
            return self._admin(request)
        return self._error(404, "Not Found")

    async def _after_latency(self, call: Callable[[], Response | Awaitable[Response]]) -> Response:
        await asyncio.sleep(self.latency_ms / 1000)
        result = call()
        return result if isinstance(result, Response) else await result

    def _telegram(
        self, request: Request, token: str, method: str
    ) -> Response | Awaitable[Response]:
        if not TOKEN_RE.match(token):
            return self._error(401, "Unauthorized")
        name = method.lower()
        if name not in _METHOD_NAMES:
            return self._error(404, "Not Found: method not found")
        try:
            params = _normalise(request.params())
        except (ValueError, UnicodeDecodeError) as exc:
            return self._error(400, f"Bad Request: can't parse parameters: {exc}")
        self._last_token = token
        self.method_calls[_METHOD_NAMES[name]] += 1
        if name in SEND_METHODS:
            self.stats.send_calls += 1
        delay = self._take_delay(name)
        if delay is not None:
            return self._delayed(delay, token, name, params)
        return self._dispatch(token, name, params)

    def _dispatch(
        self, token: str, name: str, params: dict[str, Any]
    ) -> Response | Awaitable[Response]:
        injected = self._take_injection(name, params)
        if injected is not None:
            return injected
        if name == "getupdates":
            return self._get_updates(params)
        try:
            result = self._methods[name](token, params)
        except ApiError as exc:
            return self._error(exc.code, exc.description, exc.parameters)
        return json_response(200, {"ok": True, "result": result})

    async def _delayed(
        self, delay: _Delay, token: str, name: str, params: dict[str, Any]
    ) -> Response:
        async def later() -> Response:
            await asyncio.sleep(delay.seconds)
            result = self._dispatch(token, name, params)
            return result if isinstance(result, Response) else await result

        if not delay.deliver_if_gone:
            return await later()
        # Run apart from the connection's task, so a client that gave up does not cancel it.
        task = asyncio.ensure_future(later())
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return await asyncio.shield(task)

    def _take_delay(self, name: str) -> _Delay | None:
        for delay in self._delays:
            if delay.method == name:
                delay.count -= 1
                if delay.count <= 0:
                    self._delays.remove(delay)
                return delay
        return None

    def _take_injection(self, name: str, params: dict[str, Any]) -> Response | None:
        for rule in self._injections:
            if rule.method != name:
                continue
            if rule.chat_id is not None and str(params.get("chat_id", "")) != rule.chat_id:
                continue
            rule.count -= 1
            if rule.count <= 0:
                self._injections.remove(rule)
            parameters: dict[str, Any] | None = None
            description = rule.description or _DEFAULT_DESCRIPTIONS.get(rule.status, "Error")
            if rule.status == 429:
                seconds = max(1, rule.retry_after or 1)
                parameters = {"retry_after": seconds}
                description = rule.description or f"Too Many Requests: retry after {seconds}"
            return self._error(rule.status, description, parameters)
        return None

    def _error(
        self, code: int, description: str, parameters: dict[str, Any] | None = None
    ) -> Response:
        self.stats.errors_by_status[code] += 1
        payload: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
        if parameters:
            payload["parameters"] = parameters
        return json_response(code, payload)

    # ------------------------------------------------------------------ admin routes

    def _admin(self, request: Request) -> Response:
        route = request.path[len("/_fake/") :]
        if route == "stats" and request.method == "GET":
            per_chat = "per_chat=0" not in request.query
            return json_response(200, self.stats.as_dict(per_chat=per_chat))
        if route == "reset" and request.method == "POST":
            self.reset()
            return json_response(200, {"ok": True})
        if route == "update" and request.method == "POST":
            update_id = self.push_raw(json.loads(request.body))
            return json_response(200, {"ok": True, "result": update_id})
        if route == "config" and request.method == "POST":
            settings = json.loads(request.body)
            for key in (
                "rate_limit_per_s",
                "per_chat_limit_per_s",
                "group_limit_per_min",
                "forbidden_ratio",
                "latency_ms",
            ):
                if key in settings:
                    setattr(self, key, settings[key])
            return json_response(200, {"ok": True})
        return json_response(404, {"ok": False, "description": "Not Found"})

    # ------------------------------------------------------------------ Telegram methods

    def _get_updates(self, params: dict[str, Any]) -> Response | Awaitable[Response]:
        if self._webhook.get("url"):
            return self._error(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = int(params.get("offset") or 0)
        limit = min(100, max(1, int(params.get("limit") or 100)))
        timeout = max(0, int(params.get("timeout") or 0))
        self._confirm_updates(offset)
        batch = self._take_updates(limit)
        if batch or timeout == 0:
            return json_response(200, {"ok": True, "result": batch})
        return self._long_poll(limit, timeout)

    async def _long_poll(self, limit: int, seconds: int) -> Response:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return json_response(200, {"ok": True, "result": []})
            waiter: asyncio.Future[None] = loop.create_future()
            self._update_waiters.append(waiter)
            self._poll_parked.set()
            try:
                await asyncio.wait_for(waiter, remaining)
            except TimeoutError:
                pass
            finally:
                if waiter in self._update_waiters:
                    self._update_waiters.remove(waiter)
            batch = self._take_updates(limit)
            if batch:
                return json_response(200, {"ok": True, "result": batch})

    def _confirm_updates(self, offset: int) -> None:
        if offset > 0:
            self._updates = [
                queued
                for queued in self._updates
                if not (queued.delivered and queued.update_id < offset)
            ]
        elif offset < 0:
            self._updates = self._updates[offset:]

    def _take_updates(self, limit: int) -> list[dict[str, Any]]:
        batch = self._updates[:limit]
        for queued in batch:
            queued.delivered = True
        return [queued.payload for queued in batch]

    def _get_me(self, token: str, params: dict[str, Any]) -> dict[str, Any]:
        return {
            **self._bot_user(token),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _delete_webhook(self, token: str, params: dict[str, Any]) -> bool:
        self._webhook = {}
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    def _set_webhook(self, token: str, params: dict[str, Any]) -> bool:
        url = str(params.get("url") or "")
        if not url:
            return self._delete_webhook(token, params)
        if not url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
            raise ApiError(400, "Bad Request: bad webhook: HTTPS url must be provided for webhook")
        self._webhook = {key: value for key, value in params.items() if key != "certificate"}
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    def _set_my_commands(self, token: str, params: dict[str, Any]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise ApiError(400, "Bad Request: commands must be a list of at most 100 commands")
        cleaned: list[dict[str, str]] = []
        for command in commands:
            name = str(command.get("command", "")) if isinstance(command, dict) else ""
            description = str(command.get("description", "")) if isinstance(command, dict) else ""
            if not COMMAND_RE.match(name):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(description) <= 256:
                raise ApiError(400, "Bad Request: command description must be 1-256 characters")
            cleaned.append({"command": name, "description": description})
        self._commands[_commands_key(params)] = cleaned
        return True

    # setMyDescription: description 0-512 characters, setMyShortDescription: short_description
    # 0-120; an empty one removes the text for that language (core.telegram.org/bots/api).
    def _store_description(self, kind: str, limit: int, params: dict[str, Any]) -> bool:
        text = str(params.get(kind) or "")
        if len(text) > limit:
            raise ApiError(400, f"Bad Request: {kind} is too long")
        key = (kind, str(params.get("language_code") or ""))
        if text:
            self._descriptions[key] = text
        else:
            self._descriptions.pop(key, None)
        return True

    def _set_my_description(self, token: str, params: dict[str, Any]) -> bool:
        return self._store_description("description", 512, params)

    def _set_my_short_description(self, token: str, params: dict[str, Any]) -> bool:
        return self._store_description("short_description", 120, params)

    def _send_message(self, token: str, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = _chat_id(params)
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if len(text) > TELEGRAM_TEXT_LIMIT:
            raise ApiError(400, "Bad Request: message is too long")
        markup = _check_markup(params.get("reply_markup"))
        self._gate_send(token, chat_id)
        message = self._new_message(token, chat_id, {"text": text}, markup)
        self._accept(token, "sendMessage", chat_id, text, params, message["message_id"])
        return message

    def _send_media(self, token: str, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = _chat_id(params)
        is_photo = "photo" in params
        key = "photo" if is_photo else "document"
        media = params.get(key)
        if media is None:
            raise ApiError(400, f"Bad Request: there is no {key} in the request")
        caption = params.get("caption")
        markup = _check_markup(params.get("reply_markup"))
        self._gate_send(token, chat_id)
        size = len(media.data) if isinstance(media, UploadedFile) else 0
        content: dict[str, Any]
        if is_photo:
            content = {"photo": [{"file_id": "AgACSentPhoto", "file_unique_id": "AQADSent",
                                  "width": 800, "height": 800, "file_size": size}]}  # fmt: skip
        else:
            name = media.filename if isinstance(media, UploadedFile) else "file"
            content = {"document": {"file_id": "BQACSentDoc", "file_unique_id": "AgADSentDoc",
                                    "file_name": name, "file_size": size}}  # fmt: skip
        if caption:
            content["caption"] = str(caption)
        message = self._new_message(token, chat_id, content, markup)
        method = "sendPhoto" if is_photo else "sendDocument"
        recorded = {k: v for k, v in params.items() if not isinstance(v, UploadedFile)}
        if isinstance(media, UploadedFile):
            recorded[key] = {"filename": media.filename, "size": size, "data": media.data}
        text = str(caption) if caption else None
        self._accept(token, method, chat_id, text, recorded, message["message_id"])
        return message

    def _edit_message_text(self, token: str, params: dict[str, Any]) -> dict[str, Any]:
        """editMessageText (https://core.telegram.org/bots/api#editmessagetext): chat_id +
        message_id of a message the bot sent, the new `text` (1-4096 characters) and an optional
        `reply_markup` (InlineKeyboardMarkup); answers the edited Message. An edit without
        reply_markup leaves the message without an inline keyboard (Telegram's behaviour; the
        page does not spell it out). The same text and keyboard again are refused with «400 Bad
        Request: message is not modified», as Telegram does."""
        chat_id = _chat_id(params)
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if len(text) > TELEGRAM_TEXT_LIMIT:
            raise ApiError(400, "Bad Request: message is too long")
        try:
            message_id = int(params.get("message_id", 0))
        except (TypeError, ValueError):
            message_id = 0
        markup = _check_markup(params.get("reply_markup"))
        keyboard = markup if markup and "inline_keyboard" in markup else None
        message = self._messages.get((chat_id, message_id))
        if message is None and not self.record and 0 < message_id <= self._message_ids[chat_id]:
            message = {"message_id": message_id, "chat": self._chat(chat_id), "text": ""}
        if message is None or "text" not in message:
            raise ApiError(400, "Bad Request: message to edit not found")
        if message["text"] == text and message.get("reply_markup") == keyboard:
            raise ApiError(400, "Bad Request: message is not modified")
        message["text"] = text
        if keyboard is None:
            message.pop("reply_markup", None)
        else:
            message["reply_markup"] = keyboard
        message["edit_date"] = self._now()
        self._accept(token, "editMessageText", chat_id, text, params, message_id)
        return message

    def _answer_callback_query(self, token: str, params: dict[str, Any]) -> bool:
        if not params.get("callback_query_id"):
            raise ApiError(400, "Bad Request: query is too old and response timeout expired")
        text = params.get("text")
        chat_id = self._callback_chats.get(str(params["callback_query_id"]), "")
        self._accept(token, "answerCallbackQuery", chat_id, text, params, None)
        return True

    # editMessageReplyMarkup (core.telegram.org/bots/api#editmessagereplymarkup): chat_id and
    # message_id of a message the bot sent, reply_markup an InlineKeyboardMarkup or absent (the
    # keyboard is removed). Returns the edited Message; «message is not modified» (400) when the
    # markup is unchanged, «message to edit not found» (400) for an unknown message. Used by the
    # receiver to take the buttons off a form message once one of them was pressed.
    def _edit_message_reply_markup(self, token: str, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = _chat_id(params)
        message = self._messages.get((chat_id, int(params.get("message_id") or 0)))
        if message is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        markup = _check_markup(params.get("reply_markup"))
        keyboard = markup if markup and "inline_keyboard" in markup else None
        if keyboard == message.get("reply_markup"):
            raise ApiError(400, "Bad Request: message is not modified")
        if keyboard is None:
            message.pop("reply_markup", None)
        else:
            message["reply_markup"] = keyboard
        self._accept(token, "editMessageReplyMarkup", chat_id, None, params, message["message_id"])
        return message

    def markup_of(self, chat_id: int | str, message_id: int) -> dict[str, Any] | None:
        """The inline keyboard a sent message has now (None: none, or an unknown message)."""
        message = self._messages.get((str(chat_id), message_id))
        return message.get("reply_markup") if message is not None else None

    # ------------------------------------------------------------------ send gate and records

    def _gate_send(self, token: str, chat_id: str) -> None:
        """Apply migration, blocking and the rate limits; raise ApiError to refuse."""
        if chat_id in self._migrations:
            raise ApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": self._migrations[chat_id]},
            )
        if self.is_forbidden(chat_id):
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        now = self._monotonic()
        checks: list[tuple[SlidingWindow, Hashable]] = []
        if self._global_window is not None:
            checks.append((self._global_window, token))
        if self._chat_window is not None:
            checks.append((self._chat_window, (token, chat_id)))
        if self._group_window is not None and chat_id.startswith("-"):
            checks.append((self._group_window, (token, chat_id)))
        for window, key in checks:
            wait = window.retry_after(key, now)
            if wait:
                raise ApiError(429, f"Too Many Requests: retry after {wait}", {"retry_after": wait})
        for window, key in checks:
            window.add(key, now)

    def _accept(
        self,
        token: str,
        method: str,
        chat_id: str,
        text: str | None,
        params: dict[str, Any],
        message_id: int | None,
    ) -> None:
        if method in ("sendMessage", "sendPhoto", "sendDocument"):
            self.stats.sends_accepted += 1
            self.stats.per_chat_accepted[chat_id] += 1
        if self.record:
            call = SentCall(method, token, chat_id, text, params, self._wall(), message_id)
            self._log.add(call)

    def _new_message(
        self,
        token: str,
        chat_id: str,
        content: dict[str, Any],
        markup: dict[str, Any] | None,
    ) -> dict[str, Any]:
        self._message_ids[chat_id] += 1
        message: dict[str, Any] = {
            "message_id": self._message_ids[chat_id],
            "from": self._bot_user(token),
            "chat": self._chat(chat_id),
            "date": self._now(),
            **content,
        }
        if markup and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        if self.record:
            self._messages[(chat_id, message["message_id"])] = message
        return message

    def _incoming(
        self,
        chat_id: int | str,
        user_id: int | None = None,
        first_name: str = "Lan",
        language_code: str | None = "vi",
        chat_type: str = "private",
    ) -> dict[str, Any]:
        chat_key = str(chat_id)
        numeric = int(chat_key)
        if chat_type == "private":
            chat: dict[str, Any] = {"id": numeric, "type": "private", "first_name": first_name}
            sender_id = user_id if user_id is not None else numeric
        else:
            chat = {"id": numeric, "type": chat_type, "title": "Nhóm thử"}
            sender_id = user_id if user_id is not None else 900_000_001
        self._chats[chat_key] = chat
        sender: dict[str, Any] = {"id": sender_id, "is_bot": False, "first_name": first_name}
        if language_code:
            sender["language_code"] = language_code
        self._message_ids[chat_key] += 1
        return {
            "message_id": self._message_ids[chat_key],
            "from": sender,
            "chat": chat,
            "date": self._now(),
        }

    @staticmethod
    def _sender_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
        allowed = {"user_id", "first_name", "language_code", "chat_type"}
        unknown = set(kwargs) - allowed
        if unknown:
            raise TypeError(f"unexpected arguments: {sorted(unknown)}")
        return kwargs

    def _bot_user(self, token: str) -> dict[str, Any]:
        return {
            "id": int(token.split(":", 1)[0]),
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    def _chat(self, chat_id: str) -> dict[str, Any]:
        known = self._chats.get(chat_id)
        if known is not None:
            return known
        try:
            numeric = int(chat_id)
        except ValueError:
            digest = hashlib.blake2b(chat_id.encode(), digest_size=4).digest()
            channel_id = -1_000_000_000_000 - int.from_bytes(digest, "big")
            return {"id": channel_id, "type": "channel", "username": chat_id.lstrip("@")}
        if numeric > 0:
            return {"id": numeric, "type": "private"}
        kind = "supergroup" if chat_id.startswith("-100") else "group"
        return {"id": numeric, "type": kind, "title": "Nhóm"}

    def _now(self) -> int:
        return int(self._clock.now().timestamp())

    def _wall(self) -> float:
        return self._clock.now().timestamp()


# ---------------------------------------------------------------------- helpers


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _normalise(params: dict[str, Any]) -> dict[str, Any]:
    """Turn form strings into the JSON types Telegram would read from them."""
    for key, value in params.items():
        if not isinstance(value, str):
            continue
        if key in _JSON_FIELDS:
            params[key] = json.loads(value)
        elif key in _INT_FIELDS:
            params[key] = int(value)
        elif key in _BOOL_FIELDS:
            params[key] = value.lower() == "true"
    if "chat_id" in params:
        params["chat_id"] = str(params["chat_id"])
    return params


def _chat_id(params: dict[str, Any]) -> str:
    chat_id = params.get("chat_id")
    if chat_id in (None, ""):
        raise ApiError(400, "Bad Request: chat_id is empty")
    return str(chat_id)


def _check_markup(markup: object) -> dict[str, Any] | None:
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
    for row in markup.get("inline_keyboard", []):
        for button in row:
            if not str(button.get("text", "")).strip():
                raise ApiError(
                    400, "Bad Request: text buttons are unallowed in the inline keyboard"
                )
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode()) <= CALLBACK_DATA_LIMIT:
                raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
    return markup


def _commands_key(params: dict[str, Any]) -> tuple[str, str]:
    scope = params.get("scope") or {"type": "default"}
    scope_key = str(scope.get("type", "default"))
    for extra in ("chat_id", "user_id"):
        if extra in scope:
            scope_key += f":{scope[extra]}"
    return scope_key, str(params.get("language_code") or "")


# ---------------------------------------------------------------------- separate process


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m fakes.botapi", description="Run the fake Bot API server."
    )
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--rate-limit", type=float, default=None, help="sends/s per token")
    parser.add_argument("--per-chat-limit", type=float, default=None, help="sends/s per chat")
    parser.add_argument("--group-limit", type=float, default=None, help="sends/min per group")
    parser.add_argument("--forbidden-ratio", type=float, default=0.0)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument(
        "--record", action="store_true", help="keep every call in memory (off: counters only)"
    )
    return parser.parse_args(argv)


async def _serve(args: argparse.Namespace) -> None:
    server = FakeBotApi(
        port=args.port,
        rate_limit_per_s=args.rate_limit,
        per_chat_limit_per_s=args.per_chat_limit,
        group_limit_per_min=args.group_limit,
        forbidden_ratio=args.forbidden_ratio,
        latency_ms=args.latency_ms,
        record=args.record,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with server:
        sys.stdout.write(f"READY {server.url}\n")
        sys.stdout.flush()
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    """Entry point of the separate-process mode; runs until SIGINT/SIGTERM."""
    asyncio.run(_serve(_parse_args(argv)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
