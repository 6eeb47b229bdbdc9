"""Broadcast under a strict rate limit, with a resident chatting through the reply lane.

The fake Bot API (own process) enforces `--limit` sends/s in any one-second window (429 +
retry_after beyond it) and answers 403 for 2 % of chats. Every ~0.5 s a simulated resident
types to the bot: the update goes through the real conversation core (a database transaction,
the router, the reply written to the outbox at priority REPLY); its latency is the moment the
core starts handling the update → the server's 200 answer to the reply.

    python -m benchmarks.broadcast --limit 30 --recipients 2000
    python -m benchmarks.broadcast --limit 1000 --recipients 20000

RESULT fields: achieved_per_s = sends the server accepted per second between the first and the
last accepted send (bulk and replies); ratio = achieved / limit; lost = recipients not blocked that
never got the message; duplicates = recipients that got it more than once.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.harness import (
    TOKEN,
    TimedChannel,
    as_channel,
    busiest_second,
    chat_ids,
    database,
    dump,
    fake_server,
    percentile,
    say,
    seed_broadcast,
    setup_logging,
    stalls,
    workdir,
)
from bot.app import CHAT_EVENTS, freeze_startup_heap
from bot.channels.base import Inbound, InboundKind, SendStatus
from bot.channels.telegram.sender import TelegramSender
from bot.chat.conversation import Conversation
from bot.chat.router import Router
from bot.clock import SystemClock
from bot.delivery.dispatcher import Dispatcher
from bot.delivery.limiter import ChannelLimits
from bot.residents.chat import Residents
from fakes.botapi import is_blocked_by_ratio
from messages.packs import load_pack

FORBIDDEN_RATIO = 0.02
REPLY_EVERY_S = 0.5
TEXT = (
    "Tháng hành động vì bình đẳng giới và phòng ngừa, ứng phó với bạo lực trên cơ sở giới "
    "(15/11 – 15/12). Đường dây nóng 111 (miễn phí, 24/7)."
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.broadcast", description=__doc__)
    parser.add_argument(
        "--limit", type=float, default=30.0, help="server limit, sends/s (0: no limit)"
    )
    parser.add_argument("--recipients", type=int, default=2000)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--concurrency", type=int, default=128)
    parser.add_argument("--residents", type=int, default=10, help="chats sending replies")
    return parser.parse_args(argv)


async def run_broadcast(args: argparse.Namespace) -> dict[str, Any]:
    """Run one broadcast and return the figures."""
    chats = chat_ids(args.recipients)
    candidates = chat_ids(args.residents * 3, offset=args.recipients + 1000)
    residents = [c for c in candidates if not is_blocked_by_ratio(c, FORBIDDEN_RATIO)]
    residents = residents[: args.residents]
    clock = SystemClock()
    with workdir() as tmp:
        async with (
            fake_server(rate_limit=args.limit or None, forbidden_ratio=FORBIDDEN_RATIO) as server,
            database("sqlite" if args.db == "sqlite" else "postgresql", Path(tmp)) as db,
        ):
            say(f"seeding {args.recipients} subscribers and outbox rows ({args.db})")
            await seed_broadcast(db, chats, now=clock.now(), text_body=TEXT)
            sender = TelegramSender(TOKEN, server.base_url, max_connections=args.concurrency)
            timed = TimedChannel(sender, set(residents))
            limits = ChannelLimits(per_second=args.limit or math.inf)
            dispatcher = Dispatcher(
                db,
                {"telegram": as_channel(timed)},
                clock,
                limits={"telegram": limits},
                chats=CHAT_EVENTS,
                concurrency=args.concurrency,
            )
            enqueued: dict[str, float] = {}
            say(f"broadcast to {args.recipients} at limit {args.limit or 'none'}/s")
            started = time.monotonic()
            freeze_startup_heap()  # as `loa run` does before it starts the dispatcher
            await dispatcher.start()
            resident = asyncio.create_task(_resident(db, dispatcher, residents, enqueued))
            expected_bulk = args.recipients
            last_report = started
            while True:
                done = timed.statuses.get(SendStatus.OK, 0) + timed.statuses.get(
                    SendStatus.BLOCKED, 0
                )
                if done - len(timed.watched_done) >= expected_bulk:
                    break
                await asyncio.sleep(0.2)
                if time.monotonic() - last_report >= 5:
                    last_report = time.monotonic()
                    elapsed = last_report - started
                    say(
                        f"  {elapsed:5.1f}s sent={timed.statuses.get(SendStatus.OK, 0)} "
                        f"blocked={timed.statuses.get(SendStatus.BLOCKED, 0)} "
                        f"retry={timed.statuses.get(SendStatus.RETRY, 0)} "
                        f"replies={len(timed.watched_done)}/{len(enqueued)}"
                    )
            resident.cancel()
            await asyncio.gather(resident, return_exceptions=True)
            for _ in range(50):  # the last reply may still be on its way
                if len(timed.watched_done) >= len(enqueued):
                    break
                await asyncio.sleep(0.1)
            await dispatcher.stop()
            await sender.aclose()
            stats = await server.stats(per_chat=True)
    per_chat: dict[str, int] = stats.get("per_chat_accepted", {})
    expected = [c for c in chats if not is_blocked_by_ratio(c, FORBIDDEN_RATIO)]
    lost = sum(1 for c in expected if per_chat.get(c, 0) == 0)
    duplicates = sum(1 for c in chats if per_chat.get(c, 0) > 1)
    ok_times = timed.ok_times
    span = ok_times[-1] - ok_times[0] if len(ok_times) > 1 else math.inf
    achieved = (len(ok_times) - 1) / span
    latencies = [
        (timed.watched_done[text] - at) * 1000.0
        for text, at in enqueued.items()
        if text in timed.watched_done
    ]
    say(f"busiest one-second window at the client: {busiest_second(timed.start_times)} sends")
    count, lost_s = stalls(timed.start_times, args.limit)
    say(f"pauses longer than 10 intervals: {count}, {lost_s:.2f}s lost")
    say("server stats: " + dump({k: v for k, v in stats.items() if k != "per_chat_accepted"}))
    say(
        f"replies: {len(latencies)}/{len(enqueued)} delivered, "
        f"p50={percentile(latencies, 0.5):.0f}ms max={max(latencies, default=0):.0f}ms"
    )
    return {
        "recipients": args.recipients,
        "limit_per_s": args.limit,
        "achieved_per_s": achieved,
        "ratio": achieved / args.limit if args.limit else math.nan,
        "lost": lost,
        "duplicates": duplicates,
        "p95_reply_ms": percentile(latencies, 0.95),
        "rate_limited": stats.get("rate_limited", 0),
        "replies_missing": len(enqueued) - len(latencies),
    }


async def _resident(
    db: Any, dispatcher: Dispatcher, residents: list[str], enqueued: dict[str, float]
) -> None:
    """A person typing: one message every ~0.5 s, spread over a few chats, through the core.

    Each message is an unknown command «/xN», whose answer quotes it, so every reply text is
    unique and its delivery can be matched to the moment the core began handling it.
    """
    router = Router()
    Residents(load_pack("ky-lua-2025")).register(router)
    conversation = Conversation(db, router, SystemClock(), on_replies=dispatcher.notify)
    index = 0
    while True:
        await asyncio.sleep(REPLY_EVERY_S)
        chat = residents[index % len(residents)]
        inbound = Inbound(
            channel="telegram",
            chat_id=chat,
            update_id=f"bench-{index}",
            kind=InboundKind.COMMAND,
            received_at=datetime.now(UTC),
            text=f"/x{index}",
            command=f"x{index}",
        )
        started = time.monotonic()
        replies = await conversation.handle(inbound)
        for reply in replies:
            enqueued[reply.text] = started
        index += 1


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print one RESULT line."""
    args = parse_args(argv)
    setup_logging()
    figures = asyncio.run(run_broadcast(args))
    say(
        "RESULT broadcast recipients={recipients} limit_per_s={limit_per_s:g} "
        "achieved_per_s={achieved_per_s:.1f} ratio={ratio:.3f} lost={lost} "
        "duplicates={duplicates} p95_reply_ms={p95_reply_ms:.0f}".format(**figures)
    )


if __name__ == "__main__":
    main()
