"""Building the OA channel from its settings (called by the composition root, bot/app.py)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.channels.base import Channel
from bot.channels.zalo_oa.client import OaClient
from bot.channels.zalo_oa.sender import OaSender
from bot.channels.zalo_oa.templates import Alert, TemplateLane, TemplateSettings
from bot.channels.zalo_oa.tokens import TokenManager, TokenVault
from bot.clock import Clock
from bot.config import Settings, ZaloOaSettings
from bot.delivery.limiter import ChannelLimits
from bot.storage.db import Database


@dataclass
class OaParts:
    """The Zalo OA channel's pieces: the client to close, the sender, the webhook to serve."""

    client: OaClient
    tokens: TokenManager
    sender: OaSender
    limits: ChannelLimits


def build_oa(oa: ZaloOaSettings, db: Database, clock: Clock, alert: Alert) -> OaParts:
    """The OA sender over a sealed token store; `alert(key)` tells the coordinators (a failed
    refresh, a refused template)."""
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
        alert=lambda _reason: alert("zalo_oa.token_alert"),
    )
    # Packages allow 100 (Growth) to 2,000 (Comprehensive) requests a minute; the API doc says
    # 4,000 per app. Pace for the lowest package; -32 slows the lane further.
    limits = ChannelLimits(per_second=oa.rate_per_minute / 60.0, per_chat_per_second=1.0)
    templates = None
    if oa.template_id:
        templates = TemplateLane(TemplateSettings(oa.template_id), alert)
    sender = OaSender(client, tokens, buttons=oa.buttons, templates=templates)
    return OaParts(client, tokens, sender, limits)


def add_oa_channel(
    settings: Settings,
    db: Database,
    clock: Clock,
    channels: dict[str, Channel],
    limits: dict[str, ChannelLimits],
    alert: Alert,
) -> OaParts | None:
    """The OA channel when its settings are there (added to `channels` and `limits`)."""
    oa_settings = settings.zalo_oa()
    if oa_settings is None:
        return None
    oa = build_oa(oa_settings, db, clock, alert)
    channels["zalo_oa"], limits["zalo_oa"] = oa.sender, oa.limits
    return oa
