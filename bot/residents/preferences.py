"""A resident's own settings: the time of day of the daily post, and muting the daily posts.

The functions return a `PreferenceResult` carrying a message key and its fields (never raw text);
a refused change carries its `Refusal` (bot/chat/refusal.py). The chat renders either.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, time

from bot.chat.refusal import Refusal
from bot.domain.campaign import Delivery
from bot.storage.models.residents import Subscriber, SubscriberStatus

# Residents may pick any time from 05:00 to 21:00 that is not in the pack's quiet hours.
EARLIEST_HOUR = time(5, 0)
LATEST_HOUR = time(21, 0)

NOT_SUBSCRIBED = Refusal("preferences.not_subscribed")

# "7:30", "07:30", "7h30", "7h", "7 giờ 30", "7g30", "18.00" — how people write a time of day.
_HOUR_RE = re.compile(r"^(\d{1,2})\s*(?::|\.|h|g|giờ)?\s*(\d{2})?\s*(?:p|phút)?$")


@dataclass(frozen=True, slots=True)
class PreferenceResult:
    """The outcome of a preference change: ok or not, and the message to show."""

    ok: bool
    key: str  # a message key, e.g. "preferences.hour.set"
    fields: dict[str, str] = field(default_factory=dict)
    delivery_hour: str | None = None  # the stored value after the change ("HH:MM" or None)
    posts_muted: bool | None = None

    @classmethod
    def refused(cls, refusal: Refusal) -> PreferenceResult:
        """A change refused for `refusal`; nothing was changed."""
        return cls(ok=False, key=refusal.key, fields={k: str(v) for k, v in refusal.fields.items()})

    @property
    def refusal(self) -> Refusal | None:
        """Why the change was refused, or None when it was made."""
        return None if self.ok else Refusal(self.key, self.fields)


def parse_hour(text: str) -> time | None:
    """A time of day as residents type it ("7:30", "07:30", "18h", "7 giờ 30"), or None."""
    cleaned = unicodedata.normalize("NFC", text).strip().lower()
    match = _HOUR_RE.match(cleaned)
    if match is None:
        return None
    hour = int(match.group(1))
    minute = int(match.group(2) or "0")
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def check_hour(at: time, delivery: Delivery) -> Refusal | None:
    """Why `at` is refused as a delivery time, or None when it is allowed."""
    if delivery.is_quiet(at):
        quiet = {"quiet_start": delivery.quiet_start, "quiet_end": delivery.quiet_end}
        return Refusal("preferences.hour.quiet", quiet)
    if not EARLIEST_HOUR <= at <= LATEST_HOUR:
        bounds = {
            "earliest": EARLIEST_HOUR.strftime("%H:%M"),
            "latest": LATEST_HOUR.strftime("%H:%M"),
        }
        return Refusal("preferences.hour.out_of_range", bounds)
    return None


def apply_delivery_hour(
    subscriber: Subscriber | None, hour: str | None, *, delivery: Delivery, now: datetime
) -> PreferenceResult:
    """Set (or with None, clear back to the pack's default) the time of a resident's daily post.

    Allowed: 05:00-21:00 outside the pack's quiet hours. A change takes effect at once: if the
    new time has already passed today and today's post has not reached the resident yet, the
    next sweep sends it; it is never sent twice. Changes the row only when the result is ok.
    """
    if subscriber is None or subscriber.status != SubscriberStatus.ACTIVE:
        return PreferenceResult.refused(NOT_SUBSCRIBED)
    stored: str | None = None
    if hour is not None:
        parsed = parse_hour(hour)
        if parsed is None:
            return PreferenceResult.refused(Refusal("preferences.hour.invalid"))
        refusal = check_hour(parsed, delivery)
        if refusal is not None:
            return PreferenceResult.refused(refusal)
        stored = parsed.strftime("%H:%M")
    subscriber.delivery_hour = stored
    subscriber.updated_at = now
    key, shown = ("preferences.hour.set", stored) if stored else ("preferences.hour.reset", None)
    return PreferenceResult(
        ok=True,
        key=key,
        fields={"hour": shown or delivery.hour},
        delivery_hour=stored,
        posts_muted=subscriber.posts_muted,
    )


def apply_posts_muted(
    subscriber: Subscriber | None, muted: bool, *, now: datetime
) -> PreferenceResult:
    """Turn a resident's daily posts off (muted) or back on; announcements still arrive.

    Unmuting during the day lets the next sweep deliver today's post if its time has passed.
    """
    if subscriber is None or subscriber.status != SubscriberStatus.ACTIVE:
        return PreferenceResult.refused(NOT_SUBSCRIBED)
    hour = subscriber.delivery_hour
    if subscriber.posts_muted == muted:
        key = "preferences.posts.already_muted" if muted else "preferences.posts.already_unmuted"
        return PreferenceResult(ok=True, key=key, delivery_hour=hour, posts_muted=muted)
    subscriber.posts_muted = muted
    subscriber.updated_at = now
    key = "preferences.posts.muted" if muted else "preferences.posts.unmuted"
    return PreferenceResult(ok=True, key=key, delivery_hour=hour, posts_muted=muted)
