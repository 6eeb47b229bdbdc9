"""Injected clocks and randomness: every datetime in Loa is timezone-aware; the campaign runs on
Vietnam time; every nonce is drawn from an injected `Randomness`."""

from __future__ import annotations

import random
import secrets
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
