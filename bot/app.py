"""The composition root: the only place that builds and wires engine, services, channels, scheduler.

`build_loa` assembles the core for any set of channels (Telegram, console, the demo's); `run_bot`
is `loa run`: migrations, the database lease (one owner), campaign activation, the inbox worker,
dispatcher, scheduler, and Telegram polling or webhook and/or Zalo polling, until SIGINT/SIGTERM,
a lost lease, or a receiver that cannot go on (a rejected token).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import partial

from bot.adoption.profile import profile_texts
from bot.campaign.events import activate_campaign, quiet_predicate
from bot.channels.base import Channel, Outbound
from bot.channels.telegram.receiver import TelegramReceiver
from bot.channels.telegram.sender import TelegramSender
from bot.channels.telegram.webhook import TelegramWebhookServer, webhook_path
from bot.channels.zalo.client import ZaloClient
from bot.channels.zalo.receiver import ZaloReceiver
from bot.channels.zalo.sender import ZaloSender
from bot.channels.zalo_oa.client import OaClient
from bot.channels.zalo_oa.sender import OaSender
from bot.channels.zalo_oa.server import OaWebhookServer
from bot.channels.zalo_oa.tokens import TokenManager, TokenVault
from bot.channels.zalo_oa.webhook import OaWebhook
from bot.chat.conversation import Conversation
from bot.chat.inbox import Inbox
from bot.chat.inbox import forget_chat as forget_inbox
from bot.chat.router import Router
from bot.clock import Clock, SystemClock, SystemRandomness, Ticker
from bot.config import Settings, ZaloOaSettings
from bot.coordinators.broadcast_chat import BroadcastChat
from bot.coordinators.chat import Coordinators
from bot.coordinators.filestore import FileStore
from bot.coordinators.progress import BroadcastProgress
from bot.delivery.dispatcher import ChatEvents, Dispatcher
from bot.delivery.limiter import ChannelLimits
from bot.domain.campaign import CampaignPack
from bot.logs import asyncio_exception_handler
from bot.reporting.alerts import alert_coordinators
from bot.reporting.chat import SPENT_BUTTONS, Reporting
from bot.reporting.reminders import activate_reminders
from bot.reporting.repository import forget_chat
from bot.residents.chat import Residents
from bot.residents.distress import Distress
from bot.residents.followers import Followers
from bot.residents.repository import on_chat_blocked, on_chat_migrated
from bot.storage.db import Database
from bot.storage.lease import Lease
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
class OaParts:
    """The Zalo OA channel's pieces: the client to close, the sender, the webhook to serve."""

    client: OaClient
    tokens: TokenManager
    sender: OaSender
    limits: ChannelLimits


def build_oa(oa: ZaloOaSettings, db: Database, clock: Clock) -> OaParts:
    """The OA sender over a sealed token store; a failed refresh alerts the coordinators."""
    client = OaClient(
        app_id=oa.app_id,
        app_secret=oa.app_secret,
        oauth_base_url=oa.oauth_base_url,
        api_base_url=oa.api_base_url,
    )
    tokens = TokenManager(
        client,
        TokenVault(db, oa.oa_id, oa.token_key),
        clock,
        alert=lambda _reason: alert_coordinators(db, clock, "zalo_oa.token_alert"),
    )
    # Packages allow 100 (Growth) to 2,000 (Comprehensive) requests a minute; the API doc says
    # 4,000 per app. Pace for the lowest package; -32 slows the lane further.
    limits = ChannelLimits(per_second=oa.rate_per_minute / 60.0, per_chat_per_second=1.0)
    return OaParts(client, tokens, OaSender(client, tokens, buttons=oa.buttons), limits)


def add_oa_channel(
    settings: Settings,
    db: Database,
    clock: Clock,
    channels: dict[str, Channel],
    limits: dict[str, ChannelLimits],
) -> OaParts | None:
    """The OA channel when its settings are there (added to `channels` and `limits`)."""
    oa_settings = settings.zalo_oa()
    if oa_settings is None:
        return None
    oa = build_oa(oa_settings, db, clock)
    channels["zalo_oa"], limits["zalo_oa"] = oa.sender, oa.limits
    return oa


def oa_webhook(oa: ZaloOaSettings, loa: Loa) -> OaWebhook:
    """The OA webhook handler feeding the core."""
    return OaWebhook(
        app_id=oa.app_id,
        secret=oa.webhook_secret,
        handle=loa.inbox.accept,
        clock=loa.clock,
        concurrency=8,
    )


def windowed_channels(channels: Mapping[str, Channel]) -> list[str]:
    """Channels that reach a person only within a window after their last message."""
    return [name for name, channel in channels.items() if channel.capabilities.window]


@dataclass
class Loa:
    """The assembled core: what channels and commands talk to."""

    clock: Clock
    db: Database
    pack: CampaignPack
    router: Router
    conversation: Conversation
    inbox: Inbox
    dispatcher: Dispatcher
    channels: Mapping[str, Channel]
    progress: BroadcastProgress
    coordinators: Coordinators


class RunStopped(Exception):
    """`loa run` stopped for a reason the operator must fix; the message is one line."""


def build_loa(
    *,
    db: Database,
    pack: CampaignPack,
    clock: Clock,
    channels: Mapping[str, Channel],
    limits: Mapping[str, ChannelLimits] | None = None,
    concurrency: int = 64,
    after_turn: Callable[[list[Outbound]], Awaitable[None]] | None = None,
    ticker: Ticker | None = None,
    signing_key: bytes = b"loa-development-key",
    files: FileStore | None = None,
    public_url: str | None = None,
) -> Loa:
    """Wire the services for `pack` over `db`, sending through `channels`; `after_turn` is told
    of every turn the inbox ran (the demo's transcript)."""
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
    Distress(pack).register(router)
    residents = Residents(
        pack,
        start_payload=reporting.start_payload,
        forget=[forget_chat, forget_inbox],
        role_start=reporting.role_start,
        role_help=reporting.role_help,
    )
    residents.register(router)
    Followers(pack, residents).register(router)  # after Residents: it wraps the text fallback
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
        ticker=ticker,
    )
    editable = frozenset(name for name, ch in channels.items() if ch.capabilities.edits)
    conversation = Conversation(
        db,
        router,
        clock,
        on_replies=dispatcher.notify,
        randomness=SystemRandomness(),
        editable=editable,
    )
    inbox = Inbox(db, conversation, clock, after_turn=after_turn)
    progress = BroadcastProgress(db, channels, clock, notify=dispatcher.notify)
    return Loa(
        progress=progress,
        coordinators=coordinators,
        clock=clock,
        db=db,
        pack=pack,
        router=router,
        conversation=conversation,
        inbox=inbox,
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
    await activate(db, pack, clock)


async def activate(db: Database, pack: CampaignPack, clock: Clock) -> None:
    """Materialise the campaign's events and reminders (idempotent)."""
    result = await activate_campaign(db, pack, now=clock.now())
    log.info("campaign %s active: %s", pack.campaign.id, result)
    reminders = await activate_reminders(db, pack, now=clock.now())
    log.info("deadline reminders: %s", reminders)


async def run_bot(settings: Settings, pack: CampaignPack, *, clock: Clock | None = None) -> None:
    """`loa run`: serve Telegram and/or Zalo until a stop signal; a restart resumes where it was.

    Raises `LeaseHeld` when another process owns the database, `RunStopped` when a receiver
    cannot go on (a rejected token) or the lease was lost.
    """
    clock = clock or SystemClock()
    asyncio.get_running_loop().set_exception_handler(asyncio_exception_handler)
    telegram_token, zalo_token = settings.bot_tokens()
    db = Database(settings.database_url)
    lease = Lease(db, clock)
    try:
        await upgrade_async(db.url)
        await lease.acquire()
        lease.keep()
        try:
            await _serve(settings, pack, clock, db, lease, telegram_token, zalo_token)
        finally:
            await lease.release()
    finally:
        await db.dispose()


async def _serve(
    settings: Settings,
    pack: CampaignPack,
    clock: Clock,
    db: Database,
    lease: Lease,
    telegram_token: str | None,
    zalo_token: str | None,
) -> None:
    await activate(db, pack, clock)
    stop = asyncio.Event()
    fatal: list[str] = []

    def give_up(line: str) -> None:
        fatal.append(line)
        stop.set()

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    # clean-up runs in the reverse order: receivers first, then the inbox, the scheduler, the
    # dispatcher (which records the sends in flight), and last the HTTP clients
    async with contextlib.AsyncExitStack() as stack:
        channels: dict[str, Channel] = {}
        limits: dict[str, ChannelLimits] = {}
        zalo_client = None
        if telegram_token is not None:
            sender = TelegramSender(telegram_token, settings.telegram_api_base_url)
            stack.push_async_callback(sender.aclose)
            channels["telegram"], limits["telegram"] = sender, ChannelLimits()
        if zalo_token is not None:
            zalo_client = ZaloClient(zalo_token, settings.zalo_api_base_url)
            stack.push_async_callback(zalo_client.aclose)
            channels["zalo"], limits["zalo"] = ZaloSender(zalo_client), ZALO_LIMITS
        oa = add_oa_channel(settings, db, clock, channels, limits)
        if oa is not None:
            stack.push_async_callback(oa.client.aclose)
        loa = build_loa(
            db=db,
            pack=pack,
            clock=clock,
            channels=channels,
            limits=limits,
            signing_key=settings.signing_key(),
            files=FileStore(settings.loa_files_dir),
        )
        telegram = None
        if telegram_token is not None:
            telegram = TelegramReceiver(
                token=telegram_token,
                base_url=settings.telegram_api_base_url,
                accept=loa.inbox.accept_many,
                clock=clock,
                on_fatal=give_up,
                profile=profile_texts(pack),
                spent_buttons=SPENT_BUTTONS,
            )
            stack.push_async_callback(telegram.stop)
            await telegram.initialize()  # the token is checked here: a bad one stops start-up
        webhook = await _bind_webhook(settings, telegram, stack) if telegram else None
        freeze_startup_heap()
        await loa.dispatcher.start()
        stack.push_async_callback(loa.dispatcher.stop)
        minute = partial(
            minute_job,
            db=db,
            pack=pack,
            clock=clock,
            notify=loa.dispatcher.notify,
            windowed=windowed_channels(channels),
        )
        scheduler = build_scheduler(sweep=minute, clock=clock)
        scheduler.start()
        stack.callback(scheduler.shutdown, wait=False)
        await loa.inbox.start()
        stack.push_async_callback(loa.inbox.stop)
        progress_stop = asyncio.Event()
        progress = asyncio.create_task(loa.progress.run(progress_stop))
        stack.push_async_callback(_stop_progress, progress_stop, progress)
        stack.push_async_callback(loa.coordinators.wait_idle)  # exports being rendered
        if telegram is not None:
            await _receive_telegram(settings, telegram, webhook, stack)
        if zalo_client is not None:
            zalo = ZaloReceiver(zalo_client, loa.inbox.accept, clock, on_fatal=give_up)
            await zalo.start()
            stack.push_async_callback(zalo.stop)
            log.info("receiving Zalo updates by long polling")
        if oa is not None:
            await _receive_oa(settings, loa, stack)
        watch = asyncio.create_task(_watch_lease(lease, give_up))
        stack.callback(watch.cancel)
        await stop.wait()
        log.info("stopping")
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.remove_signal_handler(sig)
    if fatal:
        raise RunStopped(fatal[0])


async def _stop_progress(stop: asyncio.Event, task: asyncio.Task[None]) -> None:
    stop.set()
    await task


async def _bind_webhook(
    settings: Settings, telegram: TelegramReceiver, stack: contextlib.AsyncExitStack
) -> TelegramWebhookServer | None:
    """In webhook mode, listen before anything else starts (a port in use stops start-up)."""
    if not settings.telegram_webhook_url:
        return None
    secret = settings.telegram_webhook_secret
    if secret is None:
        raise RunStopped("TELEGRAM_WEBHOOK_SECRET: required in webhook mode")
    webhook = TelegramWebhookServer(telegram, secret.get_secret_value())
    await webhook.start(
        listen=settings.telegram_webhook_listen,
        port=settings.telegram_webhook_port,
        path=webhook_path(settings.telegram_webhook_url),
    )
    stack.push_async_callback(webhook.stop)
    return webhook


async def _receive_telegram(
    settings: Settings,
    telegram: TelegramReceiver,
    webhook: TelegramWebhookServer | None,
    stack: contextlib.AsyncExitStack,
) -> None:
    """Register the webhook with Telegram (webhook mode) or start the polling loop."""
    if webhook is None or not settings.telegram_webhook_url:
        await telegram.start_polling()
        stack.push_async_callback(telegram.stop)  # stop polling before the inbox stops
        log.info("receiving Telegram updates by long polling")
        return
    secret = settings.telegram_webhook_secret
    assert secret is not None
    await telegram.set_webhook(settings.telegram_webhook_url, secret.get_secret_value())
    log.info("receiving Telegram updates by webhook")


async def _receive_oa(settings: Settings, loa: Loa, stack: contextlib.AsyncExitStack) -> None:
    """Serve the OA's webhook; events go to the durable inbox before Zalo gets its 200."""
    oa_settings = settings.zalo_oa()
    assert oa_settings is not None
    server = OaWebhookServer(oa_webhook(oa_settings, loa))
    await server.start(listen=settings.zalo_oa_webhook_listen, port=settings.zalo_oa_webhook_port)
    stack.push_async_callback(server.stop)
    log.info("receiving Zalo OA events by webhook")


async def _watch_lease(lease: Lease, give_up: Callable[[str], None]) -> None:
    await lease.lost.wait()
    give_up("the database lease was lost to another process; stopped to avoid sending twice")
