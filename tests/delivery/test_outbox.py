"""The outbox: enqueue with dedup, runs and their counts, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from bot.channels.base import Choice, Outbound
from bot.delivery.outbox import (
    OutboxItem,
    Priority,
    decode_choices,
    enqueue,
    finish_runs,
    start_run,
)
from bot.storage.db import Database
from bot.storage.models.delivery import BulkRun, OutboxMessage

NOW = datetime(2025, 11, 20, 1, 0, tzinfo=UTC)


def _item(chat: str, key: str | None = None, run_id: int | None = None) -> OutboxItem:
    return OutboxItem(
        message=Outbound("telegram", chat, f"hello {chat}"),
        priority=Priority.BULK,
        dedup_key=key,
        run_id=run_id,
    )


async def test_enqueue_skips_existing_dedup_keys(db: Database) -> None:
    async with db.session() as session:
        first = await enqueue(session, [_item("1", "k1"), _item("2", "k2")], now=NOW)
    async with db.session() as session:
        second = await enqueue(
            session, [_item("1", "k1"), _item("3", "k3"), _item("4"), _item("4")], now=NOW
        )
        total = await session.scalar(select(func.count()).select_from(OutboxMessage))
    assert (first, second, total) == (2, 3, 5)


async def test_enqueue_chunks_large_batches(db: Database) -> None:
    items = [_item(str(i), f"post:{i}") for i in range(1203)]
    async with db.session() as session:
        assert await enqueue(session, items, now=NOW) == 1203
    async with db.session() as session:
        assert await enqueue(session, items, now=NOW) == 0


async def test_enqueue_keeps_choices_and_not_before(db: Database) -> None:
    later = NOW + timedelta(hours=2)
    message = Outbound("telegram", "9", "pick", (Choice("Có", "y"), Choice("Không", "n")), 2)
    async with db.session() as session:
        await enqueue(session, [OutboxItem(message, Priority.REPLY, not_before=later)], now=NOW)
    async with db.session() as session:
        row = (await session.execute(select(OutboxMessage))).scalar_one()
    assert decode_choices(row.choices) == message.choices
    assert (row.columns, row.priority, row.next_attempt_at) == (2, 0, later)


async def test_run_counts_queued_and_finishes_when_rows_are_final(db: Database) -> None:
    async with db.session() as session:
        run_id = await start_run(session, kind="broadcast", label="test", now=NOW)
        await enqueue(session, [_item(str(i), f"b:{i}", run_id) for i in range(3)], now=NOW)
    async with db.session() as session:
        await finish_runs(session, now=NOW)
        run = await session.get(BulkRun, run_id)
        assert run is not None
        assert (run.queued, run.status) == (3, "running")
        rows = (await session.execute(select(OutboxMessage))).scalars().all()
        for row, status in zip(rows, ["sent", "blocked", "failed"], strict=True):
            row.status = status
    async with db.session() as session:
        await finish_runs(session, now=NOW + timedelta(minutes=1))
        run = await session.get(BulkRun, run_id)
    assert run is not None
    assert (run.status, run.sent, run.blocked, run.failed) == ("done", 1, 1, 1)
    assert run.finished_at == NOW + timedelta(minutes=1)


async def test_an_empty_run_is_not_finished_while_it_may_still_fill(db: Database) -> None:
    async with db.session() as session:
        run_id = await start_run(session, kind="daily_post", label="day 1", now=NOW)
    async with db.session() as session:
        await finish_runs(session, now=NOW + timedelta(seconds=5))
        run = await session.get(BulkRun, run_id)
        assert run is not None
        assert run.status == "running"
    async with db.session() as session:
        await finish_runs(session, now=NOW + timedelta(hours=1))
        run = await session.get(BulkRun, run_id)
    assert run is not None
    assert run.status == "done"
