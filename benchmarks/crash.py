"""Crash: kill -9 the dispatcher mid-broadcast, restart it, count what each recipient got.

The dispatcher runs as a child process on a SQLite file with 5,000 queued rows against the fake
Bot API (own process, 2 % of chats blocked). Once about 40 % are delivered the child is killed
with SIGKILL; a new child recovers the rows left `sending` and finishes the broadcast.

    python -m benchmarks.crash --recipients 5000

RESULT fields: delivered_once = recipients that got exactly one message; lost = recipients not
blocked that got none; duplicates = recipients that got more than one (at most the dispatcher's
concurrency: the sends in flight at the kill).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import signal
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

from benchmarks.harness import (
    TOKEN,
    chat_ids,
    database,
    fake_server,
    say,
    seed_broadcast,
    setup_logging,
    workdir,
)
from bot.app import CHAT_EVENTS, freeze_startup_heap
from bot.channels.telegram.sender import TelegramSender
from bot.clock import SystemClock
from bot.delivery.dispatcher import Dispatcher
from bot.delivery.limiter import ChannelLimits
from bot.storage.db import Database
from bot.storage.models.delivery import OutboxMessage
from fakes.botapi import is_blocked_by_ratio

FORBIDDEN_RATIO = 0.02
OUTBOX = OutboxMessage.__table__  # type: ignore[attr-defined]
TEXT = "Đường dây nóng quốc gia bảo vệ trẻ em: 111."


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options (the --child ones are for the dispatcher process)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.crash", description=__doc__)
    parser.add_argument("--recipients", type=int, default=5000)
    parser.add_argument("--limit", type=float, default=1000.0, help="sends/s (0: no limit)")
    parser.add_argument("--concurrency", type=int, default=128)
    parser.add_argument("--kill-at", type=float, default=0.4, help="share delivered at the kill")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--db-path", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


async def open_rows(db: Database, *statuses: str) -> int:
    """Rows in the given statuses."""
    async with db.session() as session:
        count = await session.scalar(
            select(func.count()).select_from(OUTBOX).where(OUTBOX.c.status.in_(statuses))
        )
    return int(count or 0)


async def child(args: argparse.Namespace) -> None:
    """The bot's dispatcher: run until no row is open, then exit."""
    setup_logging()
    db = Database(f"sqlite+aiosqlite:///{args.db_path}")
    sender = TelegramSender(TOKEN, f"{args.url}/bot", max_connections=args.concurrency)
    limits = ChannelLimits(per_second=args.limit or math.inf)
    dispatcher = Dispatcher(
        db,
        {"telegram": sender},
        SystemClock(),
        limits={"telegram": limits},
        chats=CHAT_EVENTS,
        concurrency=args.concurrency,
    )
    recovered = await dispatcher.recover()
    say(f"child: {recovered} rows were left in flight; dispatching")
    freeze_startup_heap()  # as `loa run` does before it starts the dispatcher
    await dispatcher.start()
    while True:
        if not await open_rows(db, "pending", "sending"):
            break
        await asyncio.sleep(0.2)
    await dispatcher.stop()
    await sender.aclose()
    await db.dispose()


async def parent(args: argparse.Namespace) -> dict[str, int]:
    """Seed, run the child, kill it, run it again, count."""
    chats = chat_ids(args.recipients)
    with workdir() as tmp:
        db_path = Path(tmp) / "bench.db"
        async with database("sqlite", Path(tmp)) as db:
            await seed_broadcast(db, chats, now=SystemClock().now(), text_body=TEXT)
        async with fake_server(
            rate_limit=args.limit or None, forbidden_ratio=FORBIDDEN_RATIO
        ) as server:
            command = [
                sys.executable,
                "-m",
                "benchmarks.crash",
                "--child",
                "--db-path",
                str(db_path),
                "--url",
                server.url,
                "--limit",
                str(args.limit),
                "--concurrency",
                str(args.concurrency),
            ]
            first = await asyncio.create_subprocess_exec(*command)
            target = int(args.recipients * args.kill_at)
            while (await server.stats())["sends_accepted"] < target:
                if first.returncode is not None:
                    raise RuntimeError("the dispatcher finished before the kill")
                await asyncio.sleep(0.05)
            first.send_signal(signal.SIGKILL)
            await first.wait()
            at_kill = (await server.stats())["sends_accepted"]
            db = Database(f"sqlite+aiosqlite:///{db_path}")
            in_flight = await open_rows(db, "sending")
            await db.dispose()
            say(f"killed at {at_kill} accepted sends; {in_flight} rows were `sending`")
            started = time.monotonic()
            second = await asyncio.create_subprocess_exec(*command)
            await second.wait()
            say(f"restart finished in {time.monotonic() - started:.1f}s (exit {second.returncode})")
            stats = await server.stats(per_chat=True)
    per_chat: dict[str, int] = stats["per_chat_accepted"]
    expected = [c for c in chats if not is_blocked_by_ratio(c, FORBIDDEN_RATIO)]
    return {
        "recipients": args.recipients,
        "delivered_once": sum(1 for c in chats if per_chat.get(c, 0) == 1),
        "lost": sum(1 for c in expected if per_chat.get(c, 0) == 0),
        "duplicates": sum(1 for c in chats if per_chat.get(c, 0) > 1),
        "in_flight": in_flight,
    }


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark (or, with --child, the dispatcher) and print one RESULT line."""
    args = parse_args(argv)
    if args.child:
        asyncio.run(child(args))
        return
    figures = asyncio.run(parent(args))
    say(
        "RESULT crash recipients={recipients} delivered_once={delivered_once} lost={lost} "
        "duplicates={duplicates}".format(**figures)
    )


if __name__ == "__main__":
    main()
