"""A whole session through the real `loa run` at LOA_LOG_LEVEL=DEBUG: a resident subscribes,
types free text and a disclosure of violence with an address, an official binds with an invite
code and fills part of the report. Nothing of it — name, username, chat id, text, code, token —
may appear in anything the process printed, and the disclosure is not in the database file."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from fakes.botapi import FakeBotApi

TOKEN = "7000000001:AAHprivateTokenForTheLogTest_x9"
RESIDENT = 731200456
OFFICIAL = 731200789
DISCLOSURE = "chồng tôi đánh tôi ở số 17 ngõ Hàng Bạc, tôi sợ lắm"
FREE_TEXT = "Hôm qua tôi để quên ví ở chợ Đông Kinh"
ANSWER_TEXT = "Bà con khu Bắc Sơn hưởng ứng rất nhiệt tình"


def env_for(tmp: Path, server_url: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp),
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_BOT_USERNAME": "loa_test_bot",
        "TELEGRAM_API_BASE_URL": f"{server_url}/bot",
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp / 'session.db'}",
        "LOA_CAMPAIGN": "ky-lua-2026",
        "LOA_LOG_LEVEL": "DEBUG",
        "PTB_TIMEDELTA": "1",
    }


class Session:
    def __init__(self, server: FakeBotApi) -> None:
        self.server = server

    def push(self, chat: int, text: str, person: dict[str, Any]) -> None:
        update = self.server.message_update(chat, text, first_name=person["first_name"])
        update["message"]["from"].update(person)
        update["message"]["chat"].update(person)
        if text.startswith("/"):
            word = text.split()[0]
            update["message"]["entities"] = [
                {"type": "bot_command", "offset": 0, "length": len(word)}
            ]
        self.server.push_raw(update)

    async def say(self, chat: int, text: str, person: dict[str, Any]) -> list[str]:
        """Type `text` and wait for the replies (until none came for 1.3 s: Telegram's limit of
        one message a second per chat spaces them)."""
        before = len(self.server.texts_to(chat))
        self.push(chat, text, person)
        deadline = time.monotonic() + 20
        count, quiet_since = before, time.monotonic()
        while time.monotonic() < deadline:
            now_count = len(self.server.texts_to(chat))
            if now_count != count:
                count, quiet_since = now_count, time.monotonic()
            elif count > before and time.monotonic() - quiet_since > 1.3:
                break
            await asyncio.sleep(0.05)
        replies = self.server.texts_to(chat)[before:]
        assert replies, f"no answer to {text!r}"
        return replies


def read_database(tmp: Path) -> bytes:
    """The SQLite file and its WAL, as bytes."""
    return b"".join(p.read_bytes() for p in tmp.iterdir() if p.name.startswith("session.db"))


async def run(*args: str, env: dict[str, str], cwd: Path) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    return process.returncode or 0, out.decode(), err.decode()


async def test_a_whole_session_at_debug_leaves_no_personal_data_in_the_output() -> None:
    resident = {"first_name": "Xuyến", "last_name": "Phạm Thị", "username": "xuyen_pham_88"}
    official = {"first_name": "Quỳnh", "last_name": "Lò Thị", "username": "quynh_tyt_kyl"}
    with tempfile.TemporaryDirectory(prefix="loa-logs-") as tmp_name:
        tmp = Path(tmp_name)
        async with FakeBotApi() as server:
            env = env_for(tmp, server.url)
            code_run = await run("invite", "agency", "Trạm y tế phường", env=env, cwd=tmp)
            assert code_run[0] == 0, code_run[2]
            code = code_run[1].split("Mã: ", 1)[1].split()[0]
            bot = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "run",
                cwd=tmp,
                env=env,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            assert bot.stdout is not None
            assert bot.stderr is not None
            printed: list[bytes] = []
            ready = asyncio.Event()

            async def collect(stream: asyncio.StreamReader) -> None:
                while line := await stream.readline():
                    printed.append(line)
                    if b"receiving Telegram updates" in line:
                        ready.set()

            readers = [asyncio.create_task(collect(s)) for s in (bot.stdout, bot.stderr)]
            try:
                await asyncio.wait_for(ready.wait(), 60)
                session = Session(server)
                await session.say(RESIDENT, "/start", resident)
                await session.say(RESIDENT, "1", resident)  # Tiếng Việt
                await session.say(RESIDENT, "5", resident)  # a residential group
                await session.say(RESIDENT, "/khauhieu", resident)
                assert "Mình là bot tự động" in "".join(
                    await session.say(RESIDENT, FREE_TEXT, resident)
                )
                help_text = "".join(await session.say(RESIDENT, DISCLOSURE, resident))
                for number in ("113", "115", "111"):
                    assert number in help_text
                bound = "".join(await session.say(OFFICIAL, f"/start {code}", official))
                assert "Đã xác nhận" in bound, bound
                await session.say(OFFICIAL, "/baocao", official)
                for answer in ("Không có", "Loa truyền thanh", "12", "300", "450"):
                    await session.say(OFFICIAL, answer, official)
                await session.say(OFFICIAL, ANSWER_TEXT, official)
            finally:
                bot.send_signal(signal.SIGTERM)
                await asyncio.wait_for(bot.wait(), 60)
                await asyncio.gather(*readers)
            output = b"".join(printed).decode(errors="replace")
            database = await asyncio.to_thread(read_database, tmp)
    assert "receiving Telegram updates" in output
    # it logged at DEBUG, naming each chat by the same short keyed hash, never by its id
    turns = [
        line
        for line in output.splitlines()
        if "DEBUG bot.chat.inbox: inbox: a turn of chat" in line
    ]
    refs = {line.split("chat ")[1].split(",")[0] for line in turns}
    assert len(turns) >= 10
    assert len(refs) == 2
    secrets = [
        TOKEN,
        TOKEN.split(":", 1)[1],
        str(RESIDENT),
        str(OFFICIAL),
        code,
        *resident.values(),
        *official.values(),
        DISCLOSURE,
        "Hàng Bạc",
        "sợ lắm",
        FREE_TEXT,
        "Đông Kinh",
        ANSWER_TEXT,
        "Bắc Sơn",
    ]
    leaked = [secret for secret in secrets if secret in output]
    assert leaked == [], output[-3000:]
    assert "Hàng Bạc".encode() not in database  # a disclosure is never stored
