"""The composition root: the only place that builds and wires engine, services, channels, scheduler.

`build_loa` assembles the core for any set of channels (Telegram, console, the demo's); `run_bot`
is `loa run`: migrations, campaign activation, dispatcher, scheduler, the web server (webhooks and
/healthz), and each channel's polling or webhook, until SIGINT/SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from bot.channels.base import Channel
from bot.channels.telegram.receiver import TelegramReceiver
from bot.channels.telegram.sender import TelegramSender
from bot.channels.zalo.client import ZaloClient
from bot.channels.zalo.receiver import WEBHOOK_SECRET_HEADER as ZALO_SECRET_HEADER
from bot.channels.zalo.receiver import ZaloReceiver
from bot.channels.zalo.sender import ZaloSender
from bot.clock import Clock, SystemClock
from bot.config import Settings, SettingsError
from bot.delivery.dispatcher import Dispatcher
from bot.delivery.limiter import ChannelLimits
from bot.delivery.quota import Quota, QuotaBook
from bot.domain.campaign import CampaignPack
from bot.services.campaign_events import activate_campaign, quiet_predicate
from bot.services.conversation import Conversation
from bot.services.reminders import activate_reminders
from bot.services.reporting_chat import Reporting
from bot.services.residents import Residents
from bot.services.router import Router
from bot.services.zalo_plan import HiddenSenders, UserCap, quota_notice, zalo_quotas
from bot.storage.db import Database
from bot.storage.migrate import upgrade_async
from bot.storage.repos.reports import forget_chat
from bot.web.health import Activity, Health, database_probe, flag_probe
from bot.web.server import Webhook, WebServer, build_app
from scheduler import build_scheduler
from scheduler.jobs import minute_job

log = logging.getLogger(__name__)

TELEGRAM_SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # core.telegram.org/bots/api#setwebhook

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
    Residents(pack, start_payload=reporting.start_payload, forget=[forget_chat]).register(router)
    reporting.register(router)
    HiddenSenders(pack).register(router)
    dispatcher = Dispatcher(
        db,
        channels,
        clock,
        limits=limits or {name: ChannelLimits() for name in channels},
        is_quiet=quiet_predicate(pack),
        concurrency=concurrency,
        quota=QuotaBook(quotas or {}, on_closed=quota_notice),
    )
    conversation = Conversation(db, router, clock, on_replies=dispatcher.notify)
    return Loa(
        clock=clock,
        db=db,
        pack=pack,
        router=router,
        conversation=conversation,
        dispatcher=dispatcher,
        channels=channels,
    )


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
    telegram_token, zalo_token = settings.bot_tokens()
    configured = {"telegram": telegram_token, "zalo": zalo_token}
    routes = webhooks(settings, {name for name, token in configured.items() if token})
    db = Database(settings.database_url)
    await prepare_database(db, pack, clock)

    activity = Activity(clock)
    channels: dict[str, Channel] = {}
    limits: dict[str, ChannelLimits] = {}
    proxy = settings.telegram_proxy_url
    telegram_sender = zalo_client = None
    if telegram_token is not None:
        telegram_sender = TelegramSender(
            telegram_token, settings.telegram_api_base_url, proxy=proxy
        )
        channels["telegram"] = activity.track_sends(telegram_sender)
        limits["telegram"] = ChannelLimits()
    if zalo_token is not None:
        zalo_client = ZaloClient(zalo_token, settings.zalo_api_base_url)
        channels["zalo"] = activity.track_sends(ZaloSender(zalo_client))
        limits["zalo"] = ZALO_LIMITS
    loa = build_loa(
        db=db,
        pack=pack,
        clock=clock,
        channels=channels,
        limits=limits,
        quotas=zalo_quotas(settings) if zalo_token else {},
        user_caps={"zalo": settings.zalo_user_cap} if zalo_token else {},
    )
    telegram = (
        TelegramReceiver(
            token=telegram_token,
            base_url=settings.telegram_api_base_url,
            handle=activity.track_receives("telegram", loa.conversation.handle),
            clock=clock,
            proxy=proxy,
        )
        if telegram_token is not None
        else None
    )
    zalo = (
        ZaloReceiver(
            zalo_client,
            activity.track_receives("zalo", loa.conversation.handle),
            clock,
            webhook_secret=settings.webhook_secret("zalo"),
        )
        if zalo_client
        else None
    )

    async def on_update(channel: str, payload: dict[str, Any]) -> None:
        if channel == "telegram" and telegram is not None:
            await telegram.handle_payload(payload)
        elif channel == "zalo" and zalo is not None:
            await zalo.handle_payload(payload)
        else:
            raise LookupError("no receiver for this channel")

    minute = partial(minute_job, db=db, pack=pack, clock=clock, notify=loa.dispatcher.notify)
    scheduler = build_scheduler(sweep=minute, clock=clock)
    probes = {
        "database": database_probe(db),
        "scheduler": flag_probe(lambda: bool(scheduler.running)),
        "dispatcher": flag_probe(lambda: loa.dispatcher.alive),
    }
    hooked = {route.channel for route in routes}
    if telegram is not None and "telegram" not in hooked:
        probes["telegram_polling"] = flag_probe(lambda: telegram.polling)
    if zalo is not None and "zalo" not in hooked:
        probes["zalo_polling"] = flag_probe(lambda: zalo.running)
    health = Health(probes, activity, list(channels))
    web = WebServer(
        build_app(routes, on_update, health),
        listen=settings.loa_web_listen,
        port=settings.loa_web_port,
    )
    if stop is None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)

    await loa.dispatcher.start()
    scheduler.start()
    try:
        await web.start()
        if telegram is not None and settings.telegram_webhook_url:
            await telegram.start_webhook(
                url=settings.telegram_webhook_url,
                secret_token=settings.webhook_secret("telegram") or "",
            )
            log.info("receiving Telegram updates by webhook")
        elif telegram is not None:
            await telegram.start_polling()
            log.info("receiving Telegram updates by long polling")
        if zalo is not None and settings.zalo_webhook_url:
            await zalo.register_webhook(settings.zalo_webhook_url)
            log.info("receiving Zalo updates by webhook")
        elif zalo is not None:
            await zalo.start()  # removes a webhook left from an earlier run first
            log.info("receiving Zalo updates by long polling")
        await stop.wait()
    finally:
        log.info("stopping")
        await web.stop()
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
