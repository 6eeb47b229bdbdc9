"""Smooth rate limiting for one channel: an overall pace, per-chat and per-group spacing.

Every bucket is a GCRA ("virtual scheduling") token bucket: a send is allowed once the clock
reaches the bucket's theoretical arrival time minus its burst tolerance, and each send pushes that
time on by one interval. With a burst of one this spreads sends evenly (no clumps that trip the
server's counter), which is how the overall pace gets close to the platform limit without 429s.
Time is a plain float in seconds from an injected monotonic source, so the maths is testable.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ChannelLimits:
    """The sending limits of one channel (defaults: Telegram's published bot limits)."""

    per_second: float = 30.0  # overall; 1,000/s for paid broadcasts
    per_chat_per_second: float = 1.0
    per_group_per_minute: float = 20.0  # Telegram groups have negative chat ids
    headroom: float = 0.985  # pace at this share of the limit so clock jitter never trips it
    burst: float = 1.0  # sends allowed back to back after an idle spell
    slowdown: float = 0.9  # rate factor applied on every 429
    recovery_per_s: float = 0.01  # share of the limit regained per quiet second after a 429
    recovery_delay_s: float = 5.0  # quiet seconds after a 429 before recovering


class TokenBucket:
    """A GCRA bucket: `delay(now)` says how long to wait, `take(now)` records a send."""

    __slots__ = ("_tat", "burst", "rate")

    def __init__(self, rate: float, *, burst: float = 1.0) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self.rate = rate
        self.burst = burst
        self._tat = -math.inf  # theoretical arrival time of the next conforming send

    @property
    def interval(self) -> float:
        """Seconds between two sends at the bucket's rate."""
        return 1.0 / self.rate

    def delay(self, now: float) -> float:
        """Seconds until one more send conforms (0 when it may go now)."""
        tolerance = (self.burst - 1.0) * self.interval
        return max(0.0, self._tat - tolerance - now)

    def take(self, now: float, cost: float = 1.0) -> None:
        """Record `cost` sends at `now` (call only once `delay(now)` is 0)."""
        # A timer that wakes a little late must not slow the pace: while sends follow each other
        # (late by less than a tenth of an interval, at most 3 ms) the schedule keeps its grid.
        slack = min(0.1 * self.interval, 0.003)
        start = self._tat if self._tat <= now <= self._tat + slack else max(self._tat, now)
        self._tat = start + cost * self.interval

    def idle_since(self, now: float) -> bool:
        """True when the bucket holds no debt (it can be forgotten)."""
        return self._tat <= now


class ChannelLimiter:
    """All the limits of one channel: overall pace with 429 backoff, per chat, per group."""

    def __init__(self, limits: ChannelLimits) -> None:
        self.limits = limits
        self.max_rate = limits.per_second * limits.headroom
        # ten milliseconds of tolerance lets the pace catch up after event-loop lag at high
        # rates without ever exceeding the limit in any one-second window
        burst = max(limits.burst, min(self.max_rate * 0.01, 20.0))
        self.overall = TokenBucket(self.max_rate, burst=burst)
        self._chats: dict[str, TokenBucket] = {}
        self._paused_until = -math.inf
        self._last_throttle = -math.inf
        self._last_recovery = -math.inf
        self.throttled = 0  # number of 429s seen

    @property
    def rate(self) -> float:
        """The current overall pace in sends per second."""
        return self.overall.rate

    def overall_delay(self, now: float) -> float:
        """Seconds until the channel may send its next message."""
        self._recover(now)
        return max(self._paused_until - now, self.overall.delay(now))

    def chat_delay(self, chat_id: str, now: float) -> float:
        """Seconds until this chat may receive another message."""
        bucket = self._chats.get(chat_id)
        return 0.0 if bucket is None else bucket.delay(now)

    def take(self, chat_id: str, now: float, cost: int = 1, *, per_chat: bool = True) -> None:
        """Record one send (of `cost` API calls) to `chat_id` at `now`; `per_chat=False` for
        an edit of a message already sent, which counts against the channel's pace only."""
        self.overall.take(now, cost)
        if not per_chat:
            return
        bucket = self._chats.get(chat_id)
        if bucket is None:
            bucket = self._chat_bucket(chat_id)
            self._chats[chat_id] = bucket
        bucket.take(now, cost)

    def throttle(self, retry_after: float | None, now: float) -> None:
        """A 429: pause the channel for retry_after and lower the pace."""
        self.throttled += 1
        pause = retry_after if retry_after is not None and retry_after > 0 else 1.0
        self._paused_until = max(self._paused_until, now + pause)
        floor = self.max_rate * 0.1
        self.overall.rate = max(floor, self.overall.rate * self.limits.slowdown)
        self._last_throttle = now
        self._last_recovery = now

    def forget_idle(self, now: float) -> int:
        """Drop per-chat buckets that hold no debt, so memory stays flat on large broadcasts."""
        idle = [chat for chat, bucket in self._chats.items() if bucket.idle_since(now)]
        for chat in idle:
            del self._chats[chat]
        return len(idle)

    @property
    def tracked_chats(self) -> int:
        """How many per-chat buckets are held."""
        return len(self._chats)

    def _chat_bucket(self, chat_id: str) -> TokenBucket:
        if chat_id.startswith("-"):
            return TokenBucket(self.limits.per_group_per_minute / 60.0)
        return TokenBucket(self.limits.per_chat_per_second)

    def _recover(self, now: float) -> None:
        if self.overall.rate >= self.max_rate:
            return
        if now - self._last_throttle < self.limits.recovery_delay_s:
            return
        start = max(self._last_recovery, self._last_throttle + self.limits.recovery_delay_s)
        gained = (now - start) * self.limits.recovery_per_s * self.max_rate
        if gained <= 0:
            return
        self.overall.rate = min(self.max_rate, self.overall.rate + gained)
        self._last_recovery = now
