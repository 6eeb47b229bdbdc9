"""Smoke test of the real wiring: `run_bot` (what `loa run` calls) against the fake servers.

Both channels poll the fake (Telegram's getUpdates, Zalo's getUpdates), a /start on each gets the
welcome, and a SIGTERM — as systemd or Ctrl-C sends it — stops everything cleanly.
"""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

from pydantic import SecretStr

from bot.app import run_bot
from bot.config import Settings
from fakes.botapi import FakeBotApi
from tests.support.fake_servers import FAKE_TOKEN
from tests.support.pack import small_pack

ZALO_TOKEN = "7000000002:zalo-smoke-token"
WELCOME = "Xin chào! Mình là Loa"


async def test_run_bot_polls_answers_start_and_stops_cleanly(
    fake_botapi: FakeBotApi, tmp_path: Path
) -> None:
    server = fake_botapi
    settings = Settings(
        _env_file=None,
        telegram_bot_token=SecretStr(FAKE_TOKEN),
        telegram_api_base_url=f"{server.url}/bot",
        zalo_bot_token=SecretStr(ZALO_TOKEN),
        zalo_api_base_url=f"{server.url}/zalo/bot",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'loa.db'}",
    )
    running = asyncio.create_task(run_bot(settings, small_pack()))
    try:
        async with asyncio.timeout(60):
            await server.wait_for_poll(timeout=60)
            await server.zalo.wait_for_poll(timeout=60)
        server.push_command(2004, "/start")
        server.zalo.push_message("a1b2", "/start")
        await server.wait_for(lambda c: WELCOME in (c.text or ""), chat_id=2004, timeout=60)
        await server.zalo.wait_for(lambda c: WELCOME in (c.text or ""), chat_id="a1b2", timeout=60)
        os.kill(os.getpid(), signal.SIGTERM)
        # hang guards only: a loaded 2-core machine can take seconds to shut the pollers down
        async with asyncio.timeout(60):
            await running
    finally:
        if not running.done():
            running.cancel()
    assert running.exception() is None
    assert sum(WELCOME in text for text in server.texts_to(2004)) == 1
    assert (tmp_path / "loa.db").exists()
