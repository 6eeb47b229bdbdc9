"""Reply window: how long a reply stays «sent by the platform, not yet marked sent» — the only
time in which a kill -9 makes the next start send it again (a duplicate question).

One reply at a time is queued (priority 0, as a form's next question), the dispatcher sends it to
the fake Bot API (own process) and records the outcome; the benchmark notes when the server's 200
arrived and when the transaction that marks it `sent` committed (an engine «commit» event; the
benchmark then reads the row to be sure it is the marking one). SQLite file, one core each.

    python -m benchmarks.reply_window --replies 200

RESULT fields (milliseconds): p50, p95 and max of the window.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event, select

from benchmarks.harness import (
    TOKEN,
    TimedChannel,
    as_channel,
    database,
    fake_server,
    percentile,
    say,
    setup_logging,
    workdir,
)
from bot.app import CHAT_EVENTS
from bot.channels.base import Outbound
from bot.channels.telegram.sender import TelegramSender
from bot.clock import SystemClock
from bot.delivery.dispatcher import Dispatcher
from bot.delivery.limiter import ChannelLimits
from bot.delivery.outbox import OutboxItem, Priority, enqueue
from bot.storage.models.delivery import OutboxMessage

OUTBOX = OutboxMessage.__table__  # type: ignore[attr-defined]


async def run(replies: int) -> list[float]:
    """The window of each reply, in milliseconds."""
    windows: list[float] = []
    clock = SystemClock()
    with workdir() as tmp:
        async with (
            fake_server(rate_limit=None, forbidden_ratio=0) as server,
            database("sqlite", Path(tmp)) as db,
        ):
            sender = TelegramSender(TOKEN, server.base_url, timeout=5.0)
            timed = TimedChannel(sender, watch={"42"})
            dispatcher = Dispatcher(
                db,
                {"telegram": as_channel(timed)},
                clock,
                limits={"telegram": ChannelLimits(per_second=1000, per_chat_per_second=1000)},
                chats=CHAT_EVENTS,
            )
            commits: list[float] = []
            marking: set[int] = set()

            def on_statement(conn: Any, _cur: Any, statement: str, *_rest: Any) -> None:
                if statement.lstrip().upper().startswith("UPDATE OUTBOX SET STATUS"):
                    marking.add(id(conn))

            def on_commit(conn: Any) -> None:
                if id(conn) in marking:  # the transaction that marked rows sent
                    marking.discard(id(conn))
                    commits.append(time.monotonic())

            event.listen(db.engine.sync_engine, "before_cursor_execute", on_statement)
            event.listen(db.engine.sync_engine, "commit", on_commit)
            await dispatcher.start()
            try:
                for n in range(replies):
                    text = f"Câu hỏi {n}"
                    async with db.session() as session:
                        await enqueue(
                            session,
                            [OutboxItem(Outbound("telegram", "42", text), Priority.REPLY)],
                            now=clock.now(),
                        )
                    dispatcher.notify()
                    while text not in timed.watched_done:  # noqa: ASYNC110 (polls the channel)
                        await asyncio.sleep(0.0005)
                    ok_at = timed.watched_done[text]
                    while True:
                        await asyncio.sleep(0.02)
                        async with db.session() as session:
                            status = (
                                await session.execute(
                                    select(OUTBOX.c.status).where(OUTBOX.c.text == text)
                                )
                            ).scalar_one()
                        if status == "sent":
                            break
                    marked_at = min(at for at in commits if at >= ok_at)
                    windows.append((marked_at - ok_at) * 1000)
            finally:
                await dispatcher.stop()
                await sender.aclose()
    return windows


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print one RESULT line."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.reply_window", description=__doc__)
    parser.add_argument("--replies", type=int, default=200)
    args = parser.parse_args(argv)
    setup_logging()
    windows = asyncio.run(run(args.replies))
    say(
        f"RESULT reply_window replies={len(windows)} p50_ms={percentile(windows, 0.5):.1f} "
        f"p95_ms={percentile(windows, 0.95):.1f} max_ms={max(windows):.1f}"
    )


if __name__ == "__main__":
    main()
