"""The real `loa run` process against the fake Bot API: killed with SIGKILL in the middle of
bursts it loses no message (polling and webhook, SQLite and PostgreSQL), and a second `loa run`
on the same database is refused with one line naming the first."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path

import pytest

from benchmarks.inbound_crash import Figures, Probe, _env, run_probe
from fakes.botapi import FakeBotApi

PG_URL = os.environ.get("TEST_DATABASE_URL", "")


def probe_args(**overrides: object) -> argparse.Namespace:
    args = argparse.Namespace(
        chats=8, messages=2, rounds=2, max_delay=0.5, db="sqlite", webhook=False, seed=7
    )
    for key, value in overrides.items():
        setattr(args, key, value)
    return args


def check(figures: Figures) -> None:
    assert figures.sent > 0
    assert figures.lost == 0, figures.lost_ids
    assert figures.answered == figures.sent
    assert figures.out_of_order == 0


async def test_kill_9_during_polling_bursts_loses_nothing() -> None:
    check(await run_probe(probe_args()))


async def test_kill_9_after_webhook_200s_loses_nothing() -> None:
    check(await run_probe(probe_args(webhook=True, chats=12)))


async def test_kill_9_on_postgresql_loses_nothing() -> None:
    if not PG_URL:
        pytest.skip("PostgreSQL leg skipped: TEST_DATABASE_URL is not set")
    check(await run_probe(probe_args(db="postgres")))


async def test_a_second_loa_run_on_the_same_database_is_refused() -> None:
    with tempfile.TemporaryDirectory(prefix="loa-owner-") as tmp_name:
        tmp = Path(tmp_name)
        async with FakeBotApi() as server:
            env = _env(tmp, f"sqlite+aiosqlite:///{tmp / 'owner.db'}", server.url, False)
            first = Probe(server, env, tmp, False)
            await first.start_bot()
            assert first.child is not None
            try:
                second = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "bot",
                    "run",
                    cwd=tmp,
                    env=env,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.PIPE,
                )
                out, err = await asyncio.wait_for(second.communicate(), 60)
                lines = err.decode().strip().splitlines()
                assert second.returncode == 3
                assert len(lines) == 1, lines
                assert lines[0].startswith("loa: another loa process owns this database: host ")
                assert f"pid {first.child.pid}, since " in lines[0]
                assert out == b""
            finally:
                await first.stop_bot()
            # the first stopped cleanly and freed the lease: a new start is accepted at once
            await first.start_bot()
            await first.stop_bot()
