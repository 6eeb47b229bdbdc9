"""Zalo OA follow storm: N residents follow the ward's OA at once (a ward announcement).

The fake OA delivers N signed `follow` events over HTTP (8 at a time; a delivery's answer time
is measured from its POST to the bot's 200) to the OA webhook; each is
stored in the durable inbox before its 200, then the turns run (the offer to subscribe written to
the outbox). Then the
dispatcher sends the N offers to the fake OA. Prints the time until every event was answered 200
(Zalo wants each answer within 2 s) and until every offer was accepted.

    python -m benchmarks.oa_follows --followers 2000
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.harness import say, setup_logging
from bot.clock import FakeClock
from bot.storage.db import Database
from tests.support.pack import small_pack
from tests.support.zalo_oa import oa_harness

DELIVERIES = 8  # as many at once as the fake OA delivers (Zalo's own figure is unpublished)


async def run(followers: int) -> str:
    """One storm; returns the RESULT line."""
    with tempfile.TemporaryDirectory(prefix="loa-oa-") as tmp:
        db = Database(f"sqlite+aiosqlite:///{Path(tmp) / 'oa.db'}")
        await db.create_all()
        clock = FakeClock(datetime(2025, 11, 16, 2, 0, tzinfo=UTC))
        try:
            async with oa_harness(db, small_pack(), clock) as h:
                users = [f"5{n:07d}" for n in range(followers)]
                queue: asyncio.Queue[str] = asyncio.Queue()
                for user in users:
                    queue.put_nowait(user)
                latencies: list[float] = []
                statuses: list[int] = []

                async def deliverer() -> None:  # one of Zalo's 8 concurrent deliveries
                    while not queue.empty():
                        user = queue.get_nowait()
                        started = time.perf_counter()
                        statuses.append(await h.fake.follow(user))
                        latencies.append(time.perf_counter() - started)

                start = time.perf_counter()
                await asyncio.gather(*(deliverer() for _ in range(DELIVERIES)))
                answered_s = time.perf_counter() - start
                say(f"{followers} follows answered in {answered_s:.1f}s")
                await h.loa.inbox.drain()
                await h.drain()
                offered_s = time.perf_counter() - start
                offered = sum(1 for u in users if h.fake.sent_to(u))
        finally:
            await db.dispose()
    latencies.sort()
    p95 = latencies[int(0.95 * (len(latencies) - 1))]
    ok = sum(1 for s in statuses if s == 200)
    return (
        f"RESULT followers={followers} answered_200={ok} answered_s={answered_s:.1f} "
        f"turns_per_s={followers / answered_s:.1f} p95_answer_ms={p95 * 1000:.0f} "
        f"offers_sent={offered} all_offers_s={offered_s:.1f}"
    )


def main(argv: list[str] | None = None) -> None:
    """Entry point."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.oa_follows", description=__doc__)
    parser.add_argument("--followers", type=int, default=2000)
    args = parser.parse_args(argv)
    setup_logging()
    print(asyncio.run(run(args.followers)), flush=True)


if __name__ == "__main__":
    main()
