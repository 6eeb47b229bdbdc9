"""Shared fixtures: a fresh database per test on SQLite always, and on PostgreSQL when
TEST_DATABASE_URL is set (each test run gets its own schema, so parallel runs never collide)."""

from __future__ import annotations

import os
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.storage.db import Database

# python-telegram-bot 22: report time periods as timedelta (no deprecation warning, which the
# suite turns into an error).
os.environ.setdefault("PTB_TIMEDELTA", "1")

pytest_plugins = [
    "tests.support.network_guard",
    "tests.support.fake_servers",
    "tests.support.zalo_oa",
]

PG_URL = os.environ.get("TEST_DATABASE_URL", "")
DB_KINDS = ["sqlite", "postgresql"]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One line per skip reason (e.g. the whole PostgreSQL leg), not one line per test."""
    reasons: Counter[str] = Counter()
    for report in terminalreporter.stats.get("skipped", []):
        longrepr = getattr(report, "longrepr", None)
        if isinstance(longrepr, tuple) and len(longrepr) == 3:
            reasons[str(longrepr[2]).removeprefix("Skipped: ")] += 1
    for reason, count in sorted(reasons.items()):
        terminalreporter.write_line(f"{reason} ({count} tests)")


@pytest.fixture(params=DB_KINDS)
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """An empty database with every table, on SQLite and (when configured) PostgreSQL."""
    if request.param == "sqlite":
        database = Database(f"sqlite+aiosqlite:///{tmp_path / 'test.db'}")
        await database.create_all()
        try:
            yield database
        finally:
            await database.dispose()
        return
    if not PG_URL:
        pytest.skip("PostgreSQL leg skipped: TEST_DATABASE_URL is not set")
    schema = f"loa_test_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(PG_URL)
    async with admin.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    database = Database(PG_URL, schema=schema)
    try:
        await database.create_all()
        yield database
    finally:
        await database.dispose()
        async with admin.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[Database]:
    """An empty SQLite database only, for tests whose subject is not storage portability."""
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'test.db'}")
    await database.create_all()
    try:
        yield database
    finally:
        await database.dispose()
