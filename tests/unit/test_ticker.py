"""The virtual-time ticker the pacing loops are tested with."""

from __future__ import annotations

import asyncio

from bot.clock import FakeTicker


async def test_a_sleep_moves_virtual_time_by_its_length() -> None:
    ticker = FakeTicker(100.0)
    await ticker.sleep(3600.0)
    assert ticker.monotonic() == 3700.0


async def test_a_timed_wait_returns_when_its_event_is_set_without_moving_time() -> None:
    ticker, event = FakeTicker(), asyncio.Event()
    waiting = asyncio.create_task(ticker.wait(event, 60.0))
    await asyncio.sleep(0)
    event.set()
    assert await waiting is True
    assert ticker.monotonic() == 0.0
    assert ticker.waits(60.0) == 1


async def test_a_timed_wait_nobody_ends_jumps_by_its_limit() -> None:
    ticker = FakeTicker()
    assert await ticker.wait(asyncio.Event(), 0.25) is False
    assert ticker.monotonic() == 0.25
    reached = asyncio.create_task(ticker.until(10.0))
    counted = asyncio.create_task(ticker.until_waits(0.25, 3))
    while ticker.monotonic() < 10.0:
        await ticker.wait(asyncio.Event(), 0.25)
    await asyncio.wait_for(reached, 1.0)
    await asyncio.wait_for(counted, 1.0)
    assert ticker.waits(0.25) == 40


async def test_a_frozen_ticker_ends_timed_waits_only_by_their_event() -> None:
    ticker, event = FakeTicker(), asyncio.Event()
    ticker.freeze()
    waiting = asyncio.create_task(ticker.wait(event, 5.0))
    other = asyncio.create_task(ticker.wait(asyncio.Event(), 1.0))
    # ten times the grace after which an unfrozen ticker would have jumped
    done, _ = await asyncio.wait({waiting, other}, timeout=0.05)
    assert not done
    assert ticker.monotonic() == 0.0
    event.set()
    assert await waiting is True
    ticker.thaw()
    assert await other is False
    assert ticker.monotonic() == 1.0
