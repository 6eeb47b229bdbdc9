"""Receiving from Telegram: long polling driven by Loa itself, and the webhook's callback.

python-telegram-bot is used as a typed client only (its `Bot`, so its request and proxy
configuration is reused): its Updater asks for the next batch — which confirms the previous one to
Telegram — before the application has handled it, so a crash lost what people had sent. Here the
loop calls `getUpdates`, hands the batch to `accept` (the durable inbox: stored and committed),
and only then asks again with an offset past that batch: Telegram forgets an update only after it
is stored. (Bot API, getUpdates: «An update is considered confirmed as soon as getUpdates is
called with an offset higher than its update_id.» https://core.telegram.org/bots/api#getupdates)

Webhook: the web server (`bot/web/server.py`) checks the secret-token header in constant time and
calls `handle_payload`, which parses the update (`NotAnUpdate` when it is not one) and stores it
through `accept`; the server answers 200 only after the commit, 5xx when it could not be stored,
so Telegram delivers it again.

Button presses are answered (so the client stops its spinner) after the press is stored, and a
pressed form message (data starting with one of `spent_buttons`) loses its keyboard, so old
messages show no live-looking buttons.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any

from telegram import Bot as PtbBot
from telegram import BotCommand, Update
from telegram.error import Conflict, InvalidToken, RetryAfter, TelegramError
from telegram.request import HTTPXRequest

from bot.channels.base import Inbound, NotAnEvent
from bot.channels.telegram.updates import to_inbound
from bot.clock import Clock
from messages import LANGUAGES, catalogue

log = logging.getLogger(__name__)

# python-telegram-bot 22: time periods as timedelta, the behaviour of its next major version.
os.environ.setdefault("PTB_TIMEDELTA", "1")

WEBHOOK_SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# Only what Loa answers; Telegram keeps other kinds out of the queue.
ALLOWED_UPDATES = ("message", "callback_query")

Accept = Callable[[Sequence[Inbound]], Awaitable[object]]
# language code ("" = default) → (description, short description), shown before a person starts
Profile = Mapping[str, tuple[str, str]]


class NotAnUpdate(NotAnEvent):
    """A webhook body that is JSON but not a Telegram update."""


def command_menu(lang: str) -> list[BotCommand]:
    """The command list shown in Telegram's menu, in one language: messages/<lang>/commands.toml
    in its order (the file is the list)."""
    return [
        BotCommand(key.removeprefix("commands."), text)
        for key, text in catalogue(lang).items()
        if key.startswith("commands.")
    ]


class TelegramReceiver:
    """Polls Telegram (or takes webhook posts) and stores every update before confirming it."""

    def __init__(
        self,
        *,
        token: str,
        base_url: str,
        accept: Accept,
        clock: Clock,
        proxy: str | None = None,
        on_fatal: Callable[[str], None] = lambda _line: None,
        backoff_s: float = 1.0,
        max_backoff_s: float = 30.0,
        profile: Profile | None = None,
        spent_buttons: tuple[str, ...] = (),
    ) -> None:
        self._accept = accept
        self._spent = spent_buttons
        self._profile = profile or {}
        self._clock = clock
        self._on_fatal = on_fatal
        self._backoff_s = backoff_s
        self._max_backoff_s = max_backoff_s
        file_url = base_url[: -len("/bot")] + "/file/bot" if base_url.endswith("/bot") else base_url
        self.bot = PtbBot(
            token,
            base_url=base_url,
            base_file_url=file_url,
            request=HTTPXRequest(connection_pool_size=8, proxy=proxy),
            get_updates_request=HTTPXRequest(connection_pool_size=1, read_timeout=40, proxy=proxy),
        )
        self._offset: int | None = None
        self._initialized = False
        self._loop: asyncio.Task[None] | None = None
        self._answers: set[asyncio.Task[None]] = set()
        self.errors = 0  # polling errors seen, for tests and status

    @property
    def polling(self) -> bool:
        """True while the polling loop runs."""
        return self._loop is not None and not self._loop.done()

    async def initialize(self) -> None:
        """Check the token (getMe), register the command menu and the profile texts (once)."""
        if self._initialized:
            return
        await self.bot.initialize()
        await self.register_commands()
        await self.register_profile()
        self._initialized = True

    async def register_commands(self) -> None:
        """Register the command menu: Vietnamese by default and for `vi`, English for `en`."""
        await self.bot.set_my_commands(command_menu("vi"))
        for lang in LANGUAGES:
            await self.bot.set_my_commands(command_menu(lang), language_code=lang)

    async def register_profile(self) -> None:
        """Set the bot's description and short description (what a person sees before Start),
        per language; a refusal is logged and does not stop the bot."""
        for lang, (description, short) in self._profile.items():
            code = lang or None
            try:
                await self.bot.set_my_description(description=description, language_code=code)
                await self.bot.set_my_short_description(short_description=short, language_code=code)
            except TelegramError as exc:
                log.warning("could not set the bot's profile texts: %s", type(exc).__name__)

    async def start_polling(self, *, poll_seconds: int = 10) -> None:
        """Initialise, remove any webhook, and start the polling loop (returns at once)."""
        await self.initialize()
        await self.bot.delete_webhook()
        self._loop = asyncio.create_task(self._poll_forever(poll_seconds), name="telegram-polling")

    async def set_webhook(self, url: str, secret_token: str | None) -> None:
        """Initialise and ask Telegram to POST updates to `url` with `secret_token`."""
        await self.initialize()
        await self.bot.set_webhook(
            url, secret_token=secret_token, allowed_updates=list(ALLOWED_UPDATES)
        )

    async def stop(self) -> None:
        """Stop polling and close the client (stored updates are confirmed at the next start)."""
        loop, self._loop = self._loop, None
        if loop is not None:
            loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await loop
        if self._answers:
            await asyncio.wait(self._answers, timeout=5)
        with contextlib.suppress(TelegramError, RuntimeError):
            await self.bot.shutdown()

    async def poll_once(self, poll_seconds: int) -> int:
        """One getUpdates round: fetch, store, then move the offset past the stored batch."""
        updates = await self.bot.get_updates(
            offset=self._offset,
            timeout=timedelta(seconds=poll_seconds),
            allowed_updates=list(ALLOWED_UPDATES),
        )
        if not updates:
            return 0
        await self._store(updates)
        self._offset = max(u.update_id for u in updates) + 1
        return len(updates)

    async def handle_payload(self, data: Mapping[str, Any]) -> None:
        """The webhook callback: parse one update as Telegram posted it and store it; returns
        once it is committed. Raises `NotAnUpdate` (answer 400) or the storage error (5xx)."""
        try:
            update = Update.de_json(dict(data), self.bot)
        except (ValueError, TypeError, KeyError, AttributeError, TelegramError):
            update = None  # PTB raises AttributeError on a field of the wrong type
        if update is None:
            raise NotAnUpdate("not a Telegram update")
        await self._store([update])

    async def _store(self, updates: Sequence[Update]) -> None:
        now = self._clock.now()
        inbounds = [i for i in (to_inbound(u, now=now) for u in updates) if i is not None]
        if inbounds:
            await self._accept(inbounds)
        for update in updates:
            if update.callback_query is not None:
                task = asyncio.create_task(self._answer(update))
                self._answers.add(task)
                task.add_done_callback(self._answers.discard)

    async def _answer(self, update: Update) -> None:
        query = update.callback_query
        assert query is not None
        try:
            await query.answer()
        except TelegramError:
            log.warning("could not answer a button press")
        if query.message is None or not self._spent:
            return
        if not (query.data or "").startswith(self._spent):
            return
        try:  # cosmetic: a failure is logged, never raised
            await query.edit_message_reply_markup(reply_markup=None)
        except TelegramError:
            log.info("could not take the keyboard off a pressed message")

    async def _poll_forever(self, poll_seconds: int) -> None:
        pause = self._backoff_s
        while True:
            try:
                await self.poll_once(poll_seconds)
            except asyncio.CancelledError:
                raise
            except InvalidToken:
                self._on_fatal("TELEGRAM_BOT_TOKEN: rejected by Telegram (401); polling stopped")
                return
            except Exception as error:
                self.errors += 1
                wait = pause
                if isinstance(error, RetryAfter):
                    wait = max(pause, error.retry_after.total_seconds())  # type: ignore[union-attr]
                if isinstance(error, Conflict):
                    log.warning("telegram: a webhook is set or another poller runs; retrying")
                else:
                    log.warning("telegram polling failed: %s", type(error).__name__)
                await asyncio.sleep(wait)
                pause = min(pause * 2, self._max_backoff_s)
                continue
            pause = self._backoff_s
