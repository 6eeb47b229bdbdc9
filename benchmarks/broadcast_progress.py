"""A coordinator's broadcast under the 30/s limit: progress edits, time to 100 %, and a kill -9.

The bot side (dispatcher + the progress reporter, as `loa run` wires them) runs as a child
process on a SQLite file; the fake Bot API runs in its own process with a 30/s global limit.
The broadcast is confirmed through the broadcasts service for `--recipients` residents (2 % of
chats blocked). Run 1 goes to the end: time to 100 % and the number of progress edits. Run 2
kills the child with SIGKILL at `--kill-at` of the way, starts a new one, and counts what each
recipient got.

    python -m benchmarks.broadcast_progress --recipients 2000

RESULT fields: seconds = confirm to «done»; edits = progress edits the fake accepted (edit rows
the dispatcher sent: at most one per EDIT_EVERY_S, the finished text included); coalesced =
times a newer figure rewrote an edit row still waiting instead of queueing another;
delivered_once, lost (not blocked, got none), duplicates (got two: at most the sends in flight
at the kill), status = the broadcast's final status after the restart.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlmodel import col

from benchmarks.harness import TOKEN, chat_ids, fake_server, say, setup_logging, workdir
from bot.app import CHAT_EVENTS
from bot.channels.telegram.sender import TelegramSender
from bot.clock import SystemClock
from bot.coordinators import broadcasts
from bot.coordinators.progress import BroadcastProgress
from bot.delivery.dispatcher import Dispatcher
from bot.delivery.limiter import ChannelLimits
from bot.storage.db import Database
from bot.storage.models import Broadcast, Official, Subscriber
from bot.storage.models.delivery import PENDING, SENDING, SENT, OutboxMessage
from fakes.botapi import is_blocked_by_ratio
from messages.packs import load_pack

FORBIDDEN_RATIO = 0.02
COORDINATOR_CHAT = "999000001"
TEXT = "Mời bà con dự lễ phát động Tháng hành động vì bình đẳng giới tối thứ Bảy."


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options (the --child ones are for the bot process)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.broadcast_progress")
    parser.add_argument("--recipients", type=int, default=2000)
    parser.add_argument("--limit", type=float, default=30.0, help="sends/s of the fake and Loa")
    parser.add_argument("--kill-at", type=float, default=0.4, help="share delivered at the kill")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--db-path", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


async def status_of(db: Database) -> str:
    async with db.session() as session:
        return str((await session.execute(select(col(Broadcast.status)))).scalar_one())


async def child(args: argparse.Namespace) -> None:
    """The bot: dispatcher and progress reporter until the broadcast is done."""
    setup_logging()
    db = Database(f"sqlite+aiosqlite:///{args.db_path}")
    sender = TelegramSender(TOKEN, f"{args.url}/bot")
    clock = SystemClock()
    dispatcher = Dispatcher(
        db,
        {"telegram": sender},
        clock,
        limits={"telegram": ChannelLimits(per_second=args.limit)},
        chats=CHAT_EVENTS,
    )
    progress = BroadcastProgress(db, clock, editable={"telegram"}, notify=dispatcher.notify)
    await dispatcher.recover()
    await dispatcher.start()
    started = time.monotonic()
    stop = asyncio.Event()
    reporter = asyncio.create_task(progress.run(stop))
    while True:
        if await status_of(db) == "done":
            break
        await asyncio.sleep(0.2)
    seconds = time.monotonic() - started
    stop.set()
    await reporter
    while True:  # the finished text lands
        if not await coordinator_rows(db, (PENDING, SENDING)):
            break
        await asyncio.sleep(0.2)
    await dispatcher.stop()
    await sender.aclose()
    edits = await coordinator_rows(db, (SENT,), edits=True)
    await db.dispose()
    print(f"EDITS {edits} COALESCED {progress.rewrites} SECONDS {seconds:.1f}", flush=True)


async def coordinator_rows(db: Database, statuses: tuple[str, ...], *, edits: bool = False) -> int:
    """Outbox rows to the coordinator in these statuses (only edit rows: `edits`)."""
    rows = col(OutboxMessage.chat_id) == COORDINATOR_CHAT, col(OutboxMessage.status).in_(statuses)
    query = select(func.count()).select_from(OutboxMessage).where(*rows)
    if edits:
        query = query.where(col(OutboxMessage.edit_of).is_not(None))
    async with db.session() as session:
        return int((await session.execute(query)).scalar_one())


async def seed(db_path: Path, chats: list[str], now: datetime) -> None:
    """Residents, a coordinator, and a confirmed broadcast to all residents."""
    db = Database(f"sqlite+aiosqlite:///{db_path}")
    await db.create_all()
    async with db.session() as session:
        session.add_all(
            Subscriber(channel="telegram", chat_id=c, created_at=now, updated_at=now) for c in chats
        )
        session.add(
            Official(channel="telegram", chat_id=COORDINATOR_CHAT, role="coordinator", bound_at=now)
        )
    async with db.session() as session:
        row = await broadcasts.create(
            session, author="bench", channel="telegram", chat_id=COORDINATOR_CHAT, text=TEXT,
            audience=broadcasts.Audience("residents"), now=now,
        )  # fmt: skip
        assert row.id is not None
        await broadcasts.confirm(session, load_pack("ky-lua-2025"), row.id, now=now)
    await db.dispose()


async def one_run(args: argparse.Namespace, *, kill: bool) -> dict[str, object]:
    chats = chat_ids(args.recipients)
    with workdir() as tmp:
        db_path = Path(tmp) / "bench.db"
        await seed(db_path, chats, SystemClock().now())
        async with fake_server(rate_limit=args.limit, forbidden_ratio=FORBIDDEN_RATIO) as server:
            command = [
                sys.executable, "-m", "benchmarks.broadcast_progress", "--child",
                "--db-path", str(db_path), "--url", server.url, "--limit", str(args.limit),
            ]  # fmt: skip
            started = time.monotonic()
            first = await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.PIPE)
            figures: dict[str, object] = {}
            if kill:
                target = int(args.recipients * args.kill_at)
                while (await server.stats())["sends_accepted"] < target:
                    if first.returncode is not None:
                        raise RuntimeError("the broadcast finished before the kill")
                    await asyncio.sleep(0.05)
                first.send_signal(signal.SIGKILL)
                await first.wait()
                say(f"killed at {(await server.stats())['sends_accepted']} accepted sends")
                second = await asyncio.create_subprocess_exec(
                    *command, stdout=asyncio.subprocess.PIPE
                )
                await second.communicate()
            else:
                out, _ = await first.communicate()
                words = out.decode().split()
                figures["edits"] = int(words[words.index("EDITS") + 1])
                figures["coalesced"] = int(words[words.index("COALESCED") + 1])
                figures["seconds"] = float(words[words.index("SECONDS") + 1])
            figures["with_restart_s"] = round(time.monotonic() - started, 1)
            per_chat: dict[str, int] = (await server.stats(per_chat=True))["per_chat_accepted"]
        db = Database(f"sqlite+aiosqlite:///{db_path}")
        figures["status"] = await status_of(db)
        await db.dispose()
    expected = [c for c in chats if not is_blocked_by_ratio(c, FORBIDDEN_RATIO)]
    figures.update(
        delivered_once=sum(1 for c in chats if per_chat.get(c, 0) == 1),
        lost=sum(1 for c in expected if per_chat.get(c, 0) == 0),
        duplicates=sum(1 for c in chats if per_chat.get(c, 0) > 1),
    )
    return figures


def main(argv: list[str] | None = None) -> None:
    """Run both runs (or, with --child, the bot) and print RESULT lines."""
    args = parse_args(argv)
    if args.child:
        asyncio.run(child(args))
        return
    whole = asyncio.run(one_run(args, kill=False))
    say(
        f"RESULT broadcast_progress recipients={args.recipients} limit={args.limit:g}/s "
        f"seconds_to_100pct={whole['seconds']} edits={whole['edits']} "
        f"coalesced={whole['coalesced']} "
        f"delivered_once={whole['delivered_once']} lost={whole['lost']} status={whole['status']}"
    )
    crash = asyncio.run(one_run(args, kill=True))
    say(
        f"RESULT broadcast_crash recipients={args.recipients} kill_at={args.kill_at:g} "
        f"delivered_once={crash['delivered_once']} lost={crash['lost']} "
        f"duplicates={crash['duplicates']} status={crash['status']} "
        f"seconds_with_restart={crash['with_restart_s']}"
    )


if __name__ == "__main__":
    main()
