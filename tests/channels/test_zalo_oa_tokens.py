"""The OA's token pair: sealed at rest, surviving restarts, refreshed before expiry and once at a
time; a refresh token already used is detected, reported once, and does not loop."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import pytest
from sqlmodel import col, select

from bot.channels.zalo_oa.client import OaClient
from bot.channels.zalo_oa.tokens import (
    TokenManager,
    TokenSealError,
    TokenUnavailable,
    TokenVault,
    new_key,
)
from bot.clock import FakeClock
from bot.storage.db import Database
from bot.storage.models import OaToken
from fakes.zalo_oa import FakeZaloOa


async def test_the_pair_is_sealed_at_rest_and_survives_a_restart(
    oa_tokens: TokenManager,
    fake_oa: FakeZaloOa,
    oa_client: OaClient,
    sqlite_db: Database,
    token_key: str,
    oa_clock: FakeClock,
) -> None:
    token = await oa_tokens.access_token()
    async with sqlite_db.session() as session:
        sealed = (await session.execute(select(col(OaToken.sealed)))).scalar_one()
    assert token not in sealed
    restarted = TokenManager(oa_client, TokenVault(sqlite_db, fake_oa.oa_id, token_key), oa_clock)
    assert await restarted.access_token() == token
    assert fake_oa.refreshes == 0
    with pytest.raises(TokenSealError):
        await TokenVault(sqlite_db, fake_oa.oa_id, new_key()).load()


async def test_refreshed_an_hour_before_expiry_and_stored(
    oa_tokens: TokenManager,
    fake_oa: FakeZaloOa,
    oa_client: OaClient,
    sqlite_db: Database,
    token_key: str,
    oa_clock: FakeClock,
) -> None:
    first = await oa_tokens.access_token()
    oa_clock.advance(timedelta(hours=23, minutes=30))
    assert await oa_tokens.access_token() == first  # 1 h 30 left: still good
    oa_clock.advance(timedelta(minutes=40))
    second = await oa_tokens.access_token()
    assert second != first
    assert fake_oa.refreshes == 1
    stored = await TokenVault(sqlite_db, fake_oa.oa_id, token_key).load()
    assert stored is not None
    assert stored[0].access_token == second
    assert stored[1] == 2


async def test_concurrent_token_errors_refresh_once(
    oa_tokens: TokenManager, fake_oa: FakeZaloOa
) -> None:
    stale = await oa_tokens.access_token()
    fresh = await asyncio.gather(*(oa_tokens.renew(stale) for _ in range(20)))
    assert len(set(fresh)) == 1
    assert fresh[0] != stale
    assert fake_oa.refreshes == 1


async def test_a_second_process_adopts_the_pair_another_refreshed(
    oa_tokens: TokenManager,
    fake_oa: FakeZaloOa,
    oa_client: OaClient,
    sqlite_db: Database,
    token_key: str,
) -> None:
    alerts: list[str] = []

    async def alert(reason: str) -> None:
        alerts.append(reason)

    vault = TokenVault(sqlite_db, fake_oa.oa_id, token_key)
    other = TokenManager(oa_client, vault, fake_oa.clock, alert=alert)
    old = await other.access_token()
    assert await oa_tokens.access_token() == old
    new = await oa_tokens.renew(old)  # process A refreshes: B's refresh token is now spent
    assert await other.renew(old) == new  # B re-reads the row instead of spending it again
    assert fake_oa.refreshes == 1
    assert alerts == []


async def test_a_refresh_token_already_used_is_reported_once_without_a_loop(
    oa_tokens: TokenManager,
    fake_oa: FakeZaloOa,
    oa_client: OaClient,
    sqlite_db: Database,
    token_key: str,
    oa_clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    vault = TokenVault(sqlite_db, fake_oa.oa_id, token_key)
    backup = await vault.load()  # a backup taken now …
    assert backup is not None
    await oa_tokens.renew(await oa_tokens.access_token())  # … then the pair is refreshed
    await vault.store(backup[0], now=oa_clock.now(), after=None)  # … and the backup restored
    alerts: list[str] = []

    async def alert(reason: str) -> None:
        alerts.append(reason)

    restored = TokenManager(oa_client, vault, oa_clock, alert=alert)
    caplog.set_level(logging.ERROR)
    with pytest.raises(TokenUnavailable):
        await restored.renew(backup[0].access_token)
    with pytest.raises(TokenUnavailable):  # paused: no second call to Zalo, no second alert
        await restored.renew(backup[0].access_token)
    assert fake_oa.refreshes == 1
    assert len(alerts) == 1
    assert "already used" in alerts[0]
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert backup[0].refresh_token not in caplog.text
    assert backup[0].access_token not in caplog.text
    oa_clock.advance(timedelta(minutes=6))  # after the pause it tries again, still refused
    with pytest.raises(TokenUnavailable):
        await restored.renew(backup[0].access_token)
    assert len(alerts) == 1  # reported once per episode


async def test_never_logged_in(
    fake_oa: FakeZaloOa, oa_client: OaClient, sqlite_db: Database, oa_clock: FakeClock
) -> None:
    manager = TokenManager(oa_client, TokenVault(sqlite_db, fake_oa.oa_id, new_key()), oa_clock)
    with pytest.raises(TokenUnavailable, match="login"):
        await manager.access_token()
