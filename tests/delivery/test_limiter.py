"""Limiter maths with an injected time: even spacing, bursts, per chat and group, 429 backoff."""

from __future__ import annotations

import math

import pytest

from bot.delivery.lanes import Lane
from bot.delivery.limiter import ChannelLimiter, ChannelLimits, TokenBucket
from bot.delivery.repository import Job
from tests.support.delivery import ScriptedChannel


def _drive(limiter: ChannelLimiter, chats: list[str], until: float) -> list[float]:
    """Send as fast as the limiter allows (an ideal event loop); returns the send times."""
    now, times, index = 0.0, [], 0
    while now < until and index < len(chats):
        wait = max(limiter.overall_delay(now), limiter.chat_delay(chats[index], now))
        if wait > 0:
            now += wait
            continue
        limiter.take(chats[index], now)
        times.append(now)
        index += 1
    return times


def test_bucket_spaces_sends_evenly() -> None:
    bucket = TokenBucket(10.0)
    assert bucket.delay(0.0) == 0
    bucket.take(0.0)
    assert bucket.delay(0.0) == pytest.approx(0.1)
    assert bucket.delay(0.05) == pytest.approx(0.05)
    bucket.take(0.1)
    assert bucket.delay(0.1) == pytest.approx(0.1)


def test_bucket_burst_allows_catch_up_but_no_more() -> None:
    bucket = TokenBucket(10.0, burst=3)
    for _ in range(3):
        assert bucket.delay(5.0) == 0
        bucket.take(5.0)
    assert bucket.delay(5.0) == pytest.approx(0.1)


def test_bucket_rejects_bad_settings() -> None:
    with pytest.raises(ValueError, match="rate"):
        TokenBucket(0)


def test_overall_pace_stays_under_the_limit_in_every_window() -> None:
    limiter = ChannelLimiter(ChannelLimits(per_second=30))
    times = _drive(limiter, [str(i) for i in range(1000)], until=20.0)
    # the busiest one-second window never exceeds the limit ...
    worst = max(sum(1 for t in times if start <= t < start + 1.0) for start in times)
    assert worst <= 30
    # ... and the pace is at least 95 % of it
    assert len(times) / 20.0 >= 0.95 * 30


def test_high_rate_uses_small_burst_and_still_respects_limit() -> None:
    limiter = ChannelLimiter(ChannelLimits(per_second=1000))
    assert limiter.overall.burst == pytest.approx(limiter.max_rate * 0.01)
    times = _drive(limiter, [str(i) for i in range(3000)], until=2.0)
    worst = max(sum(1 for t in times if start <= t < start + 1.0) for start in times[:100])
    assert worst <= 1000


def test_slightly_late_wakeups_keep_the_pace() -> None:
    bucket = TokenBucket(10.0)
    now = 0.0
    for _ in range(100):
        now += bucket.delay(now) + 0.002  # every timer fires 2 ms late
        bucket.take(now)
    assert now == pytest.approx(9.9 + 0.004)  # 100 sends in 9.9 s: no time lost
    bucket.take(now + 0.5)  # an idle gap is not made up with a burst
    assert bucket.delay(now + 0.5) == pytest.approx(0.1)


def test_per_chat_and_per_group_spacing() -> None:
    limiter = ChannelLimiter(ChannelLimits(per_second=1000))
    limiter.take("42", 0.0)
    assert limiter.chat_delay("42", 0.0) == pytest.approx(1.0)
    assert limiter.chat_delay("43", 0.0) == 0
    limiter.take("-100", 0.0)
    assert limiter.chat_delay("-100", 0.0) == pytest.approx(3.0)  # 20 per minute


def test_throttle_pauses_lowers_and_slowly_recovers() -> None:
    limits = ChannelLimits(per_second=30, headroom=1.0, recovery_delay_s=10, recovery_per_s=0.01)
    limiter = ChannelLimiter(limits)
    limiter.throttle(retry_after=2.0, now=100.0)
    assert limiter.overall_delay(100.0) == pytest.approx(2.0)
    assert limiter.rate == pytest.approx(27.0)
    assert limiter.overall_delay(105.0) == 0
    assert limiter.rate == pytest.approx(27.0)  # no recovery within the quiet delay
    limiter.overall_delay(120.0)  # 10 s of recovery at 1 % of 30/s per second
    assert limiter.rate == pytest.approx(30.0)
    assert limiter.throttled == 1


def test_repeated_throttles_have_a_floor() -> None:
    limiter = ChannelLimiter(ChannelLimits(per_second=30, headroom=1.0))
    for i in range(100):
        limiter.throttle(retry_after=None, now=float(i))
    assert limiter.rate == pytest.approx(3.0)
    assert limiter.overall_delay(99.0) == pytest.approx(1.0)


def test_idle_chat_buckets_are_forgotten() -> None:
    limiter = ChannelLimiter(ChannelLimits(per_second=math.inf))
    for i in range(100):
        limiter.take(str(i), 0.0)
    assert limiter.tracked_chats == 100
    assert limiter.forget_idle(0.5) == 0
    assert limiter.forget_idle(1.0) == 100
    assert limiter.tracked_chats == 0


async def test_a_text_edit_keeps_the_chats_spacing_taking_buttons_off_does_not() -> None:
    # a text the person sees change (a progress figure) is paced like a message: Telegram
    # answers 429 to a chat edited faster; taking old buttons off never delays the next message
    limiter = ChannelLimiter(ChannelLimits(per_second=10_000, per_chat_per_second=1.0))
    lane = Lane("telegram", ScriptedChannel(), limiter)
    limiter.take("c9", 0.0)  # a message just went to the chat
    text_edit = Job(1, "telegram", "c9", "Đã gửi 4/8", "[]", 1, True, 0, 0, None, None, edit_of=7)
    clear = Job(2, "telegram", "c9", "", "[]", 1, True, 0, 0, None, None, edit_of=5)
    lane.push(text_edit)
    lane.push(clear)
    assert lane.pop_ready(0.1) is clear
    assert lane.pop_ready(0.1) is None
    assert lane.next_wake(0.1) == pytest.approx(0.9)
    assert lane.pop_ready(1.0) is text_edit
    limiter.take("c9", 1.0, per_chat=clear.paced_per_chat)
    assert limiter.chat_delay("c9", 1.0) == 0.0
    limiter.take("c9", 1.0, per_chat=text_edit.paced_per_chat)
    assert limiter.chat_delay("c9", 1.0) == pytest.approx(1.0)
