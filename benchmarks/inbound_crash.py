"""Inbound crash probe: bursts from many chats, `kill -9` of the real `loa run` at random moments,
restart; count what every message got.

The fake Bot API runs in this process (it records every reply); `python -m bot run` runs as a
child on a SQLite file (or a fresh PostgreSQL database with `--db postgres`), long polling the
fake, or in webhook mode (`--webhook`: the probe posts each update to the bot's webhook as
Telegram would and counts it sent only when the bot answered 200). Each round starts the bot,
sends a burst — every chat types a few unknown commands «/pCxN», each unique, whose answer
quotes it — kills the bot with SIGKILL 0–`--max-delay` seconds later, and sends a few more while
it is down. A last run lets everything be answered.

    python -m benchmarks.inbound_crash --chats 50 --messages 3 --rounds 6

RESULT fields: sent = messages sent; answered = messages answered at least once; lost = messages
never answered; duplicated = messages answered more than once (the replies in flight at a kill:
the guarantee is at least once); out_of_order = chats whose answers came in another order than
their messages were sent.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import re
import signal
import socket
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from benchmarks.harness import PG_DEFAULT, say
from fakes.botapi import FakeBotApi

TOKEN = "7000000001:inbound-crash-probe"
FIRST_CHAT = 500_000_000
QUOTED = re.compile(r"«(/p\d+x\d+)»")
SECRET = "probe-secret"


@dataclass
class Figures:
    """What the probe counted."""

    sent: int = 0
    answered: int = 0
    lost: int = 0
    duplicated: int = 0
    duplicate_replies: int = 0
    out_of_order: int = 0
    kills: int = 0
    lost_ids: list[str] = field(default_factory=list)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.inbound_crash", description=__doc__)
    parser.add_argument("--chats", type=int, default=50)
    parser.add_argument("--messages", type=int, default=3, help="per chat and burst")
    parser.add_argument("--rounds", type=int, default=6, help="bursts, each ended by a kill")
    parser.add_argument("--max-delay", type=float, default=0.8, help="kill within this many s")
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--webhook", action="store_true", help="webhook mode instead of polling")
    parser.add_argument("--seed", type=int, default=None)
    return parser.parse_args(argv)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def _database(kind: str, tmp: Path) -> AsyncIterator[str]:
    """The DATABASE_URL for the bot: a SQLite file, or a fresh PostgreSQL database."""
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp / 'probe.db'}"
        return
    admin_url = os.environ.get("TEST_DATABASE_URL", PG_DEFAULT)
    name = f"loa_probe_{uuid.uuid4().hex[:10]}"
    admin = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        await admin.dispose()


class Probe:
    """The fake server, the bot child process, and the messages sent so far."""

    def __init__(self, server: FakeBotApi, env: dict[str, str], cwd: Path, webhook: bool) -> None:
        self.server = server
        self.env = env
        self.cwd = cwd
        self.webhook = webhook
        self.hook_url = env.get("TELEGRAM_WEBHOOK_URL", "")
        self.sent: dict[str, list[str]] = defaultdict(list)  # chat → its commands, in order
        # every command tried, in order; in webhook mode a post cut off by the kill may have
        # been stored (and answered) without its 200 reaching the sender
        self.tried: dict[str, list[str]] = defaultdict(list)
        self.child: asyncio.subprocess.Process | None = None
        self._drain: asyncio.Task[None] | None = None
        self._seq = 0
        self.post_errors: Counter[str] = Counter()
        # one client for every webhook post, as Telegram keeps its connections
        self.http = httpx.AsyncClient(trust_env=False, timeout=10.0)

    async def start_bot(self) -> None:
        """Start `loa run` and wait for its «receiving Telegram updates» line."""
        self.child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            cwd=self.cwd,
            env=self.env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        assert self.child.stderr is not None
        lines: list[str] = []
        async with asyncio.timeout(60):
            while True:
                raw = await self.child.stderr.readline()
                if not raw:
                    raise RuntimeError("the bot exited at start:\n" + "".join(lines[-20:]))
                lines.append(raw.decode(errors="replace"))
                if "receiving Telegram updates" in lines[-1]:
                    break
        self._drain = asyncio.create_task(self._drain_stderr(self.child.stderr))

    @staticmethod
    async def _drain_stderr(stream: asyncio.StreamReader) -> None:
        while await stream.readline():
            pass

    async def kill_bot(self) -> None:
        """SIGKILL: no clean-up of any kind."""
        assert self.child is not None
        with contextlib.suppress(ProcessLookupError):
            self.child.send_signal(signal.SIGKILL)
        await self.child.wait()
        self.child = None

    async def stop_bot(self) -> None:
        """SIGTERM and wait."""
        assert self.child is not None
        self.child.send_signal(signal.SIGTERM)
        await asyncio.wait_for(self.child.wait(), 60)
        self.child = None

    async def burst(self, chats: int, messages: int) -> None:
        """Every chat types `messages` unique unknown commands: chats at once, each in order."""

        async def one_chat(index: int) -> None:
            for _ in range(messages):
                await self.send(index)

        await asyncio.gather(*(one_chat(index) for index in range(chats)))

    async def send(self, index: int) -> None:
        """One message from chat `index`; in webhook mode it counts only when answered 200."""
        self._seq += 1
        command = f"/p{index}x{self._seq}"
        chat = FIRST_CHAT + index
        update = self.server.message_update(chat, command)
        word = {"type": "bot_command", "offset": 0, "length": len(command)}
        update["message"]["entities"] = [word]
        self.tried[str(chat)].append(command)
        if not self.webhook:
            self.server.push_raw(update)
            self.sent[str(chat)].append(command)
            return
        try:
            response = await self.http.post(
                self.hook_url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}
            )
            status = response.status_code
        except Exception as error:
            self.post_errors[type(error).__name__] += 1
            return  # the bot is down: Telegram keeps it and tries again (not modelled here)
        if status == 200:
            self.sent[str(chat)].append(command)

    def replies(self) -> dict[str, list[str]]:
        """Per chat, the quoted commands of every answer, in the order the server got them."""
        got: dict[str, list[str]] = defaultdict(list)
        for call in self.server.sent:
            if call.method == "sendMessage" and call.text:
                match = QUOTED.search(call.text)
                if match:
                    got[call.chat_id].append(match.group(1))
        return got

    def unanswered(self) -> int:
        """Messages sent and not answered yet."""
        got = self.replies()
        return sum(len(set(cmds) - set(got.get(chat, []))) for chat, cmds in self.sent.items())

    async def settle(self, *, quiet_s: float = 5.0, limit_s: float = 120.0) -> None:
        """Wait until everything is answered (or nothing moved for `quiet_s`)."""
        started = last_change = time.monotonic()
        last = -1
        while time.monotonic() - started < limit_s:
            left = self.unanswered()
            if left == 0:
                await asyncio.sleep(1.0)  # let late duplicates show
                return
            if left != last:
                last, last_change = left, time.monotonic()
            elif time.monotonic() - last_change > quiet_s + 30:
                return
            await asyncio.sleep(0.2)


def count(probe: Probe, kills: int) -> Figures:
    """Compare what was sent with what was answered."""
    got = probe.replies()
    figures = Figures(kills=kills)
    for chat, commands in probe.sent.items():
        answers = Counter(got.get(chat, []))
        figures.sent += len(commands)
        for command in commands:
            if answers[command] == 0:
                figures.lost += 1
                figures.lost_ids.append(command)
            else:
                figures.answered += 1
                if answers[command] > 1:
                    figures.duplicated += 1
                    figures.duplicate_replies += answers[command] - 1
        first_seen = list(dict.fromkeys(got.get(chat, [])))
        if first_seen != [c for c in probe.tried[chat] if c in answers]:
            figures.out_of_order += 1
    return figures


def _env(tmp: Path, database_url: str, server_url: str, webhook: bool) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp),
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": f"{server_url}/bot",
        "DATABASE_URL": database_url,
        "LOA_CAMPAIGN": "ky-lua-2026",
        "LOA_LOG_LEVEL": "INFO",
        "PTB_TIMEDELTA": "1",
    }
    if os.environ.get("PYTHONPATH"):  # to probe another checkout's bot
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    if webhook:
        port = _free_port()
        env.update(
            TELEGRAM_WEBHOOK_URL=f"http://127.0.0.1:{port}/hook",
            TELEGRAM_WEBHOOK_SECRET=SECRET,
            TELEGRAM_WEBHOOK_PORT=str(port),
        )
    return env


async def run_probe(args: argparse.Namespace) -> Figures:
    """The whole probe; returns its figures."""
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="loa-probe-") as tmp_name:
        tmp = Path(tmp_name)
        async with _database(args.db, tmp) as database_url, FakeBotApi() as server:
            probe = Probe(
                server, _env(tmp, database_url, server.url, args.webhook), tmp, args.webhook
            )
            for round_no in range(args.rounds):
                await probe.start_bot()
                burst = asyncio.create_task(probe.burst(args.chats, args.messages))
                await asyncio.sleep(rng.uniform(0.0, args.max_delay))
                await probe.kill_bot()
                await burst
                if not args.webhook:  # while the bot is down, people keep typing
                    for index in rng.sample(range(args.chats), min(5, args.chats)):
                        await probe.send(index)
                say(
                    f"round {round_no + 1}: killed; {probe.unanswered()} unanswered so far"
                    + (f"; posts failed: {dict(probe.post_errors)}" if probe.post_errors else "")
                )
            await probe.start_bot()
            await probe.settle()
            await probe.stop_bot()
            await probe.http.aclose()
            return count(probe, args.rounds)


def _chunks(items: list[str]) -> Iterator[str]:
    yield from items[:10]


def main(argv: list[str] | None = None) -> None:
    """Run the probe and print one RESULT line."""
    args = parse_args(argv)
    started = time.monotonic()
    figures = asyncio.run(run_probe(args))
    if figures.lost_ids:
        say("never answered (first 10): " + " ".join(_chunks(figures.lost_ids)))
    mode = "webhook" if args.webhook else "polling"
    say(
        f"RESULT inbound mode={mode} db={args.db} chats={args.chats} kills={figures.kills} "
        f"sent={figures.sent} answered={figures.answered} lost={figures.lost} "
        f"duplicated={figures.duplicated} "
        f"duplicate_replies_per_kill={figures.duplicate_replies / max(1, figures.kills):.1f} "
        f"out_of_order={figures.out_of_order} seconds={time.monotonic() - started:.0f}"
    )


if __name__ == "__main__":
    main()
