"""The composition root: the only place that builds and wires engine, services, channels, scheduler.

`build_loa` assembles the core for any set of channels (Telegram, console, the demo's); `run_bot`
is `loa run`: migrations, the database lease (one owner), campaign activation, the inbox worker,
dispatcher, scheduler, and Telegram polling or webhook and/or Zalo polling, until SIGINT/SIGTERM,
a lost lease, or a receiver that cannot go on (a rejected token).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import partial

from bot.channels.base import Channel, Outbound
from bot.channels.telegram.receiver import TelegramReceiver
from bot.channels.telegram.sender import TelegramSender
from bot.channels.telegram.webhook import TelegramWebhookServer, webhook_path
from bot.channels.zalo.client import ZaloClient
from bot.channels.zalo.receiver import ZaloReceiver
from bot.channels.zalo.sender import ZaloSender
from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.delivery.dispatcher import Dispatcher
from bot.delivery.limiter import ChannelLimits
from bot.domain.campaign import CampaignPack
from bot.logs import asyncio_exception_handler
from bot.services.campaign_events import activate_campaign, quiet_predicate
from bot.services.conversation import Conversation
from bot.services.distress import Distress
from bot.services.inbox import Inbox
from bot.services.inbox import forget_chat as forget_inbox
from bot.services.reminders import activate_reminders
from bot.services.reporting_chat import Reporting
from bot.services.residents import Residents
from bot.services.router import Router
from bot.storage.db import Database
from bot.storage.lease import Lease
from bot.storage.migrate import upgrade_async
from bot.storage.repos.reports import forget_chat
from scheduler import build_scheduler
from scheduler.jobs import minute_job

log = logging.getLogger(__name__)

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
    inbox: Inbox
    dispatcher: Dispatcher
    channels: Mapping[str, Channel]


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
) -> Loa:
    """Wire the services for `pack` over `db`, sending through `channels`; `after_turn` is told
    of every turn the inbox ran (the demo's transcript)."""
    router = Router()
    reporting = Reporting(pack)
    Distress(pack).register(router)
    Residents(
        pack, start_payload=reporting.start_payload, forget=[forget_chat, forget_inbox]
    ).register(router)
    reporting.register(router)
    dispatcher = Dispatcher(
        db,
        channels,
        clock,
        limits=limits or {name: ChannelLimits() for name in channels},
        is_quiet=quiet_predicate(pack),
        concurrency=concurrency,
    )
    conversation = Conversation(db, router, clock, on_replies=dispatcher.notify)
    inbox = Inbox(db, conversation, clock, after_turn=after_turn)
    return Loa(
        clock=clock,
        db=db,
        pack=pack,
        router=router,
        conversation=conversation,
        inbox=inbox,
        dispatcher=dispatcher,
        channels=channels,
    )


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
    channels: dict[str, Channel] = {}
    limits: dict[str, ChannelLimits] = {}
    telegram_sender = zalo_client = None
    if telegram_token is not None:
        telegram_sender = TelegramSender(telegram_token, settings.telegram_api_base_url)
        channels["telegram"], limits["telegram"] = telegram_sender, ChannelLimits()
    if zalo_token is not None:
        zalo_client = ZaloClient(zalo_token, settings.zalo_api_base_url)
        channels["zalo"], limits["zalo"] = ZaloSender(zalo_client), ZALO_LIMITS
    loa = build_loa(db=db, pack=pack, clock=clock, channels=channels, limits=limits)
    stop = asyncio.Event()
    fatal: list[str] = []

    def give_up(line: str) -> None:
        fatal.append(line)
        stop.set()

    telegram = (
        TelegramReceiver(
            token=telegram_token,
            base_url=settings.telegram_api_base_url,
            accept=loa.inbox.accept_many,
            clock=clock,
            on_fatal=give_up,
        )
        if telegram_token is not None
        else None
    )
    zalo = (
        ZaloReceiver(zalo_client, loa.inbox.accept, clock, on_fatal=give_up)
        if zalo_client
        else None
    )
    webhook: TelegramWebhookServer | None = None

    minute = partial(minute_job, db=db, pack=pack, clock=clock, notify=loa.dispatcher.notify)
    scheduler = build_scheduler(sweep=minute, clock=clock)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    watch = asyncio.create_task(_watch_lease(lease, give_up))

    try:
        if telegram is not None:
            await telegram.initialize()  # the token is checked here: a bad one stops start-up
        await loa.inbox.start()
        await loa.dispatcher.start()
        scheduler.start()
        if telegram is not None and settings.telegram_webhook_url:
            secret = settings.telegram_webhook_secret
            if secret is None:
                raise RunStopped("TELEGRAM_WEBHOOK_SECRET: required in webhook mode")
            webhook = TelegramWebhookServer(telegram, secret.get_secret_value())
            await webhook.start(
                listen=settings.telegram_webhook_listen,
                port=settings.telegram_webhook_port,
                path=webhook_path(settings.telegram_webhook_url),
            )
            await telegram.set_webhook(settings.telegram_webhook_url, secret.get_secret_value())
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
        watch.cancel()
        if zalo is not None:
            await zalo.stop()
        if webhook is not None:
            await webhook.stop()
        if telegram is not None:
            await telegram.stop()
        await loa.inbox.stop()
        scheduler.shutdown(wait=False)
        await loa.dispatcher.stop()
        if telegram_sender is not None:
            await telegram_sender.aclose()
        if zalo_client is not None:
            await zalo_client.aclose()
    if fatal:
        raise RunStopped(fatal[0])


async def _watch_lease(lease: Lease, give_up: Callable[[str], None]) -> None:
    await lease.lost.wait()
    give_up("the database lease was lost to another process; stopped to avoid sending twice")
