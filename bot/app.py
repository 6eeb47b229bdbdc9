"""The composition root: the only place that builds and wires engine, services, channels, scheduler.

`build_loa` assembles the core for any set of channels (Telegram, console, the demo's); `run_bot`
is `loa run`: migrations, campaign activation, dispatcher, scheduler, the web server (webhooks and
/healthz), and each channel's polling or webhook, until SIGINT/SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from bot.adoption.profile import profile_texts
from bot.campaign.events import activate_campaign, quiet_predicate
from bot.channels.base import Channel
from bot.channels.telegram.receiver import InboundHandler, Profile, TelegramReceiver
from bot.channels.telegram.sender import TelegramSender
from bot.channels.zalo.client import ZaloClient
from bot.channels.zalo.receiver import WEBHOOK_SECRET_HEADER as ZALO_SECRET_HEADER
from bot.channels.zalo.receiver import ZaloReceiver
from bot.channels.zalo.sender import ZaloSender
from bot.chat.conversation import Conversation
from bot.chat.router import Router
from bot.clock import Clock, SystemClock, SystemRandomness
from bot.config import Settings, SettingsError
from bot.delivery.dispatcher import ChatEvents, Dispatcher
from bot.delivery.limiter import ChannelLimits
from bot.delivery.quota import Quota, QuotaBook
from bot.domain.campaign import CampaignPack
from bot.reporting.chat import SPENT_BUTTONS, Reporting
from bot.reporting.reminders import activate_reminders
from bot.reporting.repository import forget_chat
from bot.residents.chat import Residents
from bot.residents.hidden import HiddenSenders
from bot.residents.repository import on_chat_blocked, on_chat_migrated
from bot.storage.db import Database
from bot.storage.migrate import upgrade_async
from bot.web.health import Activity, Health, Probe, database_probe, flag_probe
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


def build_loa(
    *,
    db: Database,
    pack: CampaignPack,
    clock: Clock,
    channels: Mapping[str, Channel],
    limits: Mapping[str, ChannelLimits] | None = None,
    concurrency: int = 64,
    quotas: Mapping[str, Quota] | None = None,
    user_caps: Mapping[str, int] | None = None,
) -> Loa:
    """Wire the services for `pack` over `db`, sending through `channels`; `quotas` and
    `user_caps` are the plan limits of channels that have them (the Zalo Bot)."""
    router = Router()
    for channel, cap in (user_caps or {}).items():
        UserCap(channel, cap).register(router)
    reporting = Reporting(pack)
    Residents(
        pack,
        start_payload=reporting.start_payload,
        forget=[forget_chat],
        role_start=reporting.role_start,
        role_help=reporting.role_help,
    ).register(router)
    reporting.register(router)
    HiddenSenders(pack).register(router)
    dispatcher = Dispatcher(
        db,
        channels,
        clock,
        limits=limits or {name: ChannelLimits() for name in channels},
        chats=CHAT_EVENTS,
        is_quiet=quiet_predicate(pack),
        concurrency=concurrency,
        quota=QuotaBook(quotas or {}, on_closed=quota_notice),
    )
    conversation = Conversation(
        db, router, clock, on_replies=dispatcher.notify, randomness=SystemRandomness()
    )
    return Loa(
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


@dataclass
class Messengers:
    """The platforms' senders and receivers of one `loa run`, and what they do together."""

    channels: dict[str, Channel] = field(default_factory=dict)
    limits: dict[str, ChannelLimits] = field(default_factory=dict)
    telegram_sender: TelegramSender | None = None
    zalo_client: ZaloClient | None = None
    telegram: TelegramReceiver | None = None
    zalo: ZaloReceiver | None = None

    @classmethod
    def senders(cls, settings: Settings, activity: Activity) -> Messengers:
        """The senders of every configured platform (Telegram through its proxy, if any)."""
        telegram_token, zalo_token = settings.bot_tokens()
        parts = cls()
        if telegram_token is not None:
            parts.telegram_sender = TelegramSender(
                telegram_token, settings.telegram_api_base_url, proxy=settings.telegram_proxy_url
            )
            parts.channels["telegram"] = activity.track_sends(parts.telegram_sender)
            parts.limits["telegram"] = ChannelLimits()
        if zalo_token is not None:
            parts.zalo_client = ZaloClient(zalo_token, settings.zalo_api_base_url)
            parts.channels["zalo"] = activity.track_sends(ZaloSender(parts.zalo_client))
            parts.limits["zalo"] = ZALO_LIMITS
        return parts

    def add_receivers(
        self,
        settings: Settings,
        handle: InboundHandler,
        activity: Activity,
        clock: Clock,
        profile: Profile | None = None,
    ) -> None:
        """The receivers, handing every update to `handle`."""
        telegram_token = settings.telegram_token()
        if telegram_token is not None:
            self.telegram = TelegramReceiver(
                token=telegram_token,
                base_url=settings.telegram_api_base_url,
                handle=activity.track_receives("telegram", handle),
                clock=clock,
                proxy=settings.telegram_proxy_url,
                profile=profile,
                spent_buttons=SPENT_BUTTONS,
            )
        if self.zalo_client is not None:
            self.zalo = ZaloReceiver(
                self.zalo_client,
                activity.track_receives("zalo", handle),
                clock,
                webhook_secret=settings.webhook_secret("zalo"),
            )

    async def on_update(self, channel: str, payload: dict[str, Any]) -> None:
        """A webhook's update: handled by its channel's receiver (raises when it failed)."""
        if channel == "telegram" and self.telegram is not None:
            await self.telegram.handle_payload(payload)
        elif channel == "zalo" and self.zalo is not None:
            await self.zalo.handle_payload(payload)
        else:
            raise LookupError("no receiver for this channel")

    def polling_probes(self, hooked: Collection[str]) -> dict[str, Probe]:
        """A health probe for each receiver that polls (webhooks are the web server's)."""
        probes: dict[str, Probe] = {}
        telegram, zalo = self.telegram, self.zalo
        if telegram is not None and "telegram" not in hooked:
            probes["telegram_polling"] = flag_probe(lambda: telegram.polling)
        if zalo is not None and "zalo" not in hooked:
            probes["zalo_polling"] = flag_probe(lambda: zalo.running)
        return probes

    async def start_receiving(self, settings: Settings) -> None:
        """Set each platform's webhook, or poll (removing a webhook left from an earlier run)."""
        if self.telegram is not None and settings.telegram_webhook_url:
            await self.telegram.start_webhook(
                url=settings.telegram_webhook_url,
                secret_token=settings.webhook_secret("telegram") or "",
            )
            log.info("receiving Telegram updates by webhook")
        elif self.telegram is not None:
            await self.telegram.start_polling()
            log.info("receiving Telegram updates by long polling")
        if self.zalo is not None and settings.zalo_webhook_url:
            await self.zalo.register_webhook(settings.zalo_webhook_url)
            log.info("receiving Zalo updates by webhook")
        elif self.zalo is not None:
            await self.zalo.start()
            log.info("receiving Zalo updates by long polling")

    async def stop_receiving(self) -> None:
        """Stop the receivers."""
        if self.zalo is not None:
            await self.zalo.stop()
        if self.telegram is not None:
            await self.telegram.stop()

    async def close(self) -> None:
        """Close the senders' connections."""
        if self.telegram_sender is not None:
            await self.telegram_sender.aclose()
        if self.zalo_client is not None:
            await self.zalo_client.aclose()


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    return stop


def _forget_signals() -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.remove_signal_handler(sig)


async def run_bot(
    settings: Settings,
    pack: CampaignPack,
    *,
    clock: Clock | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """`loa run`: serve Telegram and/or Zalo until a stop signal (or `stop` is set); a restart
    resumes where it was."""
    clock = clock or SystemClock()
    configured = settings.configured_channels()
    settings.bot_tokens()  # refuses a missing or malformed token before anything starts
    routes = webhooks(settings, configured)
    db = Database(settings.database_url)
    await prepare_database(db, pack, clock)

    activity = Activity(clock)
    parts = Messengers.senders(settings, activity)
    zalo = "zalo" in parts.channels
    loa = build_loa(
        db=db,
        pack=pack,
        clock=clock,
        channels=parts.channels,
        limits=parts.limits,
        quotas=zalo_quotas(settings) if zalo else {},
        user_caps={"zalo": settings.zalo_user_cap} if zalo else {},
    )
    parts.add_receivers(settings, loa.conversation.handle, activity, clock, profile_texts(pack))
    minute = partial(minute_job, db=db, pack=pack, clock=clock, notify=loa.dispatcher.notify)
    scheduler = build_scheduler(sweep=minute, clock=clock)
    probes = {
        "database": database_probe(db),
        "scheduler": flag_probe(lambda: bool(scheduler.running)),
        "dispatcher": flag_probe(lambda: loa.dispatcher.alive),
        **parts.polling_probes({route.channel for route in routes}),
    }
    health = Health(probes, activity, list(parts.channels))
    web = WebServer(
        build_app(routes, parts.on_update, health),
        listen=settings.loa_web_listen,
        port=settings.loa_web_port,
    )
    own_signals = stop is None
    stop = stop or _stop_on_signals()
    freeze_startup_heap()
    try:
        await loa.dispatcher.start()
        scheduler.start()
        await web.start()
        await parts.start_receiving(settings)
        await stop.wait()
    finally:
        log.info("stopping")
        await web.stop()
        await parts.stop_receiving()
        if scheduler.running:
            scheduler.shutdown(wait=False)
        await loa.dispatcher.stop()
        await parts.close()
        await db.dispose()
        if own_signals:
            _forget_signals()
