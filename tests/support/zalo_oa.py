"""Pytest plugin for the Zalo OA channel: the fake OA on a shared fake clock, a logged-in token
manager, and `OaHarness`, the whole core behind the real webhook path."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

import pytest
from sqlalchemy import and_, or_
from sqlmodel import col, select

from bot.app import Loa, build_loa
from bot.campaign.events import activate_campaign, sweep_due
from bot.channels.zalo_oa.client import OaClient
from bot.channels.zalo_oa.login import new_pkce
from bot.channels.zalo_oa.sender import OaSender
from bot.channels.zalo_oa.server import PATH as OA_PATH
from bot.channels.zalo_oa.server import oa_app
from bot.channels.zalo_oa.templates import TemplateLane, TemplateSettings
from bot.channels.zalo_oa.tokens import TokenManager, TokenVault, new_key
from bot.channels.zalo_oa.webhook import OaWebhook
from bot.clock import FakeClock, FakeTicker
from bot.delivery.dispatcher import POLL_S
from bot.delivery.limiter import ChannelLimits
from bot.delivery.templates import TemplateNotices
from bot.domain.campaign import CampaignPack
from bot.reporting.alerts import alert_coordinators
from bot.storage.db import Database
from bot.storage.models import OutboxMessage
from bot.web.server import WebServer
from fakes.calls import SentCall
from fakes.zalo_oa import FakeZaloOa

OA_START = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


@pytest.fixture
def oa_clock() -> FakeClock:
    """One clock for the fake OA and the bot."""
    return FakeClock(OA_START)


@pytest.fixture
async def fake_oa(oa_clock: FakeClock) -> AsyncIterator[FakeZaloOa]:
    """A started fake OA platform."""
    async with FakeZaloOa(clock=oa_clock) as server:
        yield server


@pytest.fixture
async def oa_client(fake_oa: FakeZaloOa) -> AsyncIterator[OaClient]:
    """A client of the fake OA with the fake's app id and secret."""
    client = OaClient(
        app_id=fake_oa.app_id,
        app_secret=fake_oa.app_secret,
        oauth_base_url=fake_oa.url,
        api_base_url=fake_oa.url,
    )
    yield client
    await client.aclose()


@pytest.fixture
def token_key() -> str:
    """A fresh sealing key."""
    return new_key()


@pytest.fixture
async def oa_tokens(
    fake_oa: FakeZaloOa,
    oa_client: OaClient,
    sqlite_db: Database,
    token_key: str,
    oa_clock: FakeClock,
) -> TokenManager:
    """A token manager after a completed login (the first pair stored sealed)."""
    vault = TokenVault(sqlite_db, fake_oa.oa_id, token_key)
    await logged_in(fake_oa, oa_client, vault)
    return TokenManager(oa_client, vault, oa_clock)


async def logged_in(fake: FakeZaloOa, client: OaClient, vault: TokenVault) -> None:
    """Do what `loa zalo-oa login` does, against the fake: grant, exchange, store."""
    pkce = new_pkce()
    code = fake.authorize(pkce.challenge)
    pair = await client.token_from_code(code, pkce.verifier, now=fake.clock.now())
    await vault.store(pair, now=fake.clock.now(), after=None)


def rendered(call: SentCall) -> str:
    """What the person sees: the text, and the buttons as «[A | B]» on a last line."""
    message = call.params["message"]
    if "text" in message:
        return str(message["text"])
    payload = message["attachment"]["payload"]
    labels = " | ".join(button["title"] for button in payload["buttons"])
    return f"{payload['text']}\n[{labels}]"


@dataclass
class OaHarness:
    """The core wired to the fake OA: events through the signed webhook over HTTP into the
    durable inbox (drained on demand), replies
    through the outbox, the real dispatcher loops on a FakeTicker (pauses pass in virtual time;
    rows due later wait for `advance` of the wall clock)."""

    fake: FakeZaloOa
    loa: Loa
    webhook: OaWebhook
    clock: FakeClock
    ticker: FakeTicker

    def seen(self, user: str) -> list[str]:
        """Everything the person received so far."""
        return [rendered(call) for call in self.fake.sent_to(user)]

    async def drain(self) -> int:
        """Let the dispatcher send what is due: until no due row is pending or in flight after
        two more claim passes; returns how many messages the fake OA accepted meanwhile."""
        before = len(self.fake.sent.calls)
        async with asyncio.timeout(120):
            while True:
                self.loa.dispatcher.notify()
                await self.ticker.until_waits(POLL_S, self.ticker.waits(POLL_S) + 2)
                if not await self._busy():
                    return len(self.fake.sent.calls) - before

    async def _busy(self) -> bool:
        now = self.clock.now()
        async with self.loa.db.session() as session:
            row = await session.execute(
                select(col(OutboxMessage.id))
                .where(
                    or_(
                        col(OutboxMessage.status) == "sending",
                        and_(
                            col(OutboxMessage.status) == "pending",
                            col(OutboxMessage.next_attempt_at) <= now,
                        ),
                    )
                )
                .limit(1)
            )
            return row.first() is not None

    async def _answer(self, user: str, status: int) -> list[str]:
        assert status == 200
        before = len(self.fake.sent_to(user))
        await self.loa.inbox.drain()  # the turns of what the webhook stored
        await self.drain()
        return self.seen(user)[before:]

    async def follow(self, user: str) -> list[str]:
        """The person follows the OA; returns what they received in answer."""
        return await self._answer(user, await self.fake.follow(user))

    async def say(self, user: str, text: str) -> list[str]:
        """The person writes (or taps a button whose payload is `text`)."""
        return await self._answer(user, await self.fake.user_text(user, text))

    async def sticker(self, user: str) -> list[str]:
        """The person sends a sticker."""
        return await self._answer(user, await self.fake.user_sticker(user))

    def advance(self, delta: timedelta) -> None:
        """Move the wall clock (the fake OA and the core share it)."""
        self.clock.advance(delta)

    async def daily_post(self) -> int:
        """Run the campaign sweep now (OA posts carry the renewal) and send; rows queued."""
        result = await sweep_due(
            self.loa.db, self.loa.pack, now=self.clock.now(), windowed=WINDOWED
        )
        await self.drain()
        return result.enqueued


WINDOWED: Sequence[str] = ("zalo_oa",)


@asynccontextmanager
async def oa_harness(
    db: Database,
    pack: CampaignPack,
    clock: FakeClock,
    *,
    templates: TemplateNotices | None = None,
    template_id: str = "480001",
) -> AsyncIterator[OaHarness]:
    """Start the fake OA, log in, build the core with the OA channel and serve its webhook;
    with `templates`, the OA's template lane is on (template `template_id`)."""
    await activate_campaign(db, pack, now=clock.now())
    async with FakeZaloOa(clock=clock) as fake:
        client = OaClient(
            app_id=fake.app_id,
            app_secret=fake.app_secret,
            oauth_base_url=fake.url,
            api_base_url=fake.url,
        )
        vault = TokenVault(db, fake.oa_id, new_key())
        await logged_in(fake, client, vault)
        lane = None
        if templates is not None:
            lane = TemplateLane(
                TemplateSettings(template_id), partial(alert_coordinators, db, clock)
            )
        sender = OaSender(client, TokenManager(client, vault, clock), templates=lane)
        limits = {"zalo_oa": ChannelLimits(per_second=math.inf, per_chat_per_second=math.inf)}
        ticker = FakeTicker()
        loa = build_loa(
            db=db,
            pack=pack,
            clock=clock,
            channels={"zalo_oa": sender},
            limits=limits,
            ticker=ticker,
            templates={"zalo_oa": templates} if templates is not None else None,
        )
        webhook = OaWebhook(
            app_id=fake.app_id, secret=fake.oa_secret, handle=loa.inbox.accept, clock=clock
        )

        server = WebServer(oa_app(webhook), listen="127.0.0.1", port=0)  # the product's route
        await server.start()
        fake.webhook_url = f"http://127.0.0.1:{server.port}{OA_PATH}"
        await loa.dispatcher.start()
        try:
            yield OaHarness(fake, loa, webhook, clock, ticker)
        finally:
            await loa.dispatcher.stop()
            await server.stop()
            await client.aclose()
