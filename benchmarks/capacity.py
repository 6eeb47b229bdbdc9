"""Capacity: how many sends a second the delivery engine pushes when nothing limits it.

Same set-up as `benchmarks.broadcast` (fake Bot API in its own process, 2 % of chats blocked,
a resident replying every ~0.5 s) but the server enforces no rate and the limiter is unbounded.

    python -m benchmarks.capacity --recipients 20000
"""

from __future__ import annotations

import argparse
import asyncio

from benchmarks.broadcast import run_broadcast
from benchmarks.harness import say, setup_logging


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.capacity", description=__doc__)
    parser.add_argument("--recipients", type=int, default=20000)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--concurrency", type=int, default=128)
    parser.add_argument("--residents", type=int, default=10)
    args = parser.parse_args(argv)
    args.limit = 0.0
    return args


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print one RESULT line."""
    args = parse_args(argv)
    setup_logging()
    figures = asyncio.run(run_broadcast(args))
    say(
        "RESULT capacity recipients={recipients} sends_per_s={achieved_per_s:.0f} "
        "lost={lost} duplicates={duplicates} p95_reply_ms={p95_reply_ms:.0f}".format(**figures)
    )


if __name__ == "__main__":
    main()
