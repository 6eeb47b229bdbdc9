"""Memory: enqueue and broadcast to 100,000 subscribers on SQLite; report this process's peak RSS.

The fake Bot API runs in its own process with no rate limit (its memory is not counted). The
dispatcher keeps at most a few hundred claimed rows in memory, whatever the queue length.

    python -m benchmarks.memory --recipients 100000
"""

from __future__ import annotations

import argparse
import asyncio
import math
import time
from pathlib import Path

from benchmarks.crash import open_rows
from benchmarks.harness import (
    TOKEN,
    chat_ids,
    database,
    fake_server,
    peak_rss_mb,
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

TEXT = (
    "Ngày 25/11 — Ngày Quốc tế xóa bỏ bạo lực đối với phụ nữ. Hãy lên tiếng khi chứng kiến bạo "
    "lực; gọi 111 để được hỗ trợ."
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.memory", description=__doc__)
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, default=128)
    return parser.parse_args(argv)


async def run_memory(args: argparse.Namespace) -> dict[str, float]:
    """Seed, broadcast, measure."""
    clock = SystemClock()
    with workdir() as tmp:
        async with (
            fake_server(rate_limit=None, forbidden_ratio=0.0) as server,
            database("sqlite", Path(tmp)) as db,
        ):
            say(f"rss at start: {peak_rss_mb():.0f} MB")
            started = time.monotonic()
            await seed_broadcast(db, chat_ids(args.recipients), now=clock.now(), text_body=TEXT)
            say(
                f"seeded {args.recipients} subscribers and rows in "
                f"{time.monotonic() - started:.1f}s; peak rss {peak_rss_mb():.0f} MB"
            )
            sender = TelegramSender(TOKEN, server.base_url, max_connections=args.concurrency)
            dispatcher = Dispatcher(
                db,
                {"telegram": sender},
                clock,
                limits={"telegram": ChannelLimits(per_second=math.inf)},
                chats=CHAT_EVENTS,
                concurrency=args.concurrency,
            )
            started = time.monotonic()
            freeze_startup_heap()  # as `loa run` does before it starts the dispatcher
            await dispatcher.start()
            while (left := await open_rows(db, "pending", "sending")) > 0:
                await asyncio.sleep(1.0)
                say(f"  {time.monotonic() - started:5.1f}s open={left} rss={peak_rss_mb():.0f} MB")
            await dispatcher.stop()
            await sender.aclose()
            elapsed = time.monotonic() - started
            stats = await server.stats()
    return {
        "recipients": args.recipients,
        "accepted": stats["sends_accepted"] - 3,  # minus the harness's warm-up sends
        "sends_per_s": args.recipients / elapsed,
        "peak_rss_mb": peak_rss_mb(),
    }


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print one RESULT line."""
    args = parse_args(argv)
    setup_logging()
    figures = asyncio.run(run_memory(args))
    say(f"accepted {figures['accepted']:.0f} sends at {figures['sends_per_s']:.0f}/s")
    say("RESULT memory recipients={recipients} peak_rss_mb={peak_rss_mb:.0f}".format(**figures))


if __name__ == "__main__":
    main()
