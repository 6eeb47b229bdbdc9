"""Shared pieces of the delivery benchmarks: the fake server process, a database, seeding, timing.

The fake Bot API runs in its own process (`python -m fakes.botapi`), so it takes one core and
the bot process under test the other, as in production where Telegram is someone else's machine.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import resource
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.channels.base import Capabilities, Channel, Outbound, SendResult, SendStatus
from bot.channels.telegram.sender import TelegramSender
from bot.delivery.outbox import OutboxItem, Priority, enqueue, start_run
from bot.storage.db import Database
from bot.storage.models.residents import Subscriber

TOKEN = "7000000001:benchmark"
FIRST_CHAT = 100_000_000
PG_DEFAULT = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


def setup_logging() -> None:
    """Progress lines on stderr-free stdout, one per event."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S", stream=sys.stdout
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # it logs URLs, and URLs hold the token


def say(message: str) -> None:
    """A progress line."""
    print(message, flush=True)


def peak_rss_mb() -> float:
    """Peak resident set size of this process (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def chat_ids(count: int, *, offset: int = 0) -> list[str]:
    """Deterministic numeric Telegram-like chat ids."""
    return [str(FIRST_CHAT + offset + i) for i in range(count)]


@dataclass
class FakeServer:
    """A running fake Bot API process."""

    url: str
    process: asyncio.subprocess.Process
    client: httpx.AsyncClient = field(default_factory=lambda: httpx.AsyncClient(trust_env=False))

    @property
    def base_url(self) -> str:
        """What TelegramSender takes: the URL up to and including '/bot'."""
        return f"{self.url}/bot"

    async def stats(self, *, per_chat: bool = False) -> dict[str, Any]:
        """The server's counters."""
        query = "" if per_chat else "?per_chat=0"
        response = await self.client.get(f"{self.url}/_fake/stats{query}", timeout=60)
        data: dict[str, Any] = response.json()
        return data


@asynccontextmanager
async def fake_server(
    *, rate_limit: float | None, forbidden_ratio: float
) -> AsyncIterator[FakeServer]:
    """Start `python -m fakes.botapi` and wait for its READY line."""
    args = [sys.executable, "-m", "fakes.botapi", "--port", "0"]
    if rate_limit:
        args += ["--rate-limit", str(rate_limit)]
    if forbidden_ratio:
        args += ["--forbidden-ratio", str(forbidden_ratio)]
    process = await asyncio.create_subprocess_exec(*args, stdout=asyncio.subprocess.PIPE)
    assert process.stdout is not None
    line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode().strip()
    if not line.startswith("READY "):
        process.kill()
        raise RuntimeError(f"fake server did not start: {line!r}")
    server = FakeServer(url=line.split(" ", 1)[1], process=process)
    try:
        # a fresh server is slow on its first send (lazy set-up); that pause would bunch the next
        # requests in its sliding window, which production never sees: warm it up, let it forget
        for _ in range(3):
            await server.client.post(
                f"{server.base_url}{TOKEN}/sendMessage", json={"chat_id": 1, "text": "warm-up"}
            )
        await asyncio.sleep(1.1)
        yield server
    finally:
        await server.client.aclose()
        process.terminate()
        await process.wait()


@asynccontextmanager
async def database(kind: str, workdir: Path) -> AsyncIterator[Database]:
    """A fresh database: a SQLite file in `workdir`, or a throw-away PostgreSQL schema."""
    if kind == "sqlite":
        db = Database(f"sqlite+aiosqlite:///{workdir / 'bench.db'}")
        await db.create_all()
        try:
            yield db
        finally:
            await db.dispose()
        return
    url = os.environ.get("TEST_DATABASE_URL", PG_DEFAULT)
    schema = f"loa_bench_{uuid.uuid4().hex[:10]}"
    admin = create_async_engine(url)
    async with admin.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    db = Database(url, schema=schema)
    try:
        await db.create_all()
        yield db
    finally:
        await db.dispose()
        async with admin.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


def workdir() -> tempfile.TemporaryDirectory[str]:
    """A temporary directory for a benchmark's SQLite file."""
    return tempfile.TemporaryDirectory(prefix="loa-bench-")


async def seed_broadcast(
    db: Database, chats: list[str], *, now: datetime, text_body: str, chunk: int = 5000
) -> int:
    """Subscribers for `chats` and one bulk outbox row each, in one run; returns the run id."""
    table = Subscriber.__table__  # type: ignore[attr-defined]
    async with db.session() as session:
        run_id = await start_run(session, kind="broadcast", label="benchmark", now=now)
    for start in range(0, len(chats), chunk):
        part = chats[start : start + chunk]
        async with db.session() as session:
            await session.execute(
                insert(table),
                [
                    {
                        "channel": "telegram",
                        "chat_id": chat,
                        "lang": "vi",
                        "status": "active",
                        "posts_muted": False,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for chat in part
                ],
            )
            items = [
                OutboxItem(
                    Outbound("telegram", chat, text_body),
                    Priority.BULK,
                    dedup_key=f"bench:{run_id}:{chat}",
                    run_id=run_id,
                )
                for chat in part
            ]
            await enqueue(session, items, now=now)
    return run_id


class TimedChannel:
    """Wraps a channel and notes when each send completed (the server had answered)."""

    def __init__(self, inner: TelegramSender, watch: set[str]) -> None:
        self.inner = inner
        self.name: str = inner.name
        self.capabilities: Capabilities = inner.capabilities
        self.watch = watch
        self.ok_times: list[float] = []
        self.watched_done: dict[str, float] = {}
        self.statuses: dict[SendStatus, int] = {}
        self.start_times: list[float] = []

    async def send(self, message: Outbound) -> SendResult:
        """Send through the wrapped channel, timing the answer."""
        self.start_times.append(time.monotonic())
        result = await self.inner.send(message)
        now = time.monotonic()
        self.statuses[result.status] = self.statuses.get(result.status, 0) + 1
        if result.status is SendStatus.OK:
            self.ok_times.append(now)
            if message.chat_id in self.watch:
                self.watched_done[message.text] = now
        return result


def busiest_second(times: list[float]) -> int:
    """The most sends started within any one-second window."""
    ordered = sorted(times)
    best, first = 0, 0
    for last, at in enumerate(ordered):
        while ordered[first] <= at - 1.0:
            first += 1
        best = max(best, last - first + 1)
    return best


def stalls(times: list[float], limit_per_s: float) -> tuple[int, float]:
    """Gaps between consecutive sends longer than 10 intervals: how many, and the time lost."""
    if not limit_per_s or len(times) < 2:
        return 0, 0.0
    ordered = sorted(times)
    interval = 1.0 / limit_per_s
    gaps = [b - a for a, b in itertools.pairwise(ordered) if b - a > 10 * interval]
    return len(gaps), sum(gaps) - len(gaps) * interval


def percentile(values: list[float], share: float) -> float:
    """The `share` quantile (nearest rank) of values; 0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(share * len(ordered)) - 1))
    return ordered[rank]


def as_channel(channel: TimedChannel) -> Channel:
    """TimedChannel satisfies the Channel protocol."""
    return channel


def dump(data: dict[str, Any]) -> str:
    """Compact JSON for a progress line."""
    return json.dumps(data, separators=(",", ":"))
