"""Injected clocks and randomness: every datetime in Loa is timezone-aware; the campaign runs on
Vietnam time; every nonce is drawn from an injected `Randomness`."""

from __future__ import annotations

import asyncio
import random
import secrets
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


class Clock(Protocol):
    """Source of the current time; tests pass a FakeClock to run a month in a second."""

    def now(self) -> datetime:
        """Current time, timezone-aware (UTC)."""
        ...


class SystemClock:
    """The real wall clock."""

    def now(self) -> datetime:
        """Current time in UTC."""
        return datetime.now(UTC)


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FakeClock needs a timezone-aware start")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        """The frozen current time."""
        return self._now

    def set(self, when: datetime) -> None:
        """Jump to an absolute time (may go backwards, like a clock correction)."""
        if when.tzinfo is None:
            raise ValueError("FakeClock.set needs a timezone-aware datetime")
        self._now = when.astimezone(UTC)

    def advance(self, delta: timedelta) -> None:
        """Move forward by delta."""
        self._now += delta


class Ticker(Protocol):
    """Monotonic time and waiting on it: what pacing loops use instead of the event loop's clock."""

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin; never goes backwards."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait `seconds` of this ticker's time."""
        ...

    async def wait(self, event: asyncio.Event, limit_s: float | None) -> bool:
        """Wait until `event` is set (True) or `limit_s` seconds pass (False); None: no limit."""
        ...


class SystemTicker:
    """The real monotonic clock and the event loop's timers."""

    def monotonic(self) -> float:
        """time.monotonic()."""
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        """asyncio.sleep."""
        await asyncio.sleep(seconds)

    async def wait(self, event: asyncio.Event, limit_s: float | None) -> bool:
        """Wait for the event, at most `limit_s` seconds."""
        # asyncio.timeout, not wait_for: Python 3.11's wait_for can swallow a cancellation
        try:
            async with asyncio.timeout(limit_s):
                await event.wait()
        except TimeoutError:
            return False
        return True


class FakeTicker:
    """Virtual monotonic time for tests: a timed wait jumps time forward instead of waiting.

    A wait returns as soon as its event is set. If it is not set after the other tasks had
    `grace_s` of real time to set it, virtual time jumps by the whole timeout (a plain sleep is a
    wait on an event nobody sets). So a pacing loop runs its production code paths in virtual
    time: hours of spacing pass in milliseconds, and nothing depends on the machine's speed.
    """

    def __init__(self, start: float = 0.0, *, grace_s: float = 0.005) -> None:
        self._now = start
        self._grace_s = grace_s
        self._moved = asyncio.Event()
        self._ended: Counter[float] = Counter()
        self._wait_ended = asyncio.Event()
        self._thawed = asyncio.Event()
        self._thawed.set()

    def monotonic(self) -> float:
        """The virtual time."""
        return self._now

    async def sleep(self, seconds: float) -> None:
        """Let the other tasks run briefly, then move time forward by `seconds`."""
        await self.wait(asyncio.Event(), seconds)

    async def wait(self, event: asyncio.Event, limit_s: float | None) -> bool:
        """The event, or (after a short real grace) a jump of `limit_s` seconds."""
        if limit_s is None:
            await event.wait()
            return True
        try:
            async with asyncio.timeout(self._grace_s):
                await event.wait()
        except TimeoutError:
            await self._first_set(event, self._thawed)
            if not event.is_set():
                self.advance(max(0.0, limit_s))
        self._ended[limit_s] += 1
        self._wait_ended.set()
        return event.is_set()

    def waits(self, limit_s: float) -> int:
        """How many timed waits of `limit_s` seconds have ended so far (a loop's passes)."""
        return self._ended[limit_s]

    async def until_waits(self, limit_s: float, count: int) -> None:
        """Wait until `count` timed waits of `limit_s` seconds have ended."""
        while self._ended[limit_s] < count:
            self._wait_ended.clear()
            await self._wait_ended.wait()

    def freeze(self) -> None:
        """Stop time: timed waits end only when their event is set, until `thaw()`."""
        self._thawed.clear()

    def thaw(self) -> None:
        """Let timed waits jump time again."""
        self._thawed.set()

    @staticmethod
    async def _first_set(*events: asyncio.Event) -> None:
        if any(event.is_set() for event in events):
            return
        waiters = [asyncio.ensure_future(event.wait()) for event in events]
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()

    def advance(self, seconds: float) -> None:
        """Move virtual time forward and wake the tasks waiting in `until`."""
        self._now += seconds
        self._moved.set()

    async def until(self, when: float) -> None:
        """Wait, without moving time, until the virtual time reaches `when`."""
        while self._now < when:
            self._moved.clear()
            await self._moved.wait()


class Randomness(Protocol):
    """Source of the random tokens that bind buttons to a state (nonces)."""

    def token_hex(self, nbytes: int) -> str:
        """`nbytes` random bytes as 2·nbytes hex digits."""
        ...


class SystemRandomness:
    """Tokens from the operating system's secure generator."""

    def token_hex(self, nbytes: int) -> str:
        """`nbytes` random bytes as hex."""
        return secrets.token_hex(nbytes)


class SeededRandomness:
    """Reproducible tokens for tests and the demo."""

    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)

    def token_hex(self, nbytes: int) -> str:
        """`nbytes` pseudo-random bytes as hex, the same sequence for the same seed."""
        return self._random.randbytes(nbytes).hex()


def format_vn_datetime(when: datetime) -> str:
    """dd/mm/yyyy HH:MM on Vietnam's wall clock."""
    return when.astimezone(VN_TZ).strftime("%d/%m/%Y %H:%M")


def format_vn_date(when: datetime) -> str:
    """dd/mm/yyyy on Vietnam's wall clock."""
    return when.astimezone(VN_TZ).strftime("%d/%m/%Y")
