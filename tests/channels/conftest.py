"""Fixtures for the Zalo OA channel: the fake OA on a shared fake clock, a logged-in client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from bot.channels.zalo_oa.client import OaClient
from bot.channels.zalo_oa.login import new_pkce
from bot.channels.zalo_oa.tokens import TokenManager, TokenVault, new_key
from bot.clock import FakeClock
from bot.storage.db import Database
from fakes.zalo_oa import FakeZaloOa

OA_START = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


@pytest.fixture
def oa_clock() -> FakeClock:
    """One clock for the fake OA and the bot."""
    return FakeClock(OA_START)


@pytest.fixture
async def fake_oa(oa_clock: FakeClock) -> AsyncIterator[FakeZaloOa]:
    """A started fake OA platform."""
    async with FakeZaloOa(clock=oa_clock) as server:
        yield server


@pytest.fixture
async def oa_client(fake_oa: FakeZaloOa) -> AsyncIterator[OaClient]:
    """A client of the fake OA with the fake's app id and secret."""
    client = OaClient(
        app_id=fake_oa.app_id,
        app_secret=fake_oa.app_secret,
        oauth_base_url=fake_oa.url,
        api_base_url=fake_oa.url,
    )
    yield client
    await client.aclose()


@pytest.fixture
def token_key() -> str:
    """A fresh sealing key."""
    return new_key()


@pytest.fixture
async def oa_tokens(
    fake_oa: FakeZaloOa,
    oa_client: OaClient,
    sqlite_db: Database,
    token_key: str,
    oa_clock: FakeClock,
) -> TokenManager:
    """A token manager after a completed login (the first pair stored sealed)."""
    vault = TokenVault(sqlite_db, fake_oa.oa_id, token_key)
    pkce = new_pkce()
    code = fake_oa.authorize(pkce.challenge)
    pair = await oa_client.token_from_code(code, pkce.verifier, now=oa_clock.now())
    await vault.store(pair, now=oa_clock.now(), after=None)
    return TokenManager(oa_client, vault, oa_clock)
