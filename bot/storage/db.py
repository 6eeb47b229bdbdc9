"""The async engine: SQLite (WAL) by default, PostgreSQL through DATABASE_URL; same code."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlmodel import SQLModel

from bot.storage import models  # noqa: F401  (registers every table on SQLModel.metadata)


def sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """Set on every new SQLite connection: WAL, a busy timeout, foreign keys, secure delete."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    # deleted rows (a resident's /xoadulieu) are overwritten, not left in free pages; Debian's
    # SQLite has this on by default, other builds (e.g. python.org's) may not
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


class DatabaseUrlError(ValueError):
    """DATABASE_URL cannot work; the message says why in one line, naming the setting."""


def check_url(url: str) -> None:
    """Refuse a URL that cannot work before any driver is touched: unparsable, a port that is
    not 1–65535, or a SQLite file whose folder does not exist."""
    try:
        parsed = make_url(url)
        port = parsed.port
    except (ArgumentError, ValueError):
        raise DatabaseUrlError(
            "DATABASE_URL: malformed (expected sqlite+aiosqlite:///path/loa.db or "
            "postgresql+asyncpg://user@host:5432/db)"
        ) from None
    if port is not None and not 1 <= port <= 65535:
        raise DatabaseUrlError("DATABASE_URL: the port must be between 1 and 65535")
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        folder = Path(parsed.database).parent
        if not folder.is_dir():
            raise DatabaseUrlError(f"DATABASE_URL: the SQLite folder {folder} does not exist")


class Database:
    """Owns the engine and hands out sessions; one per process, built in app.py."""

    def __init__(self, url: str, *, schema: str | None = None) -> None:
        check_url(url)
        self.url = url
        self.schema = schema
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict[str, Any] = {}
        if self.is_sqlite:
            kwargs["connect_args"] = {"timeout": 30}
        elif schema:
            kwargs["connect_args"] = {"server_settings": {"search_path": schema}}
        if not self.is_sqlite:
            kwargs["pool_size"] = 10
            kwargs["max_overflow"] = 10
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", sqlite_pragmas)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session whose transaction commits on success and rolls back on error."""
        async with self._sessions() as session, session.begin():
            yield session

    async def create_all(self) -> None:
        """Create every table from the models (tests; production uses Alembic migrations)."""
        async with self.engine.begin() as conn:
            await conn.run_sync(SQLModel.metadata.create_all)

    async def drop_all(self) -> None:
        """Drop every table (tests only)."""
        async with self.engine.begin() as conn:
            await conn.run_sync(SQLModel.metadata.drop_all)

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()
