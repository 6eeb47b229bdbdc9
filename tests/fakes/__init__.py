"""Test doubles: the fake Bot API server (from bot.fakes, shared with `loa demo`) and helpers."""

from bot.fakes.botapi import FakeBotApi, FakeStats, SentCall, is_blocked_by_ratio
from bot.fakes.zalo_api import FakeZaloApi

__all__ = ["FakeBotApi", "FakeStats", "FakeZaloApi", "SentCall", "is_blocked_by_ratio"]
