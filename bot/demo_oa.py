"""The Zalo OA part of `loa demo`: a resident follows the ward's Official Account, subscribes,
gets the day's post with its one-tap renewal, and asks for help.

Everything is local: the fake OA (fakes/zalo_oa.py) issues the tokens through the same OAuth v4
exchange `loa zalo-oa login` makes, delivers signed webhook events over HTTP to the OA webhook
handler, and receives the consultation messages the dispatcher sends.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, time, timedelta
from typing import Any

from bot.app import build_loa
from bot.campaign.events import sweep_due
from bot.channels.base import Outbound
from bot.channels.zalo_oa.client import OaClient
from bot.channels.zalo_oa.login import new_pkce
from bot.channels.zalo_oa.sender import OaSender
from bot.channels.zalo_oa.server import PATH as OA_PATH
from bot.channels.zalo_oa.server import oa_app
from bot.channels.zalo_oa.tokens import TokenManager, TokenVault, new_key
from bot.channels.zalo_oa.webhook import OaWebhook
from bot.clock import VN_TZ, FakeClock
from bot.delivery.limiter import ChannelLimits
from bot.domain.campaign import CampaignPack
from bot.storage.db import Database
from bot.web.server import WebServer
from fakes.calls import SentCall
from fakes.zalo_oa import FakeZaloOa
from messages import t

HOA = "2468458835296117922"  # OA user ids are long numbers, kept as text


def _shown(call: SentCall) -> tuple[str, list[str]]:
    """The text and the button titles of a consultation message."""
    message: dict[str, Any] = call.params["message"]
    if "text" in message:
        return str(message["text"]), []
    payload = message["attachment"]["payload"]
    return str(payload["text"]), [str(button["title"]) for button in payload["buttons"]]


class OaDemo:
    """Drives one resident through the OA and prints what she sees."""

    def __init__(self, fake: FakeZaloOa, emit: Any, bot: Any) -> None:
        self.fake = fake
        self._emit = emit  # (line) -> None
        self._bot = bot  # (text, buttons) -> None
        self._replies: asyncio.Queue[int] = asyncio.Queue()

    async def turned(self, replies: list[Outbound]) -> None:
        """Told by the inbox after each turn: how many replies it queued."""
        await self._replies.put(len(replies))

    async def _show(self, before: int) -> None:
        count = await asyncio.wait_for(self._replies.get(), timeout=10)
        calls = await self.fake.sent.wait_for(before + count, chat_id=HOA, timeout=10)
        for call in calls[before:]:
            self._bot(*_shown(call))

    async def follow(self) -> None:
        self._emit("")
        self._emit("👤 Hoa: " + t("demo.oa_follow", "vi"))
        before = len(self.fake.sent_to(HOA))
        assert await self.fake.follow(HOA) == 200
        await self._show(before)

    async def say(self, text: str, *, tap: bool = False) -> None:
        self._emit("")
        self._emit("👤 Hoa: " + (t("demo.pressed", "vi", label=text) if tap else text))
        before = len(self.fake.sent_to(HOA))
        assert await self.fake.user_text(HOA, text) == 200
        await self._show(before)


async def play_oa(db: Database, pack: CampaignPack, clock: FakeClock, emit: Any, bot: Any) -> None:
    """The OA story on `db`; `emit(line)` prints narration, `bot(text, buttons)` a message."""
    async with FakeZaloOa(clock=clock) as fake:
        client = OaClient(
            app_id=fake.app_id,
            app_secret=fake.app_secret,
            oauth_base_url=fake.url,
            api_base_url=fake.url,
        )
        vault = TokenVault(db, fake.oa_id, new_key())
        pkce = new_pkce()  # what `loa zalo-oa login` does, with the fake granting at once
        pair = await client.token_from_code(
            fake.authorize(pkce.challenge), pkce.verifier, now=clock.now()
        )
        await vault.store(pair, now=clock.now(), after=None)
        emit(t("demo.oa_login", "vi"))
        sender = OaSender(client, TokenManager(client, vault, clock))
        limits = {"zalo_oa": ChannelLimits(per_second=50.0, per_chat_per_second=50.0)}
        demo = OaDemo(fake, emit, bot)
        loa = build_loa(
            db=db,
            pack=pack,
            clock=clock,
            channels={"zalo_oa": sender},
            limits=limits,
            after_turn=demo.turned,
        )
        # events go to the durable inbox before the webhook answers 200, as in `loa run`
        webhook = OaWebhook(
            app_id=fake.app_id, secret=fake.oa_secret, handle=loa.inbox.accept, clock=clock
        )

        server = WebServer(oa_app(webhook), listen="127.0.0.1", port=0)  # the product's route
        await server.start()
        fake.webhook_url = f"http://127.0.0.1:{server.port}{OA_PATH}"
        await loa.dispatcher.start()
        await loa.inbox.start()
        try:
            await demo.follow()
            await demo.say(t("languages.vi", "vi"), tap=True)
            await demo.say("3")
            day = clock.now().astimezone(VN_TZ).date() + timedelta(days=1)
            clock.set(datetime.combine(day, time(7, 30), tzinfo=VN_TZ))
            before = len(fake.sent_to(HOA))
            # the day's post to the OA's residents (Telegram's had theirs in part 2)
            result = await sweep_due(
                db, pack, now=clock.now(), channels=["zalo_oa"], windowed=["zalo_oa"]
            )
            loa.dispatcher.notify()
            emit("")
            count = result.enqueued
            emit("🕖 " + t("demo.day", "vi", date=f"{day:%d/%m/%Y}", time="07:30", count=count))
            calls = await fake.sent.wait_for(before + 1, chat_id=HOA, timeout=10)
            bot(*_shown(calls[-1]))
            await demo.say(t("zalo_oa.renew_button", "vi"), tap=True)
            await demo.say("/trogiup")
        finally:
            await loa.inbox.stop()
            await loa.dispatcher.stop()
            await server.stop()
            await client.aclose()
