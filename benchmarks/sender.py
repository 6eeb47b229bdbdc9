"""How many messages a second the Telegram sender alone pushes (no database, no dispatcher).

Starts the fake Bot API in its own process and sends `--messages` texts through one
`TelegramSender` from `--concurrency` workers, optionally through a local proxy
(`--proxy http` or `--proxy socks5`, the tiny relays of the tests), so the HTTP client is
measured by itself; the CPU time of this process is reported too.

    .venv/bin/python -m benchmarks.sender [--messages 20000] [--concurrency 64] [--proxy http]

Prints ``RESULT sender sends_per_s=… cpu_ms_per_send=… ok=…``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import resource
import time
from collections.abc import AsyncIterator
from typing import Any

from benchmarks.harness import TOKEN, fake_server, say
from bot.channels.base import Outbound, SendStatus
from bot.channels.telegram.sender import TelegramSender


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@contextlib.asynccontextmanager
async def _proxy(kind: str | None) -> AsyncIterator[str | None]:
    if kind is None:
        yield None
        return
    from tests.support.proxies import HttpProxy, Socks5Proxy

    proxy = HttpProxy() if kind == "http" else Socks5Proxy()
    async with proxy:
        yield proxy.url


async def run(messages: int, concurrency: int, proxy_kind: str | None) -> dict[str, float]:
    """Send `messages` texts; returns the figures."""
    async with (
        fake_server(rate_limit=None, forbidden_ratio=0.0) as server,
        _proxy(proxy_kind) as proxy,
    ):
        # the sender before TELEGRAM_PROXY_URL had no `proxy` argument: only named when used
        kwargs: dict[str, Any] = {"proxy": proxy} if proxy else {}
        sender = TelegramSender(TOKEN, server.base_url, max_connections=concurrency, **kwargs)
        queue = iter(range(messages))
        ok = 0

        async def worker() -> None:
            nonlocal ok
            for n in queue:
                result = await sender.send(Outbound("telegram", str(100_000 + n), "Xin chào"))
                ok += result.status is SendStatus.OK

        cpu0, t0 = _cpu_s(), time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed, cpu = time.perf_counter() - t0, _cpu_s() - cpu0
        await sender.aclose()
    return {"sends_per_s": messages / elapsed, "cpu_ms": 1000 * cpu / messages, "ok": ok}


def main(argv: list[str] | None = None) -> None:
    """Run and print one RESULT line."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.sender", description=__doc__)
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--proxy", choices=("http", "socks5"), default=None)
    args = parser.parse_args(argv)
    figures = asyncio.run(run(args.messages, args.concurrency, args.proxy))
    say(
        "RESULT sender sends_per_s={sends_per_s:.0f} cpu_ms_per_send={cpu_ms:.3f} ok={ok}".format(
            **figures
        )
    )


if __name__ == "__main__":
    main()
