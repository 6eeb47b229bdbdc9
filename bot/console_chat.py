"""`loa chat`: talk to the bot in this terminal as a resident (numbers pick choices)."""

from __future__ import annotations

import asyncio
import sys
import tempfile
import uuid
from pathlib import Path

from bot.app import build_loa, prepare_database
from bot.channels.console.channel import ConsoleChannel, console_inbound
from bot.clock import SystemClock
from bot.delivery.limiter import ChannelLimits
from bot.domain.campaign import CampaignPack
from bot.storage.db import Database
from messages import t

CONSOLE_LIMITS = ChannelLimits(per_second=1000.0, per_chat_per_second=1000.0)


async def run_chat(pack: CampaignPack, *, database_url: str | None = None) -> int:
    """Read lines from stdin until end of input; print the bot's answers.

    Without `database_url` the chat runs on a scratch SQLite file deleted at the end, so trying
    the bot never writes a «console» subscriber into the bot's real database (where `loa run`
    would queue posts for it that no channel sends).
    """
    if database_url is None:
        with tempfile.TemporaryDirectory(prefix="loa-chat-") as tmp:
            return await _chat(pack, f"sqlite+aiosqlite:///{Path(tmp) / 'chat.db'}")
    return await _chat(pack, database_url)


async def _chat(pack: CampaignPack, database_url: str) -> int:
    clock = SystemClock()
    db = Database(database_url)
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
