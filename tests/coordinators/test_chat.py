"""The coordinator in the chat: refusals (audited), menus per role, the board and its reminder
button, the summed report's files as documents or as signed links."""

from __future__ import annotations

import asyncio
import io
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote

import openpyxl
import pytest

from bot.clock import FakeClock
from bot.coordinators import links
from bot.coordinators.export.files import ExportFile
from bot.coordinators.filestore import FileStore
from bot.delivery.outbox import decode_extra
from bot.storage.db import Database
from tests.support.chat import ChatDriver
from tests.support.coordinator_chat import (
    KEY,
    PUBLIC_URL,
    audit_rows,
    bind,
    coordinator_conversation,
    outbox_to,
)
from tests.support.reporting import START, fill_minimal_report, reporting_pack


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.mark.parametrize("command", ["/thongbao", "/tinhhinh", "/xuatbaocao", "/lichsu"])
async def test_residents_and_officials_are_refused_and_audited(
    db: Database, clock: FakeClock, tmp_path: Path, command: str
) -> None:
    pack = reporting_pack()
    conversation, _ = coordinator_conversation(db, clock, pack, tmp_path)
    resident = ChatDriver(conversation, clock, chat_id="501")
    official = await bind(db, clock, conversation, pack, chat_id="502", agency_id="tram-y-te")
    for chat in (resident, official):
        await chat.type(command)
        assert f"Lệnh {command} chỉ dành cho cán bộ điều phối" in chat.texts(), chat.texts()
    refusals = [row for row in await audit_rows(db) if row.action == "refused"]
    assert [(r.role, r.detail) for r in refusals] == [
        ("resident", command),
        ("official", command),
    ]
    assert refusals[1].actor == "tram-y-te"
    # a resident is named by a keyed hash, never by the chat id
    assert refusals[0].actor.startswith("te:")
    assert "501" not in refusals[0].actor


async def test_binding_sets_the_role_menu_and_is_audited(
    db: Database, clock: FakeClock, tmp_path: Path
) -> None:
    pack = reporting_pack()
    conversation, _ = coordinator_conversation(db, clock, pack, tmp_path)
    await bind(db, clock, conversation, pack, chat_id="601")
    await bind(db, clock, conversation, pack, chat_id="602", agency_id="cong-an")
    coordinator_reply = (await outbox_to(db, "601"))[-1]
    official_reply = (await outbox_to(db, "602"))[-1]
    _, coordinator_menu = decode_extra(coordinator_reply.extra)
    _, official_menu = decode_extra(official_reply.extra)
    assert coordinator_menu is not None
    assert official_menu is not None
    assert [m.command for m in coordinator_menu] == [
        "tinhhinh", "thongbao", "xuatbaocao", "lichsu", "dunggui", "trogiup",
    ]  # fmt: skip
    assert [m.command for m in official_menu] == ["baocao", "baocaocuatoi", "nhanh", "trogiup"]
    bound = [(r.role, r.action, r.detail) for r in await audit_rows(db)]
    assert bound == [
        ("coordinator", "bound", "coordinator"),
        ("official", "bound", "official cong-an"),
    ]


async def test_help_lists_the_commands_of_the_role(
    db: Database, clock: FakeClock, tmp_path: Path
) -> None:
    pack = reporting_pack()
    conversation, _ = coordinator_conversation(db, clock, pack, tmp_path)
    coordinator = await bind(db, clock, conversation, pack, chat_id="651")
    official = await bind(db, clock, conversation, pack, chat_id="652", agency_id="cong-an")
    await coordinator.type("/trogiup")
    for command in ("/tinhhinh", "/thongbao", "/lichsu", "/dunggui", "/xuatbaocao"):
        assert command in coordinator.texts(), command
    await official.type("/trogiup")
    assert "/baocao" in official.texts()
    assert "/thongbao" not in official.texts()


async def test_board_button_reminds_the_missing_once_an_hour(
    db: Database, clock: FakeClock, tmp_path: Path
) -> None:
    pack = reporting_pack(groups=3)
    conversation, _ = coordinator_conversation(db, clock, pack, tmp_path)
    coordinator = await bind(db, clock, conversation, pack, chat_id="701")
    reporter = await bind(db, clock, conversation, pack, chat_id="702", agency_id="tram-y-te")
    await bind(db, clock, conversation, pack, chat_id="703", agency_id="cong-an")
    await bind(db, clock, conversation, pack, chat_id="704", agency_id="cong-an")
    await fill_minimal_report(reporter)
    await reporter.press_label("Gửi")
    await coordinator.type("/tinhhinh")
    assert "Tình hình báo cáo" in coordinator.texts()
    assert "Phải gửi 7 · đã gửi 1" in coordinator.texts(), coordinator.texts()
    (button,) = coordinator.labels()
    assert button == "🔔 Nhắc 6 đơn vị chưa gửi (hạn trước 18/12/2025)"
    await coordinator.press_label(button)
    assert "Đã nhắc 1 đơn vị (2 người nhận)" in coordinator.texts(), coordinator.texts()
    assert "chưa có ai nhận tin qua Loa: 5" in coordinator.texts()
    for chat_id in ("703", "704"):
        assert "chưa được gửi" in (await outbox_to(db, chat_id))[-1].text
    assert "chưa được gửi" not in (await outbox_to(db, "702"))[-1].text
    clock.advance(timedelta(minutes=59))
    await coordinator.type("/tinhhinh")
    await coordinator.press_label(button)
    assert "Mỗi giờ chỉ nhắc một lần" in coordinator.texts()
    assert len(await outbox_to(db, "703")) == 2  # the bind reply and one reminder
    clock.advance(timedelta(minutes=2))
    await coordinator.press(f"co:nudge:{pack.deadlines[0].id}")
    assert "Đã nhắc 1 đơn vị" in coordinator.texts()
    assert len(await outbox_to(db, "703")) == 3
    nudges = [r for r in await audit_rows(db) if r.action == "nudge"]
    assert len(nudges) == 2


async def test_export_on_telegram_sends_four_documents_through_the_outbox(
    db: Database, clock: FakeClock, tmp_path: Path
) -> None:
    pack = reporting_pack()
    conversation, coordinators = coordinator_conversation(db, clock, pack, tmp_path)
    coordinator = await bind(db, clock, conversation, pack, chat_id="801")
    reporter = await bind(db, clock, conversation, pack, chat_id="802", agency_id="tram-y-te")
    await fill_minimal_report(reporter)
    await reporter.press_label("Gửi")
    await coordinator.type("/xuatbaocao")
    (preparing,) = coordinator.last  # the turn answers at once; the files follow
    assert "Đang tạo báo cáo tổng hợp" in preparing.text
    assert "1 đơn vị đã gửi" in preparing.text
    await coordinators.wait_idle()
    rows = (await outbox_to(db, "801"))[-4:]
    files = [decode_extra(row.extra)[0] for row in rows]
    assert [f.filename.rsplit(".", 1)[1] for f in files if f] == ["xlsx", "docx", "csv", "png"]
    assert [f.photo for f in files if f] == [False, False, False, True]
    xlsx = files[0]
    assert xlsx is not None
    content = await asyncio.to_thread(Path(xlsx.path).read_bytes)
    workbook = openpyxl.load_workbook(io.BytesIO(content))
    media = workbook.worksheets[1]
    values = [cell.value for row in media.iter_rows() for cell in row]
    assert 12 in values  # the one media row sent: 12 times, 300 men, 450 women
    assert 300 in values
    assert 450 in values
    (export,) = [r for r in await audit_rows(db) if r.action == "export"]
    assert export.role == "coordinator"
    assert export.detail.endswith("chat")


async def test_export_where_files_cannot_travel_gives_signed_links(
    db: Database, clock: FakeClock, tmp_path: Path
) -> None:
    pack = reporting_pack()
    conversation, coordinators = coordinator_conversation(db, clock, pack, tmp_path)
    coordinator = await bind(db, clock, conversation, pack, chat_id="a1b2", channel="zalo")
    await coordinator.type("/xuatbaocao")
    await coordinators.wait_idle()
    rows = await outbox_to(db, "a1b2")
    assert all(decode_extra(row.extra)[0] is None for row in rows)
    text = rows[-1].text
    assert "hết hạn lúc" in text
    urls = [line[2:] for line in text.splitlines() if line.startswith("• ")]
    assert len(urls) == 4
    assert all(url.startswith(PUBLIC_URL + "/files/") for url in urls)
    store = FileStore(tmp_path)
    now = clock.now()
    for url in urls:
        file_id, expires, sig, name = url.removeprefix(PUBLIC_URL + "/files/").split("/")
        stored = store.get(file_id)
        assert stored is not None
        assert stored.filename == unquote(name)
        assert links.verify(KEY, file_id, expires, sig, now=now)
        assert not links.verify(KEY, file_id, expires, sig, now=now + timedelta(hours=24))
        assert not links.verify(b"another key", file_id, expires, sig, now=now)
        assert not links.verify(KEY, file_id, str(int(expires) + 3600), sig, now=now)
        tampered = ("0" if sig[0] != "0" else "1") + sig[1:]
        assert not links.verify(KEY, file_id, expires, tampered, now=now)
        assert links.resolve(KEY, store, file_id, expires, sig, now=now) == stored
        assert links.resolve(KEY, store, file_id, expires, tampered, now=now) is None
    store.purge(now=time.time() + 25 * 3600)  # a day later the files are gone, links or not
    file_id, expires, sig, _ = urls[0].removeprefix(PUBLIC_URL + "/files/").split("/")
    assert links.resolve(KEY, store, file_id, expires, sig, now=now) is None


async def test_export_with_no_submissions_still_makes_files(
    db: Database, clock: FakeClock, tmp_path: Path
) -> None:
    pack = reporting_pack()
    conversation, coordinators = coordinator_conversation(db, clock, pack, tmp_path)
    coordinator = await bind(db, clock, conversation, pack, chat_id="901")
    await coordinator.type("/xuatbaocao")
    assert "0 đơn vị đã gửi" in coordinator.texts()
    await coordinators.wait_idle()
    rows = await outbox_to(db, "901")
    assert sum(decode_extra(row.extra)[0] is not None for row in rows) == 4
    await coordinator.type("/xuatbaocao khong-co")
    assert "Không có hạn báo cáo «khong-co»" in coordinator.texts()


def test_file_store_keeps_a_day_and_refuses_foreign_ids(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    kept = store.save(ExportFile("a.csv", "text/csv", b"1;2"))
    assert store.get(kept.file_id) == kept
    assert store.get("../etc") is None
    assert store.get("0" * 32) is None
    assert store.purge(now=time.time() + 3600) == 0
    assert store.purge(now=time.time() + 25 * 3600) == 1
    assert store.get(kept.file_id) is None
