"""How many sendMessage requests a second the fake Bot API server answers.

Starts ``python -m fakes.botapi --port 0`` in its own process and drives it over keep-alive
connections, first with a pooled httpx.AsyncClient (what our sender uses), then with a bare
asyncio client that costs almost nothing, to show the server's own ceiling. It also reads the
server process's CPU time, so "requests per server CPU second" says what one core can serve.

    .venv/bin/python -m benchmarks.fake_server_rps [--seconds 5] [--concurrency 8]

Prints ``RESULT fake_server rps=… raw_rps=… per_server_cpu_s=…``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time

import httpx

TOKEN = "7000000001:BenchToken"


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, from /proc (Linux)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


async def _httpx_run(url: str, seconds: float, concurrency: int) -> int:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    done = 0
    async with httpx.AsyncClient(base_url=url, limits=limits, trust_env=False) as client:
        deadline = time.perf_counter() + seconds

        async def worker(n: int) -> None:
            nonlocal done
            chat = 1000 + n
            while time.perf_counter() < deadline:
                response = await client.post(
                    f"/bot{TOKEN}/sendMessage", json={"chat_id": chat, "text": "Xin chào"}
                )
                if response.status_code == 200:
                    done += 1

        await asyncio.gather(*(worker(n) for n in range(concurrency)))
    return done


async def _raw_run(host: str, port: int, seconds: float, concurrency: int) -> int:
    done = 0
    deadline = time.perf_counter() + seconds

    async def worker(n: int) -> None:
        nonlocal done
        body = json.dumps({"chat_id": 5000 + n, "text": "Xin chào"}).encode()
        request = (
            f"POST /bot{TOKEN}/sendMessage HTTP/1.1\r\nHost: {host}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode() + body
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while time.perf_counter() < deadline:
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(head.split(b"Content-Length: ", 1)[1].split(b"\r\n", 1)[0])
                await reader.readexactly(length)
                if head.startswith(b"HTTP/1.1 200"):
                    done += 1
        finally:
            writer.close()

    await asyncio.gather(*(worker(n) for n in range(concurrency)))
    return done


async def _main(seconds: float, concurrency: int) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "fakes.botapi", "--port", "0", stdout=asyncio.subprocess.PIPE
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 30)
        url = line.decode().split()[1]
        host, port = url.removeprefix("http://").split(":")
        await _httpx_run(url, 0.5, concurrency)  # warm up

        cpu_before = _cpu_seconds(process.pid)
        client_cpu_before = time.process_time()
        started = time.perf_counter()
        via_httpx = await _httpx_run(url, seconds, concurrency)
        httpx_elapsed = time.perf_counter() - started
        client_cpu = time.process_time() - client_cpu_before

        started = time.perf_counter()
        raw = await _raw_run(host, int(port), seconds, concurrency)
        raw_elapsed = time.perf_counter() - started
        cpu_used = _cpu_seconds(process.pid) - cpu_before

        async with httpx.AsyncClient(base_url=url, trust_env=False) as client:
            stats = (await client.get("/_fake/stats?per_chat=0")).json()
    finally:
        process.terminate()
        await process.wait()

    rps = via_httpx / httpx_elapsed
    raw_rps = raw / raw_elapsed
    per_cpu = (via_httpx + raw) / cpu_used if cpu_used else float("nan")
    print(
        f"httpx: {via_httpx} sends in {httpx_elapsed:.1f}s using {client_cpu:.1f}s client CPU "
        f"({1000 * client_cpu / max(1, via_httpx):.2f} ms per request); "
        f"raw: {raw} in {raw_elapsed:.1f}s; "
        f"server CPU {cpu_used:.1f}s; server counted {stats['sends_accepted']} accepted"
    )
    print(
        f"RESULT fake_server rps={rps:.0f} raw_rps={raw_rps:.0f} "
        f"per_server_cpu_s={per_cpu:.0f} concurrency={concurrency}"
    )


def main() -> None:
    """Parse arguments and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    asyncio.run(_main(args.seconds, args.concurrency))


if __name__ == "__main__":
    main()
