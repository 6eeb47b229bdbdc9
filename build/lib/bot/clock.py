"""Injected clocks: every datetime in Loa is timezone-aware; the campaign runs on Vietnam time."""

from __future__ import annotations

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


def format_vn_datetime(when: datetime) -> str:
    """dd/mm/yyyy HH:MM on Vietnam's wall clock."""
    return when.astimezone(VN_TZ).strftime("%d/%m/%Y %H:%M")


def format_vn_date(when: datetime) -> str:
    """dd/mm/yyyy on Vietnam's wall clock."""
    return when.astimezone(VN_TZ).strftime("%d/%m/%Y")
