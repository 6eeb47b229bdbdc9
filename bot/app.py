"""The composition root: the only place that builds and wires engine, services, channels, scheduler.

`build_loa` assembles the core for any set of channels (Telegram, console, the demo's); `run_bot`
is `loa run`: migrations, campaign activation, dispatcher, scheduler, and Telegram polling or
webhook, until SIGINT/SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial

from bot.adoption.profile import profile_texts
from bot.campaign.events import activate_campaign, quiet_predicate
from bot.channels.base import Channel
from bot.channels.telegram.receiver import TelegramReceiver
from bot.channels.telegram.sender import TelegramSender
from bot.channels.zalo.client import ZaloClient
from bot.channels.zalo.receiver import ZaloReceiver
from bot.channels.zalo.sender import ZaloSender
from bot.chat.conversation import Conversation
from bot.chat.router import Router
from bot.clock import Clock, SystemClock, SystemRandomness
from bot.config import Settings
from bot.coordinators.broadcast_chat import BroadcastChat
from bot.coordinators.chat import Coordinators
from bot.coordinators.filestore import FileStore
from bot.coordinators.progress import BroadcastProgress
from bot.delivery.dispatcher import ChatEvents, Dispatcher
from bot.delivery.limiter import ChannelLimits
from bot.domain.campaign import CampaignPack
from bot.reporting.chat import SPENT_BUTTONS, Reporting
from bot.reporting.reminders import activate_reminders
from bot.reporting.repository import forget_chat
from bot.residents.chat import Residents
from bot.residents.repository import on_chat_blocked, on_chat_migrated
from bot.storage.db import Database
from bot.storage.migrate import upgrade_async
from scheduler import build_scheduler
from scheduler.jobs import minute_job

log = logging.getLogger(__name__)

# What a chat that blocked the bot or moved to a new id means outside the outbox: the residents'
# subscriptions follow it.
CHAT_EVENTS = ChatEvents(blocked=on_chat_blocked, migrated=on_chat_migrated)

# Zalo publishes no Bot API send limits: stay well under anything plausible; 429s slow it further.
ZALO_LIMITS = ChannelLimits(per_second=20.0, per_chat_per_second=1.0)


@dataclass
class Loa:
    """The assembled core: what channels and commands talk to."""

    clock: Clock
    db: Database
    pack: CampaignPack
    router: Router
    conversation: Conversation
    dispatcher: Dispatcher
    channels: Mapping[str, Channel]
    progress: BroadcastProgress
    coordinators: Coordinators


def build_loa(
    *,
    db: Database,
    pack: CampaignPack,
    clock: Clock,
    channels: Mapping[str, Channel],
    limits: Mapping[str, ChannelLimits] | None = None,
    concurrency: int = 64,
    signing_key: bytes = b"loa-development-key",
    files: FileStore | None = None,
    public_url: str | None = None,
) -> Loa:
    """Wire the services for `pack` over `db`, sending through `channels`."""
    router = Router()
    coordinators = Coordinators(
        pack,
        db=db,
        notify=lambda: dispatcher.notify(),
        key=signing_key,
        files=files or FileStore(Settings.model_fields["loa_files_dir"].default),
        file_channels=[name for name, ch in channels.items() if ch.capabilities.files],
        public_url=public_url,
    )
    reporting = Reporting(pack, on_bound=coordinators.on_bound)
    Residents(
        pack,
        start_payload=reporting.start_payload,
        forget=[forget_chat],
        role_start=reporting.role_start,
        role_help=reporting.role_help,
    ).register(router)
    reporting.register(router)
    coordinators.register(router)
    limits_text = {name: channel.capabilities.max_text for name, channel in channels.items()}
    BroadcastChat(pack, key=signing_key, limits=limits_text).register(router)
    dispatcher = Dispatcher(
        db,
        channels,
        clock,
        limits=limits or {name: ChannelLimits() for name in channels},
        chats=CHAT_EVENTS,
        is_quiet=quiet_predicate(pack),
        concurrency=concurrency,
    )
    conversation = Conversation(
        db, router, clock, on_replies=dispatcher.notify, randomness=SystemRandomness()
    )
    progress = BroadcastProgress(db, channels, clock, notify=dispatcher.notify)
    return Loa(
        progress=progress,
        coordinators=coordinators,
        clock=clock,
        db=db,
        pack=pack,
        router=router,
        conversation=conversation,
        dispatcher=dispatcher,
        channels=channels,
    )


def freeze_startup_heap() -> None:
    """Once the process is built: keep what lives as long as it out of the collector's reach."""
    # Everything alive now (modules, table metadata, caches) lives as long as the process;
    # moving it out of the collector's reach turns 50-60 ms full collections, which stall the
    # send pace at high rates, into a few milliseconds.
    gc.freeze()


async def prepare_database(db: Database, pack: CampaignPack, clock: Clock) -> None:
    """Apply migrations and materialise the campaign's events (all idempotent)."""
    await upgrade_async(db.url)
    result = await activate_campaign(db, pack, now=clock.now())
    log.info("campaign %s active: %s", pack.campaign.id, result)
    reminders = await activate_reminders(db, pack, now=clock.now())
    log.info("deadline reminders: %s", reminders)


async def run_bot(settings: Settings, pack: CampaignPack, *, clock: Clock | None = None) -> None:
    """`loa run`: serve Telegram and/or Zalo until a stop signal; a restart resumes where it was."""
    clock = clock or SystemClock()
    telegram_token, zalo_token = settings.bot_tokens()
    db = Database(settings.database_url)
    await prepare_database(db, pack, clock)

    channels: dict[str, Channel] = {}
    limits: dict[str, ChannelLimits] = {}
    telegram_sender = zalo_client = None
    if telegram_token is not None:
        telegram_sender = TelegramSender(telegram_token, settings.telegram_api_base_url)
        channels["telegram"], limits["telegram"] = telegram_sender, ChannelLimits()
    if zalo_token is not None:
        zalo_client = ZaloClient(zalo_token, settings.zalo_api_base_url)
        channels["zalo"], limits["zalo"] = ZaloSender(zalo_client), ZALO_LIMITS
    loa = build_loa(
        db=db,
        pack=pack,
        clock=clock,
        channels=channels,
        limits=limits,
        signing_key=settings.signing_key(),
        files=FileStore(settings.loa_files_dir),
    )
    telegram = (
        TelegramReceiver(
            token=telegram_token,
            base_url=settings.telegram_api_base_url,
            handle=loa.conversation.handle,
            clock=clock,
            profile=profile_texts(pack),
            spent_buttons=SPENT_BUTTONS,
        )
        if telegram_token is not None
        else None
    )
    zalo = ZaloReceiver(zalo_client, loa.conversation.handle, clock) if zalo_client else None

    minute = partial(minute_job, db=db, pack=pack, clock=clock, notify=loa.dispatcher.notify)
    scheduler = build_scheduler(sweep=minute, clock=clock)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)

    freeze_startup_heap()
    await loa.dispatcher.start()
    scheduler.start()
    progress = asyncio.create_task(loa.progress.run(stop))
    try:
        if telegram is not None and settings.telegram_webhook_url:
            secret = settings.telegram_webhook_secret
            await telegram.start_webhook(
                listen=settings.telegram_webhook_listen,
                port=settings.telegram_webhook_port,
                url=settings.telegram_webhook_url,
                secret_token=secret.get_secret_value() if secret else None,
            )
            log.info("receiving Telegram updates by webhook")
        elif telegram is not None:
            await telegram.start_polling()
            log.info("receiving Telegram updates by long polling")
        if zalo is not None:
            await zalo.start()
            log.info("receiving Zalo updates by long polling")
        await stop.wait()
    finally:
        log.info("stopping")
        stop.set()
        await progress
        await loa.coordinators.wait_idle()
        if zalo is not None:
            await zalo.stop()
        if telegram is not None:
            await telegram.stop()
        scheduler.shutdown(wait=False)
        await loa.dispatcher.stop()
        if telegram_sender is not None:
            await telegram_sender.aclose()
        if zalo_client is not None:
            await zalo_client.aclose()
        await db.dispose()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.remove_signal_handler(sig)
