"""Every bad configuration stops a command with one line, a non-zero exit and no traceback (the
token never shown); `loa --debug` shows the traceback."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from pathlib import Path

import pytest

from fakes.botapi import FakeBotApi

TOKEN = "7000000001:AAHstartupTokenNeverPrinted_xyz1"
PG_URL = os.environ.get("TEST_DATABASE_URL", "")
PG_DOWN = "postgresql+asyncpg://postgres@127.0.0.1:1/test"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # closed again: nothing listens there


async def loa(tmp: Path, *args: str, **settings: str) -> tuple[int, list[str], str]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp),
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp / 'loa.db'}",
        "PTB_TIMEDELTA": "1",
        **settings,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=tmp,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    text = err.decode()
    return process.returncode or 0, [line for line in text.splitlines() if line], out.decode()


def one_line(code: int, lines: list[str], expected: str) -> None:
    """The run failed with exactly one `loa: …` line containing `expected` (log lines before
    it, from `loa run`, are allowed: they are INFO lines about the start-up)."""
    assert code != 0
    errors = [line for line in lines if line.startswith("loa: ")]
    assert len(errors) == 1, lines
    assert expected in errors[0], errors[0]
    joined = "\n".join(lines)
    assert "Traceback" not in joined
    assert TOKEN.split(":")[1] not in joined


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql+asyncpg://postgres@127.0.0.1:99999/test", "port must be between 1 and 65535"),
        ("postgresql+asyncpg://postgres@127.0.0.1:port/test", "DATABASE_URL: malformed"),
        ("sqlite+aiosqlite:////no/such/folder/loa.db", "SQLite folder /no/such/folder does"),
        (PG_DOWN, "database server does not answer"),
    ],
)
@pytest.mark.parametrize("command", [("run",), ("status",), ("db", "upgrade")])
async def test_bad_databases(tmp_path: Path, url: str, expected: str, command: tuple[str]) -> None:
    code, lines, _ = await loa(tmp_path, *command, DATABASE_URL=url)
    one_line(code, lines, expected)


async def test_invite_with_postgresql_down(tmp_path: Path) -> None:
    code, lines, _ = await loa(
        tmp_path, "invite", "agency", "Trạm y tế phường", DATABASE_URL=PG_DOWN
    )
    one_line(code, lines, "database server does not answer")


async def test_a_missing_postgresql_role(tmp_path: Path) -> None:
    if not PG_URL:
        pytest.skip("PostgreSQL leg skipped: TEST_DATABASE_URL is not set")
    url = "postgresql+asyncpg://no_such_role_loa@127.0.0.1:5432/test"
    code, lines, _ = await loa(tmp_path, "run", DATABASE_URL=url)
    one_line(code, lines, "the role does not exist")


async def test_telegram_unreachable(tmp_path: Path) -> None:
    base = f"http://127.0.0.1:{closed_port()}/bot"
    code, lines, _ = await loa(tmp_path, "run", TELEGRAM_API_BASE_URL=base)
    one_line(code, lines, "Telegram cannot be reached")


async def test_a_rejected_token(tmp_path: Path) -> None:
    async with FakeBotApi() as server:
        server.fail_next("getMe", 401, description="Unauthorized")
        code, lines, _ = await loa(tmp_path, "run", TELEGRAM_API_BASE_URL=f"{server.url}/bot")
    one_line(code, lines, "TELEGRAM_BOT_TOKEN: rejected by Telegram")


async def test_the_webhook_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        async with FakeBotApi() as server:
            code, lines, _ = await loa(
                tmp_path,
                "run",
                TELEGRAM_API_BASE_URL=f"{server.url}/bot",
                TELEGRAM_WEBHOOK_URL=f"http://127.0.0.1:{port}/hook",
                TELEGRAM_WEBHOOK_SECRET="s3cret",
                TELEGRAM_WEBHOOK_PORT=str(port),
            )
    one_line(code, lines, "port is already in use")


async def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    code, lines, _ = await loa(tmp_path, "--debug", "status", DATABASE_URL=PG_DOWN)
    assert code != 0
    assert "Traceback (most recent call last):" in lines
