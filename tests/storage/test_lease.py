"""One owner per database: a second process (here: a second engine) is refused with the holder's
host, pid and start; it takes over when the holder's lease expires or its process is gone."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.clock import FakeClock
from bot.storage.db import Database
from bot.storage.lease import Lease, LeaseHeld

START = datetime(2025, 11, 16, 2, 0, tzinfo=UTC)


@pytest.fixture
async def other(db: Database) -> AsyncIterator[Database]:
    """A second engine on the same database, as a second process would have."""
    second = Database(db.url, schema=db.schema)
    try:
        yield second
    finally:
        await second.dispose()


def dead_pid() -> int:
    """The pid of a process that has ended."""
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()
    return finished.pid


async def test_a_second_owner_is_refused_with_the_holder_named(
    db: Database, other: Database
) -> None:
    clock = FakeClock(START)
    first = Lease(db, clock, host="ward-server", pid=4242)
    await first.acquire()
    second = Lease(other, clock, host="laptop", pid=777)
    with pytest.raises(LeaseHeld) as refused:
        await second.acquire()
    message = str(refused.value)
    assert "host ward-server" in message
    assert "pid 4242" in message
    assert "since 2025-11-16 02:00:00 UTC" in message
    assert "\n" not in message
    # while the first keeps renewing, the second stays refused
    clock.advance(timedelta(seconds=25))
    assert await first.renew()
    clock.advance(timedelta(seconds=25))
    with pytest.raises(LeaseHeld):
        await second.acquire()


async def test_an_expired_lease_is_taken_over_and_the_old_holder_learns_it(
    db: Database, other: Database
) -> None:
    clock = FakeClock(START)
    crashed = Lease(db, clock, host="ward-server", pid=4242, ttl_s=30)
    await crashed.acquire()
    clock.advance(timedelta(seconds=31))  # no heartbeat: the host died
    successor = Lease(other, clock, host="new-server", pid=99)
    await successor.acquire()
    assert not await crashed.renew()  # had it only been paused, it must now stop
    assert await successor.renew()


async def test_a_released_lease_is_free_at_once(db: Database, other: Database) -> None:
    clock = FakeClock(START)
    first = Lease(db, clock, host="a", pid=1)
    await first.acquire()
    await first.release()
    await Lease(other, clock, host="b", pid=2).acquire()


async def test_a_dead_process_on_this_host_does_not_block_a_restart(
    db: Database, other: Database
) -> None:
    clock = FakeClock(START)
    killed = Lease(db, clock, host="this-host", pid=dead_pid())
    await killed.acquire()
    await Lease(other, clock, host="this-host", pid=12345).acquire()  # at once, no expiry wait
    alive_elsewhere = Lease(db, clock, host="other-host", pid=dead_pid())
    with pytest.raises(LeaseHeld):
        await alive_elsewhere.acquire()  # on another host a pid says nothing: wait for expiry


async def test_the_heartbeat_notices_a_lost_lease(db: Database, other: Database) -> None:
    clock = FakeClock(START)
    paused = Lease(db, clock, host="a", pid=1, ttl_s=30, heartbeat_s=0.01)
    await paused.acquire()
    clock.advance(timedelta(seconds=31))
    await Lease(other, clock, host="b", pid=2).acquire()
    paused.keep()
    try:
        async with asyncio.timeout(5):
            await paused.lost.wait()
    finally:
        await paused.release()
