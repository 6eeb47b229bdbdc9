"""A coordinator on the Zalo Bot channel, end to end through `run_bot` (what `loa run` calls):
updates arrive by webhook from the fake Zalo Bot API, answers go back to it, and the exported
files come from the same web server at signed links (Zalo cannot carry documents).

In one story: a resident subscribes on Zalo, an official reports, the coordinator
broadcasts to the resident's group with typed numbers (Zalo has no buttons), reads the board,
exports, downloads the workbook at its link and finds the official's figures in it; an altered
link gives 404.
"""

from __future__ import annotations

import asyncio
import io
import random
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from openpyxl import load_workbook
from pydantic import SecretStr

from bot.app import run_bot
from bot.clock import FakeClock
from bot.config import Settings
from bot.domain.campaign import CampaignPack
from bot.reporting.officials import create_invite
from bot.storage.db import Database
from fakes.botapi import FakeBotApi
from tests.support.coordinators import TABLES, Submitted, random_report, submit
from tests.support.fake_servers import free_port
from tests.support.reporting import START, reporting_pack

ZALO_TOKEN = "7000000002:zalo-coordinator-e2e"
ZALO_SECRET = "zalo-coordinator-secret"
WAIT_S = 30.0  # hang guard only: a loaded 2-core machine can be slow
NOTICE = "Mời bà con Khối phố 1 dự lễ phát động Tháng hành động tối thứ Bảy tại nhà văn hóa."


@dataclass
class Running:
    fake: FakeBotApi
    base: str
    http: httpx.AsyncClient
    db: Database
    pack: CampaignPack
    clock: FakeClock

    def texts(self, chat: str) -> list[str]:
        return [c.text or "" for c in self.fake.zalo.sent_to(chat, "sendMessage")]

    async def say(self, chat: str, text: str, *, until: str = "") -> list[str]:
        """`chat` types `text` (delivered by webhook, as Zalo does); waits for a new answer
        containing `until`; returns every text sent to the chat since."""
        before = len(self.texts(chat))
        old = {id(call) for call in self.fake.zalo.sent_to(chat)}
        self.fake.zalo.push_message(chat, text)
        assert await self.fake.zalo.deliver(self.fake.zalo.take(chat)) == 200
        await self.fake.zalo.wait_for(
            lambda call: id(call) not in old and until in (call.text or ""),
            chat_id=chat,
            method="sendMessage",
            timeout=WAIT_S,
        )
        return self.texts(chat)[before:]

    async def coordinator_code(self) -> str:
        invite = await create_invite(
            self.db, pack=self.pack, role="coordinator", agency_id=None, now=self.clock.now()
        )
        return invite.code


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[Running]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    url = f"sqlite+aiosqlite:///{tmp_path / 'run.db'}"
    settings = Settings(
        _env_file=None,
        zalo_bot_token=SecretStr(ZALO_TOKEN),
        zalo_webhook_url=f"{base}/zalo/hook",
        zalo_webhook_secret=SecretStr(ZALO_SECRET),
        loa_web_port=port,
        loa_public_url=base,
        loa_files_dir=tmp_path / "files",
        database_url=url,
    )
    pack = reporting_pack()
    clock = FakeClock(START)  # 10/12/2025 09:00: before the deadline «trước 18/12/2025»
    async with FakeBotApi() as fake, httpx.AsyncClient(trust_env=False, timeout=10) as http:
        settings.zalo_api_base_url = f"{fake.url}/zalo/bot"
        stop = asyncio.Event()
        task = asyncio.create_task(run_bot(settings, pack, clock=clock, stop=stop))
        db = Database(url)
        try:
            async with asyncio.timeout(WAIT_S):
                while not fake.zalo.webhook:  # set once the web server listens
                    if task.done():
                        task.result()
                    await asyncio.sleep(0.05)
            yield Running(fake, base, http, db, pack, clock)
        finally:
            stop.set()
            await asyncio.wait_for(task, WAIT_S)
            await db.dispose()


async def test_a_zalo_coordinator_broadcasts_reads_the_board_and_downloads_the_workbook(
    running: Running,
) -> None:
    r = running
    coordinator, lan, minh = "zc01", "zr01", "zr02"
    bound = await r.say(coordinator, f"/start {await r.coordinator_code()}", until="điều phối")
    assert "cán bộ điều phối" in bound[0]

    # two residents subscribe on Zalo, in Khối phố 1 and Khối phố 2
    for chat, group in ((lan, "khoi pho 1"), (minh, "khoi pho 2")):
        await r.say(chat, "/start", until="Tiếng Việt")
        await r.say(chat, "1", until="Đã chọn tiếng Việt.")
        await r.say(chat, group, until="Đã ghi nhận")

    # an official of the health station reports (through the reporting service; the typed
    # report on Zalo is tests/e2e/test_zalo_residents.py's)
    assert r.pack.report_form is not None
    report = random_report(r.pack.report_form, random.Random(12))
    await submit(r.db, r.pack, "tram-y-te", report, now=r.clock.now())
    done = Submitted(versions={"tram-y-te": [report]})

    # /thongbao to Khối phố 1, every choice a typed number or label
    await r.say(coordinator, "/thongbao", until="Gõ nội dung")
    await r.say(coordinator, NOTICE, until="Đã nhận nội dung")
    await r.say(coordinator, "1", until="Gửi cho ai?")  # «1. Tiếp: chọn người nhận»
    await r.say(coordinator, "2", until="Chọn một hoặc nhiều")  # «2. … theo khu dân cư»
    await r.say(coordinator, "1", until="✓ Khối phố 1")
    shown = await r.say(coordinator, "Xong", until="Xem trước")
    assert shown[0] == NOTICE
    assert "Người nhận: Người dân theo khu dân cư: Khối phố 1 — tổng 1." in shown[-1]
    assert "• Zalo: 1 người, mỗi người 1 tin (như trên)" in shown[-1]
    assert "  1. Gửi ngay" in shown[-1]
    sending = await r.say(coordinator, "1", until="Đang gửi thông báo #1 tới 1 người")
    assert not any("Nút này đã cũ" in text for text in sending)
    await r.fake.zalo.wait_for(lambda c: c.text == NOTICE, chat_id=lan, timeout=WAIT_S)
    await r.fake.zalo.wait_for(
        lambda c: "✅ Thông báo #1 xong: đã gửi 1/1" in (c.text or ""),
        chat_id=coordinator,
        timeout=WAIT_S,
    )
    assert NOTICE not in r.texts(minh)  # Khối phố 2 was not chosen

    # /tinhhinh: the board, in one Zalo message, channels named in words
    board = (await r.say(coordinator, "/tinhhinh", until="Tình hình báo cáo"))[-1]
    assert "Phải gửi 7 · đã gửi 1 (đúng hạn 1, muộn 0) · chưa gửi 6" in board
    assert "• Người đăng ký: 2 (Zalo 2); 2/12 khối phố có người đăng ký" in board
    assert "  1. 🔔 Nhắc 6 đơn vị chưa gửi" in board
    nudged = await r.say(coordinator, "1", until="Đã nhắc")  # the button, typed
    assert "Đã nhắc 0 đơn vị" in nudged[-1]  # no official of a missing agency uses Loa yet

    # /xuatbaocao: links, since Zalo carries no documents; the workbook downloads and opens
    links_text = (await r.say(coordinator, "/xuatbaocao", until="Tải tệp tại"))[-1]
    links = re.findall(r"http://\S+", links_text)
    assert [link.rsplit(".", 1)[-1] for link in links] == ["xlsx", "docx", "csv", "png"]
    assert all(link.startswith(f"{r.base}/files/") for link in links)
    response = await r.http.get(links[0])
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    media = r.fake.zalo.sent_to(coordinator, "sendPhoto") + r.fake.zalo.sent_to(
        coordinator, "sendDocument"
    )
    assert media == []
    workbook = load_workbook(io.BytesIO(response.content))
    for table, sheet in zip(TABLES, workbook.worksheets[:3], strict=True):
        total = next(row for row in sheet.iter_rows(values_only=True) if row[1] == "Tổng cộng")
        assert tuple(total[3:6]) == done.sums(r.pack, table)  # the totals are what was sent
    assert sum(sum(done.sums(r.pack, table)) for table in TABLES) > 0

    # an altered link (one character of its signature) is not found
    head, file_id, expires, signature, name = links[0].rsplit("/", 4)
    forged = "0" if signature[0] != "0" else "1"
    altered = "/".join([head, file_id, expires, forged + signature[1:], name])
    assert (await r.http.get(altered)).status_code == 404
    assert all(1 <= len(text) <= 2000 for text in r.texts(coordinator))
