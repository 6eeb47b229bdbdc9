"""Export through the chat: a coordinator types /xuatbaocao and the four files arrive.

100 agencies have reported (as in `benchmarks.export`); the bot is wired as `loa run` wires it
(`build_loa`, the dispatcher, the lean Telegram sender) against the fake Bot API on 127.0.0.1.
The time runs from the update being handled to the fake having accepted the last of the four
files (sendDocument ×3, sendPhoto), so it covers reading, summing, rendering, storing, the
outbox and the multipart uploads.

    python -m benchmarks.export_chat --agencies 100 [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.export import bench_pack, seed
from benchmarks.harness import TOKEN, database, say, setup_logging, workdir
from bot.app import build_loa
from bot.channels.base import Inbound, InboundKind
from bot.channels.telegram.sender import TelegramSender
from bot.clock import FakeClock
from bot.coordinators.filestore import FileStore
from bot.reporting.repository import bind_official
from fakes.botapi import FakeBotApi

NOW = datetime(2025, 12, 16, 2, 0, tzinfo=UTC)
COORDINATOR = "900000001"


async def run(args: argparse.Namespace) -> str:
    pack = bench_pack(args.agencies)
    with workdir() as tmp:
        async with database("sqlite", Path(tmp)) as db, FakeBotApi() as server:
            await seed(db, pack)
            async with db.session() as session:
                await bind_official(
                    session, channel="telegram", chat_id=COORDINATOR, role="coordinator",
                    agency_id=None, lang="vi", now=NOW,
                )  # fmt: skip
            sender = TelegramSender(TOKEN, f"{server.url}/bot")
            loa = build_loa(
                db=db, pack=pack, clock=FakeClock(NOW), channels={"telegram": sender},
                files=FileStore(Path(tmp) / "files"),
            )  # fmt: skip
            await loa.dispatcher.start()
            times: list[float] = []
            sizes = 0
            for attempt in range(args.repeat):
                before = len(server.sent_to(COORDINATOR))
                started = time.perf_counter()
                await loa.conversation.handle(
                    Inbound(
                        channel="telegram", chat_id=COORDINATOR, update_id=f"u{attempt}",
                        kind=InboundKind.COMMAND, received_at=NOW, text="/xuatbaocao",
                        command="xuatbaocao",
                    )
                )  # fmt: skip
                while True:
                    calls = server.sent_to(COORDINATOR)[before:]
                    files = [c for c in calls if c.method in ("sendDocument", "sendPhoto")]
                    if len(files) == 4:
                        break
                    await asyncio.sleep(0.01)
                times.append(time.perf_counter() - started)
                sizes = sum(
                    int(c.params.get("document", c.params.get("photo", {})).get("size", 0))
                    for c in files
                )
            await loa.dispatcher.stop()
            await sender.aclose()
    return (
        f"RESULT export_chat agencies={args.agencies} files=4 bytes={sizes} "
        f"median_s={statistics.median(times):.2f} max_s={max(times):.2f} runs={len(times)}"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agencies", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    setup_logging()
    say(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
