"""Alembic: upgrade to head builds exactly the models' schema; down to base and up again works.

Runs on SQLite always and on PostgreSQL when TEST_DATABASE_URL is set (in its own schema).
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlmodel import SQLModel

from bot.storage import models  # noqa: F401
from bot.storage.migrate import alembic_config, downgrade, upgrade

PG_URL = os.environ.get("TEST_DATABASE_URL", "")


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str | None]]:
    """(async url, schema) of an empty database."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'migrations.db'}", None
        return
    if not PG_URL:
        pytest.skip("PostgreSQL leg skipped: TEST_DATABASE_URL is not set")
    schema = f"loa_mig_{uuid.uuid4().hex[:12]}"
    asyncio.run(_execute(PG_URL, f'CREATE SCHEMA "{schema}"'))
    try:
        yield PG_URL, schema
    finally:
        asyncio.run(_execute(PG_URL, f'DROP SCHEMA "{schema}" CASCADE'))


def _engine(url: str, schema: str | None) -> AsyncEngine:
    connect_args: dict[str, Any] = {}
    if schema:
        connect_args["server_settings"] = {"search_path": schema}
    return create_async_engine(url, connect_args=connect_args)


async def _execute(url: str, sql: str) -> None:
    engine = _engine(url, None)
    async with engine.begin() as conn:
        await conn.execute(text(sql))
    await engine.dispose()


def _diff(url: str, schema: str | None) -> list[Any]:
    async def run() -> list[Any]:
        engine = _engine(url, schema)
        async with engine.connect() as conn:

            def compare(sync_conn: Any) -> list[Any]:
                context = MigrationContext.configure(sync_conn, opts={"compare_type": True})
                return list(compare_metadata(context, SQLModel.metadata))

            result = await conn.run_sync(compare)
        await engine.dispose()
        return result

    return asyncio.run(run())


def _tables(url: str, schema: str | None) -> set[str]:
    async def run() -> set[str]:
        engine = _engine(url, schema)
        async with engine.connect() as conn:
            names = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
        await engine.dispose()
        return names - {"alembic_version"}

    return asyncio.run(run())


def test_upgrade_matches_models_and_round_trips(database: tuple[str, str | None]) -> None:
    url, schema = database
    upgrade(url, schema=schema)
    assert _tables(url, schema) == set(SQLModel.metadata.tables)
    assert _diff(url, schema) == []
    downgrade(url, "base", schema=schema)
    assert _tables(url, schema) == set()
    upgrade(url, schema=schema)
    assert _diff(url, schema) == []


def test_every_revision_steps_up_and_down(database: tuple[str, str | None]) -> None:
    url, schema = database
    script = ScriptDirectory.from_config(alembic_config(url))
    revisions = list(reversed(list(script.walk_revisions())))
    assert revisions, "no migration revisions"
    for revision in revisions:
        upgrade(url, revision.revision, schema=schema)
        down = revision.down_revision
        downgrade(url, down if isinstance(down, str) else "base", schema=schema)
        upgrade(url, revision.revision, schema=schema)


def test_reminders_queued_before_the_topic_columns_get_their_topic(
    database: tuple[str, str | None],
) -> None:
    url, schema = database
    upgrade(url, "0001", schema=schema)
    insert = (
        "INSERT INTO outbox (channel, chat_id, text, choices, columns, numbered, priority, status,"
        " attempts, next_attempt_at, created_at, dedup_key) VALUES ('zalo', '1', 'x', '[]', 1,"
        " TRUE, 1, :status, 0, '2025-11-20 01:00:00+00:00', '2025-11-20 01:00:00+00:00', :key)"
    )
    rows = [
        ("pending", "remind:ky-lua-2025:d1:3:cong-an:7"),
        ("sent", "remind:ky-lua-2025:d1:2:cong-an:7"),
        ("pending", "post:ky-lua-2025:3:12"),
    ]

    async def run(sql: str, params: list[dict[str, Any]]) -> list[Any]:
        engine = _engine(url, schema)
        async with engine.begin() as conn:
            found = await conn.execute(text(sql), params or None)
            result = [tuple(r) for r in found.all()] if found.returns_rows else []
        await engine.dispose()
        return result

    asyncio.run(run(insert, [{"status": s, "key": k} for s, k in rows]))
    upgrade(url, schema=schema)
    select_sql = "SELECT dedup_key, topic, topic_ref FROM outbox ORDER BY id"
    assert asyncio.run(run(select_sql, [])) == [
        ("remind:ky-lua-2025:d1:3:cong-an:7", "remind:ky-lua-2025:d1", "cong-an"),
        ("remind:ky-lua-2025:d1:2:cong-an:7", None, None),  # sent: nothing left to cancel
        ("post:ky-lua-2025:3:12", None, None),
    ]
