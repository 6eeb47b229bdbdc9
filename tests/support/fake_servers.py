"""Pytest plugin with ready fixtures for the fake Bot API (opt in via `pytest_plugins`)."""

from __future__ import annotations

import socket
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


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (for a web server the test starts)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
