"""Operational alerts reach every coordinator through the outbox, at most once an hour per kind;
a failed OA token refresh raises one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import col, select

from bot.channels.zalo_oa.client import OaClient, TokenPair
from bot.channels.zalo_oa.tokens import TokenManager, TokenUnavailable, TokenVault, new_key
from bot.clock import FakeClock
from bot.reporting.alerts import alert_coordinators
from bot.storage.db import Database
from bot.storage.models import Official, OutboxMessage

NOW = datetime(2025, 11, 20, 3, 0, tzinfo=UTC)


async def _coordinators(db: Database) -> None:
    async with db.session() as session:
        session.add(Official(channel="telegram", chat_id="9001", role="coordinator", bound_at=NOW))
        session.add(
            Official(channel="zalo", chat_id="abc", role="coordinator", lang="en", bound_at=NOW)
        )
        session.add(
            Official(
                channel="telegram", chat_id="9002", role="official", agency_id="x", bound_at=NOW
            )
        )


async def _texts(db: Database) -> list[tuple[str, str]]:
    async with db.session() as session:
        rows = await session.execute(
            select(col(OutboxMessage.chat_id), col(OutboxMessage.text)).order_by(
                col(OutboxMessage.id)
            )
        )
        return [(chat, text) for chat, text in rows.all()]


async def test_alert_reaches_each_coordinator_once_an_hour(db: Database) -> None:
    await _coordinators(db)
    clock = FakeClock(NOW)
    assert await alert_coordinators(db, clock, "zalo_oa.token_alert") == 2
    assert await alert_coordinators(db, clock, "zalo_oa.token_alert") == 0
    clock.advance(timedelta(hours=1))
    assert await alert_coordinators(db, clock, "zalo_oa.token_alert") == 2
    texts = await _texts(db)
    assert [chat for chat, _ in texts] == ["9001", "abc", "9001", "abc"]
    assert texts[0][1].startswith("⚠️ Loa không gia hạn được quyền gửi tin")
    assert texts[1][1].startswith("⚠️ Loa could not renew")


async def test_a_failed_refresh_alerts_the_coordinators(sqlite_db: Database) -> None:
    await _coordinators(sqlite_db)
    clock = FakeClock(NOW)
    # an OAuth host that refuses the connection: the refresh fails like an outage
    client = OaClient(app_id="1", app_secret="s", oauth_base_url="http://127.0.0.1:9")
    vault = TokenVault(sqlite_db, "607812198688816074", new_key())
    old = TokenPair("a", "r", NOW - timedelta(hours=1), NOW + timedelta(days=80))
    await vault.store(old, now=NOW, after=None)
    manager = TokenManager(
        client,
        vault,
        clock,
        alert=lambda _reason: alert_coordinators(sqlite_db, clock, "zalo_oa.token_alert"),
    )
    try:
        for _ in range(3):
            with pytest.raises(TokenUnavailable):
                await manager.access_token()
    finally:
        await client.aclose()
    assert manager.failures == 1  # paused after the first failure: no loop
    assert len(await _texts(sqlite_db)) == 2
