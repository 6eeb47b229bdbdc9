"""`loa status` figures: run summaries and their text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.channels.base import Outbound
from bot.delivery.outbox import OutboxItem, Priority, enqueue, finish_runs, start_run
from bot.delivery.status import format_status, runs_summary
from bot.storage.db import Database

NOW = datetime(2025, 11, 25, 1, 0, tzinfo=UTC)


async def test_runs_summary_lists_newest_first_with_open_rows(db: Database) -> None:
    async with db.session() as session:
        old = await start_run(session, kind="daily_post", label="Ngày 1", now=NOW)
        new = await start_run(session, kind="broadcast", label="Thông báo", now=NOW)
        items = [
            OutboxItem(Outbound("telegram", str(i), "x"), Priority.BULK, f"k{i}", new)
            for i in range(4)
        ]
        await enqueue(session, items, now=NOW)
    async with db.session() as session:
        await finish_runs(session, now=NOW + timedelta(hours=1))
    summaries = await runs_summary(db, limit=5)
    assert [s.id for s in summaries] == [new, old]
    assert (summaries[0].queued, summaries[0].open_rows, summaries[0].status) == (4, 4, "running")
    assert summaries[1].status == "done"
    text = format_status(summaries, NOW + timedelta(minutes=1))
    assert f"#{new} broadcast «Thông báo» — running" in text
    assert "queued 4  sent 0  blocked 0  failed 0  open 4  (0% done, 0.0/s)" in text


def test_format_status_without_runs() -> None:
    assert format_status([], NOW) == "No bulk runs yet."
