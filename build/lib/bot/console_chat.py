"""`loa chat`: talk to the bot in this terminal as a resident (numbers pick choices)."""

from __future__ import annotations

import asyncio
import sys
import uuid

from bot.app import build_loa, prepare_database
from bot.channels.console.channel import ConsoleChannel, console_inbound
from bot.clock import SystemClock
from bot.config import Settings
from bot.delivery.limiter import ChannelLimits
from bot.domain.campaign import CampaignPack
from bot.storage.db import Database
from messages import t

CONSOLE_LIMITS = ChannelLimits(per_second=1000.0, per_chat_per_second=1000.0)


async def run_chat(settings: Settings, pack: CampaignPack) -> int:
    """Read lines from stdin until end of input; print the bot's answers."""
    clock = SystemClock()
    db = Database(settings.database_url)
    await prepare_database(db, pack, clock)
    console = ConsoleChannel(prefix=t("chat.bot"))
    loa = build_loa(
        db=db,
        pack=pack,
        clock=clock,
        channels={"console": console},
        limits={"console": CONSOLE_LIMITS},
    )
    await loa.dispatcher.start()
    chat_id = "console"
    print(t("chat.intro"), flush=True)
    try:
        while True:
            print(t("chat.you"), end="", flush=True)
            line = await asyncio.to_thread(sys.stdin.readline)
            if not line:
                break
            if not line.strip():
                continue
            inbound = console_inbound(
                line, chat_id=chat_id, update_id=uuid.uuid4().hex, now=clock.now()
            )
            before = len(console.sent)
            replies = await loa.conversation.handle(inbound)
            await console.wait_sent(before + len(replies))
    finally:
        await loa.dispatcher.stop()
        await db.dispose()
    return 0
