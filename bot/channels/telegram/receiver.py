"""Receiving from Telegram with python-telegram-bot, as transport only.

One catch-all handler turns each update into an Inbound and hands it to the core; replies go
through the outbox and the lean sender, not through PTB. PTB also answers button presses (so the
client stops spinning), takes the keyboard off a pressed form message (`spent_buttons`), and
registers the command menu in both languages.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable, Mapping

from telegram import BotCommand, Update
from telegram.error import TelegramError
from telegram.ext import Application, ApplicationBuilder, ContextTypes, TypeHandler

from bot.channels.base import Inbound
from bot.channels.telegram.updates import to_inbound
from bot.clock import Clock
from messages import LANGUAGES, catalogue

log = logging.getLogger(__name__)

# python-telegram-bot 22: time periods as timedelta, the behaviour of its next major version.
os.environ.setdefault("PTB_TIMEDELTA", "1")


InboundHandler = Callable[[Inbound], Awaitable[object]]
# language code ("" = default) → (description, short description), shown before a person starts
Profile = Mapping[str, tuple[str, str]]


def command_menu(lang: str) -> list[BotCommand]:
    """The command list shown in Telegram's menu, in one language: messages/<lang>/commands.toml
    in its order (the file is the list)."""
    return [
        BotCommand(key.removeprefix("commands."), text)
        for key, text in catalogue(lang).items()
        if key.startswith("commands.")
    ]


class TelegramReceiver:
    """Owns the PTB Application: polling or webhook, one handler, command registration."""

    def __init__(
        self,
        *,
        token: str,
        base_url: str,
        handle: InboundHandler,
        clock: Clock,
        concurrent_updates: int = 16,
        profile: Profile | None = None,
        spent_buttons: tuple[str, ...] = (),
    ) -> None:
        self._handle = handle
        self._spent = spent_buttons
        self._clock = clock
        self._profile = profile or {}
        file_url = base_url[: -len("/bot")] + "/file/bot" if base_url.endswith("/bot") else base_url
        self.application: Application = (  # type: ignore[type-arg]
            ApplicationBuilder()
            .token(token)
            .base_url(base_url)
            .base_file_url(file_url)
            .concurrent_updates(concurrent_updates)
            .build()
        )
        self.application.add_handler(TypeHandler(Update, self._on_update))
        self.application.add_error_handler(self._on_error)

    async def _on_update(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        if not isinstance(update, Update):
            return
        if update.callback_query is not None:
            try:
                await update.callback_query.answer()
            except TelegramError:
                log.warning("could not answer a button press")
        inbound = to_inbound(update, now=self._clock.now())
        if inbound is not None:
            await self._handle(inbound)
            await self._take_keyboard_off(update)

    async def _take_keyboard_off(self, update: Update) -> None:
        """A pressed button whose data starts with one of `spent_buttons` (a form's): its
        message loses its keyboard once handled, so old messages show no live-looking buttons.
        Cosmetic: a failure is logged, never raised."""
        query = update.callback_query
        if (
            query is None
            or query.message is None
            or not (query.data or "").startswith(self._spent or ("\0",))
        ):
            return
        try:
            await query.edit_message_reply_markup(reply_markup=None)
        except TelegramError:
            log.info("could not take the keyboard off a pressed message")

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("error while handling an update: %s", type(context.error).__name__)

    async def register_commands(self) -> None:
        """Register the command menu: Vietnamese by default and for `vi`, English for `en`."""
        bot = self.application.bot
        await bot.set_my_commands(command_menu("vi"))
        for lang in LANGUAGES:
            await bot.set_my_commands(command_menu(lang), language_code=lang)

    async def register_profile(self) -> None:
        """Set the bot's description and short description (what a person sees before Start),
        per language; a refusal is logged and does not stop the bot."""
        bot = self.application.bot
        for lang, (description, short) in self._profile.items():
            code = lang or None
            try:
                await bot.set_my_description(description=description, language_code=code)
                await bot.set_my_short_description(short_description=short, language_code=code)
            except TelegramError as exc:
                log.warning("could not set the bot's profile texts: %s", type(exc).__name__)

    async def start_polling(self, *, poll_seconds: int = 10) -> None:
        """Initialise, register commands and profile, and start long polling."""
        await self.application.initialize()
        await self.register_commands()
        await self.register_profile()
        await self.application.start()
        assert self.application.updater is not None
        await self.application.updater.start_polling(timeout=poll_seconds, poll_interval=0.0)

    async def start_webhook(
        self, *, listen: str, port: int, url: str, secret_token: str | None
    ) -> None:
        """Initialise, register commands and profile, and serve a webhook checking the
        secret-token header."""
        await self.application.initialize()
        await self.register_commands()
        await self.register_profile()
        await self.application.start()
        assert self.application.updater is not None
        path = url.rstrip("/").rsplit("/", 1)[-1] if url.count("/") > 2 else ""
        await self.application.updater.start_webhook(
            listen=listen,
            port=port,
            url_path=path,
            webhook_url=url,
            secret_token=secret_token,
        )

    async def stop(self) -> None:
        """Stop receiving (confirming fetched updates) and shut PTB down."""
        updater = self.application.updater
        if updater is not None and updater.running:
            await updater.stop()
        if self.application.running:
            await self.application.stop()
        await self.application.shutdown()
