"""The composition root: the only place that builds and wires engine, services, channels, scheduler.

`build_loa` assembles the core for any set of channels (Telegram, console, the demo's); `run_bot`
is `loa run`: migrations, the database lease (one owner), campaign activation, the inbox worker,
dispatcher, scheduler, the one web server (webhooks and /healthz), and each channel's polling or
webhook, until SIGINT/SIGTERM, a lost lease, or a receiver that cannot go on (a rejected token).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from bot.adoption.profile import profile_texts
from bot.campaign.events import activate_campaign, quiet_predicate
from bot.channels.base import Channel, Outbound
from bot.channels.telegram.receiver import TelegramReceiver
from bot.channels.telegram.sender import TelegramSender
from bot.channels.zalo.client import ZaloClient
from bot.channels.zalo.receiver import WEBHOOK_SECRET_HEADER as ZALO_SECRET_HEADER
from bot.channels.zalo.receiver import ZaloReceiver
from bot.channels.zalo.sender import ZaloSender
from bot.channels.zalo_oa.server import oa_route
from bot.channels.zalo_oa.webhook import OaWebhook
from bot.channels.zalo_oa.wiring import add_oa_channel
from bot.chat.conversation import Conversation
from bot.chat.inbox import Inbox
from bot.chat.inbox import forget_chat as forget_inbox
from bot.chat.router import Router
from bot.clock import Clock, SystemClock, SystemRandomness, Ticker
from bot.config import Settings, SettingsError, ZaloOaSettings
from bot.coordinators.broadcast_chat import BroadcastChat
from bot.coordinators.chat import Coordinators
from bot.coordinators.filestore import FileStore
from bot.coordinators.progress import BroadcastProgress
from bot.delivery.dispatcher import ChatEvents, Dispatcher
from bot.delivery.limiter import ChannelLimits
from bot.delivery.quota import Quota, QuotaBook
from bot.delivery.templates import TemplateNotices, oa_notices
from bot.delivery.window import HOLD_FOR
from bot.domain.campaign import CampaignPack
from bot.logs import asyncio_exception_handler
from bot.reporting.alerts import alert_coordinators
from bot.reporting.chat import SPENT_BUTTONS, Reporting
from bot.reporting.reminders import activate_reminders
from bot.reporting.repository import forget_chat
from bot.residents.chat import Residents
from bot.residents.distress import Distress
from bot.residents.followers import Followers
from bot.residents.groups import follow_group_renames
from bot.residents.hidden import HiddenSenders
from bot.residents.repository import on_chat_blocked, on_chat_migrated
from bot.storage.db import Database
from bot.storage.lease import Lease
from bot.storage.migrate import upgrade_async
from bot.web.files import file_routes
from bot.web.health import Activity, Health, database_probe, flag_probe
from bot.web.server import Webhook, WebServer, build_app
from bot.zalo_plan.limits import UserCap, quota_notice, zalo_quotas
from scheduler import build_scheduler
from scheduler.jobs import minute_job

log = logging.getLogger(__name__)

TELEGRAM_SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # core.telegram.org/bots/api#setwebhook

# What a chat that blocked the bot or moved to a new id means outside the outbox: the residents'
# subscriptions follow it.
CHAT_EVENTS = ChatEvents(blocked=on_chat_blocked, migrated=on_chat_migrated)

# Zalo publishes no Bot API send limits: stay well under anything plausible; 429s slow it further.
ZALO_LIMITS = ChannelLimits(per_second=20.0, per_chat_per_second=1.0)


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
    quotas: Mapping[str, Quota] | None = None,
    user_caps: Mapping[str, int] | None = None,
    ticker: Ticker | None = None,
    signing_key: bytes = b"loa-development-key",
    files: FileStore | None = None,
    public_url: str | None = None,
    hold_for: timedelta = HOLD_FOR,
    templates: Mapping[str, TemplateNotices] | None = None,
) -> Loa:
    """Wire the services for `pack` over `db`, sending through `channels`; `after_turn` is told
    of every turn the inbox ran (the demo's transcript); `quotas` and `user_caps` are the plan
    limits of channels that have them (the Zalo Bot)."""
    router = Router()
    for channel, cap in (user_caps or {}).items():
        UserCap(channel, cap).register(router)
    coordinators = Coordinators(
        pack,
        db=db,
        notify=lambda: dispatcher.notify(),
        key=signing_key,
        files=files or FileStore(Settings.model_fields["loa_files_dir"].default),
        file_channels=[name for name, ch in channels.items() if ch.capabilities.files],
        public_url=public_url,
        template_quota={k: lane.daily_quota for k, lane in (templates or {}).items()},
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
    HiddenSenders(pack).register(router)
    coordinators.register(router)
    capabilities = {name: channel.capabilities for name, channel in channels.items()}
    BroadcastChat(pack, key=signing_key, channels=capabilities).register(router)
    dispatcher = Dispatcher(
        db,
        channels,
        clock,
        limits=limits or {name: ChannelLimits() for name in channels},
        chats=CHAT_EVENTS,
        is_quiet=quiet_predicate(pack),
        concurrency=concurrency,
        quota=QuotaBook(quotas or {}, on_closed=quota_notice),
        ticker=ticker,
        hold_for=hold_for,
        templates=templates,
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
    progress = BroadcastProgress(db, clock, editable=editable, notify=dispatcher.notify)
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
    await follow_group_renames(db, pack)


def webhooks(settings: Settings, channels: Collection[str]) -> list[Webhook]:
    """The webhook routes `loa run` serves: one per configured channel with a webhook URL."""
    urls = {"telegram": settings.telegram_webhook_url, "zalo": settings.zalo_webhook_url}
    headers = {"telegram": TELEGRAM_SECRET_HEADER, "zalo": ZALO_SECRET_HEADER}
    routes = []
    for channel, url in urls.items():
        if url is None or channel not in channels:
            continue
        secret = settings.webhook_secret(channel)
        if secret is None:
            name = f"{channel.upper()}_WEBHOOK_SECRET"
            raise SettingsError(f"{name}: required with {channel.upper()}_WEBHOOK_URL")
        routes.append(Webhook(channel, urlsplit(url).path or "/", secret, headers[channel]))
    paths = [route.path for route in routes]
    if len(set(paths)) != len(paths):
        raise SettingsError("TELEGRAM_WEBHOOK_URL: must not have the same path as ZALO_WEBHOOK_URL")
    return routes


async def run_bot(
    settings: Settings,
    pack: CampaignPack,
    *,
    clock: Clock | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """`loa run`: serve Telegram and/or Zalo until a stop signal; a restart resumes where it was.

    Raises `LeaseHeld` when another process owns the database, `RunStopped` when a receiver
    cannot go on (a rejected token) or the lease was lost.
    """
    clock = clock or SystemClock()
    asyncio.get_running_loop().set_exception_handler(asyncio_exception_handler)
    settings.bot_tokens()  # refuses a missing or malformed token before anything starts
    webhooks(settings, settings.configured_channels())  # refuses a webhook without its secret
    db = Database(settings.database_url)
    lease = Lease(db, clock)
    try:
        await upgrade_async(db.url)
        await lease.acquire()
        lease.keep()
        try:
            await _serve(settings, pack, clock, db, lease, stop)
        finally:
            await lease.release()
    finally:
        await db.dispose()


async def _serve(  # noqa: C901 - one flat start-up sequence, each step one line
    settings: Settings,
    pack: CampaignPack,
    clock: Clock,
    db: Database,
    lease: Lease,
    stop: asyncio.Event | None,
) -> None:
    await activate(db, pack, clock)
    own_signals = stop is None
    stop = stop or asyncio.Event()
    fatal: list[str] = []

    def give_up(line: str) -> None:
        fatal.append(line)
        stop.set()

    loop = asyncio.get_running_loop()
    if own_signals:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
    telegram_token, zalo_token = settings.bot_tokens()
    routes = webhooks(settings, settings.configured_channels())
    activity = Activity(clock)
    # clean-up runs in the reverse order: receivers first, then the inbox, the scheduler, the
    # dispatcher (which records the sends in flight), the web server, and last the HTTP clients
    async with contextlib.AsyncExitStack() as stack:
        channels: dict[str, Channel] = {}
        limits: dict[str, ChannelLimits] = {}
        zalo_client = None
        if telegram_token is not None:
            sender = TelegramSender(
                telegram_token, settings.telegram_api_base_url, proxy=settings.telegram_proxy_url
            )
            stack.push_async_callback(sender.aclose)
            channels["telegram"] = activity.track_sends(sender)
            limits["telegram"] = ChannelLimits()
        if zalo_token is not None:
            zalo_client = ZaloClient(zalo_token, settings.zalo_api_base_url)
            stack.push_async_callback(zalo_client.aclose)
            channels["zalo"], limits["zalo"] = (
                activity.track_sends(ZaloSender(zalo_client)),
                ZALO_LIMITS,
            )
        oa = add_oa_channel(
            settings, db, clock, channels, limits, partial(alert_coordinators, db, clock)
        )
        if oa is not None:
            stack.push_async_callback(oa.client.aclose)
            channels["zalo_oa"] = activity.track_sends(channels["zalo_oa"])
        loa = build_loa(
            db=db,
            pack=pack,
            clock=clock,
            channels=channels,
            limits=limits,
            quotas=zalo_quotas(settings) if zalo_client else {},
            user_caps={"zalo": settings.zalo_user_cap} if zalo_client else {},
            signing_key=settings.signing_key(),
            files=FileStore(settings.loa_files_dir),
            public_url=settings.loa_public_url,
            hold_for=timedelta(days=settings.zalo_oa_hold_days),
            templates=oa_notices(settings.zalo_oa(), pack.campaign.locality) if oa else None,
        )
        telegram = zalo = None
        if telegram_token is not None:
            telegram = TelegramReceiver(
                token=telegram_token,
                base_url=settings.telegram_api_base_url,
                accept=activity.track_receives("telegram", loa.inbox.accept_many),
                clock=clock,
                proxy=settings.telegram_proxy_url,
                on_fatal=give_up,
                profile=profile_texts(pack),
                spent_buttons=SPENT_BUTTONS,
            )
            stack.push_async_callback(telegram.stop)
            await telegram.initialize()  # the token is checked here: a bad one stops start-up
        if zalo_client is not None:
            zalo = ZaloReceiver(
                zalo_client,
                activity.track_receives("zalo", loa.inbox.accept),
                clock,
                webhook_secret=settings.webhook_secret("zalo"),
                on_fatal=give_up,
            )

        async def on_update(channel: str, payload: dict[str, Any]) -> None:
            if channel == "telegram" and telegram is not None:
                await telegram.handle_payload(payload)
            elif channel == "zalo" and zalo is not None:
                await zalo.handle_payload(payload)
            else:
                raise LookupError("no receiver for this channel")

        minute = partial(
            minute_job,
            db=db,
            pack=pack,
            clock=clock,
            notify=loa.dispatcher.notify,
            windowed=windowed_channels(channels),
        )
        scheduler = build_scheduler(sweep=minute, clock=clock)
        hooked = {route.channel for route in routes}
        probes = {
            "database": database_probe(db),
            "scheduler": flag_probe(lambda: bool(scheduler.running)),
            "dispatcher": flag_probe(lambda: loa.dispatcher.alive),
        }
        if telegram is not None and "telegram" not in hooked:
            probes["telegram_polling"] = flag_probe(lambda: telegram.polling)
        if zalo is not None and "zalo" not in hooked:
            probes["zalo_polling"] = flag_probe(lambda: zalo.running)
        # the OA's webhook checks its own signature (bot/channels/zalo_oa/webhook.py)
        oa_settings = settings.zalo_oa() if oa is not None else None
        more = file_routes(loa.coordinators.key, loa.coordinators.files, clock)  # signed links
        if oa_settings is not None:
            more.append(oa_route(oa_webhook(oa_settings, loa)))
        web = WebServer(
            build_app(routes, on_update, Health(probes, activity, list(channels)), more=more),
            listen=settings.loa_web_listen,
            port=settings.loa_web_port,
        )
        await web.start()  # listen before anything else starts (a port in use stops start-up)
        stack.push_async_callback(web.stop)
        freeze_startup_heap()
        await loa.dispatcher.start()
        stack.push_async_callback(loa.dispatcher.stop)
        scheduler.start()
        stack.callback(scheduler.shutdown, wait=False)
        await loa.inbox.start()
        stack.push_async_callback(loa.inbox.stop)
        progress_stop = asyncio.Event()
        progress = asyncio.create_task(loa.progress.run(progress_stop))
        stack.push_async_callback(_stop_progress, progress_stop, progress)
        stack.push_async_callback(loa.coordinators.wait_idle)  # exports being rendered
        if telegram is not None and settings.telegram_webhook_url:
            secret = settings.webhook_secret("telegram")
            await telegram.set_webhook(settings.telegram_webhook_url, secret)
            log.info("receiving Telegram updates by webhook")
        elif telegram is not None:
            await telegram.start_polling()
            stack.push_async_callback(telegram.stop)  # stop polling before the inbox stops
            log.info("receiving Telegram updates by long polling")
        if zalo is not None and settings.zalo_webhook_url:
            await zalo.register_webhook(settings.zalo_webhook_url)
            log.info("receiving Zalo updates by webhook")
        elif zalo is not None:
            await zalo.start()  # removes a webhook left from an earlier run first
            stack.push_async_callback(zalo.stop)
            log.info("receiving Zalo updates by long polling")
        watch = asyncio.create_task(_watch_lease(lease, give_up))
        stack.callback(watch.cancel)
        await stop.wait()
        log.info("stopping")
    if own_signals:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.remove_signal_handler(sig)
    if fatal:
        raise RunStopped(fatal[0])


async def _stop_progress(stop: asyncio.Event, task: asyncio.Task[None]) -> None:
    stop.set()
    await task


async def _watch_lease(lease: Lease, give_up: Callable[[str], None]) -> None:
    await lease.lost.wait()
    give_up("the database lease was lost to another process; stopped to avoid sending twice")
