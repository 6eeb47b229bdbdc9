"""`loa run` (run_bot) against the fake Bot API: at start-up it sets the bot's description and
short description from the campaign pack, in the default language and in each language."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime
from pathlib import Path

from bot.app import run_bot
from bot.clock import FakeClock
from bot.config import Settings
from fakes.botapi import FakeBotApi
from messages.packs import load_pack


async def test_run_sets_the_profile_texts_from_the_pack(
    fake_botapi: FakeBotApi, tmp_path: Path
) -> None:
    settings = Settings(
        _env_file=None,
        telegram_bot_token="7000000001:run-profile",
        telegram_api_base_url=f"{fake_botapi.url}/bot",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'run.db'}",
    )
    pack = load_pack("ky-lua-2026")
    clock = FakeClock(datetime(2026, 11, 20, 2, 0, tzinfo=UTC))
    running = asyncio.create_task(run_bot(settings, pack, clock=clock))
    try:
        await fake_botapi.wait_for_poll(timeout=30)  # polling starts after the profile is set
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
    texts = fake_botapi.descriptions
    assert fake_botapi.method_calls["setMyDescription"] == 3  # default, vi, en
    assert fake_botapi.method_calls["setMyShortDescription"] == 3
    vi = texts[("description", "vi")]
    assert vi == texts[("description", "")]
    assert vi.startswith("Loa là trợ lý của Phường Kỳ Lừa trong Tháng hành động")
    assert "năm 2026" in vi
    assert "Chủ đề" not in vi  # the 2026 theme is pending: no theme is invented
    assert texts[("short_description", "en")].startswith("Loa – Phường Kỳ Lừa's action month")
