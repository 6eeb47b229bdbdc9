"""Pytest plugin with ready fixtures for the fake Bot API (opt in via `pytest_plugins`)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from fakes.botapi import FakeBotApi

FAKE_TOKEN = "7000000001:LoaTestToken"


@pytest.fixture
async def fake_botapi(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeBotApi]:
    """A started fake Bot API server; PTB's int-valued time periods are switched off."""
    # Without this PTB 22 warns (PTBDeprecationWarning) when it builds RetryAfter from a 429.
    monkeypatch.setenv("PTB_TIMEDELTA", "1")
    async with FakeBotApi() as server:
        yield server
