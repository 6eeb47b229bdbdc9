"""The broadcast preview per channel: the coordinator's own channel in full, the other channels'
cut points one line per message, and «see the <channel> version» showing exactly what that
channel will send, without leaving the confirm step."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.channels.base import Outbound
from bot.channels.telegram.sender import TelegramSender
from bot.channels.zalo.client import ZaloClient
from bot.channels.zalo.sender import ZaloSender, render_chunks
from bot.clock import FakeClock
from bot.coordinators.broadcast_preview import cut_lines
from bot.domain.text import utf16_len
from bot.storage.db import Database
from bot.storage.models import Subscriber
from fakes.botapi import FakeBotApi
from tests.support.chat import ChatDriver
from tests.support.coordinator_chat import bind, coordinator_conversation
from tests.support.delivery import CountingChannel, Runner
from tests.support.reporting import START, reporting_pack

ZALO_TOKEN = "7000000002:preview-token"
RESIDENTS = [("telegram", "r1"), ("telegram", "r2"), ("zalo", "z3")]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


def notice_pieces(length: int = 10_000) -> list[str]:
    """Three typed messages (a Telegram message holds at most 4,096) that join, a blank line
    between them, into a notice of `length` characters; emoji count 2 on Zalo, 1 here."""
    sentences = " ".join(
        f"Câu {n} 📢 bình đẳng giới bắt đầu từ mỗi gia đình." for n in range(1, 400)
    )
    size = (length - 4) // 3
    pieces = [sentences[n * size : (n + 1) * size].strip() for n in range(3)]
    return [piece.ljust(size, ".") for piece in pieces]


async def residents(db: Database, clock: FakeClock) -> None:
    async with db.session() as session:
        for channel, chat_id in RESIDENTS:
            session.add(
                Subscriber(
                    channel=channel, chat_id=chat_id, group_code="Khối phố 1", status="active",
                    created_at=clock.now(), updated_at=clock.now(),
                )
            )  # fmt: skip


async def new_notice(
    db: Database, clock: FakeClock, files: Path, *, chat_id: str, channel: str = "telegram"
) -> ChatDriver:
    """Residents on Telegram and Zalo; a coordinator's chat on `channel` that typed /thongbao."""
    pack = reporting_pack()
    await residents(db, clock)
    conversation, _ = coordinator_conversation(db, clock, pack, files)
    chat = await bind(db, clock, conversation, pack, chat_id=chat_id, channel=channel)
    await chat.type("/thongbao")
    return chat


async def test_a_long_notice_shows_both_splits_and_the_zalo_version_is_what_zalo_gets(
    db: Database, clock: FakeClock, tmp_path: Path
) -> None:
    chat = await new_notice(db, clock, tmp_path, chat_id="c1")
    for piece in notice_pieces():
        await chat.type(piece)
    assert "Đã nhận nội dung (10000 ký tự)" in chat.texts()
    notice = "\n\n".join(notice_pieces())
    zalo_parts = render_chunks(Outbound("zalo", "z3", notice))  # how the Zalo sender cuts it
    assert len(zalo_parts) == 6
    await chat.press_label("Tiếp: chọn người nhận")
    await chat.press_label("Tất cả người dân")

    # Telegram, the coordinator's own channel: the text in full, as Telegram will cut it
    *shown, preview = chat.last
    assert [o.text for o in shown] == [notice_pieces()[0], *notice_pieces()[1:]]
    assert len(shown) == 3
    lines = preview.text.splitlines()
    assert "• Telegram: 2 người, mỗi người 3 tin (như trên)" in lines
    at = lines.index("• Zalo: 1 người, mỗi người 6 tin, cắt như sau:")
    # Zalo: one line per message, its first and last words: the exact cut points
    assert lines[at + 1 : at + 7] == cut_lines(zalo_parts, "vi")
    assert lines[at + 1].startswith("   tin 1/6: «Câu 1 📢 bình đẳng giới")
    first_end = " ".join(zalo_parts[0].split())[-20:]
    second_start = " ".join(zalo_parts[1].split())[:20]
    assert first_end in lines[at + 1]
    assert lines[at + 1].endswith("…»")
    assert f"tin 2/6: «…{second_start}" in lines[at + 2]
    assert len(preview.text) < 1200  # six lines, not six messages
    assert chat.labels() == [
        "Gửi ngay", "Gửi ngay — khẩn (cả trong giờ yên lặng)", "Hẹn giờ",
        "Xem bản Zalo (6 tin)", "Hủy",
    ]  # fmt: skip

    # «see the Zalo version»: exactly the messages the Zalo sender sends, then the buttons again
    await chat.press_label("Xem bản Zalo (6 tin)")
    head, *viewed, end = chat.last
    assert head.text == "👇 Bản Zalo: 6 tin, người nhận trên Zalo thấy đúng như sau."
    assert [o.text for o in viewed] == zalo_parts
    assert all(utf16_len(p) <= 2000 for p in zalo_parts)
    assert end.text == "👆 Hết bản Zalo. Gửi ngay, hay hẹn giờ?"
    assert "Xem bản Zalo (6 tin)" in chat.labels()

    # the confirm step is still there: it goes out, and Zalo receives what the view showed
    await chat.press_label("Gửi ngay")
    assert "Đang gửi thông báo #1 tới 3 người" in chat.texts()
    async with FakeBotApi() as server:
        client = ZaloClient(ZALO_TOKEN, f"{server.url}/zalo/bot", timeout=5.0)
        try:
            await Runner(db, CountingChannel(ZaloSender(client)), clock).run(sends=1)
        finally:
            await client.aclose()
        received = [c.text for c in server.zalo.sent_to("z3", "sendMessage")]
    assert received == [o.text for o in viewed]


async def test_a_zalo_coordinator_reads_it_in_zalo_messages_and_can_see_the_telegram_ones(
    db: Database, clock: FakeClock, tmp_path: Path
) -> None:
    chat = await new_notice(db, clock, tmp_path, chat_id="zc", channel="zalo")
    for piece in notice_pieces():
        await chat.type(piece)
    await chat.type("1")  # Zalo has no buttons: «1. Tiếp: chọn người nhận»
    await chat.type("1")  # «1. Tất cả người dân»
    notice = "\n\n".join(notice_pieces())
    *shown, preview = chat.last
    assert [o.text for o in shown] == render_chunks(Outbound("zalo", "zc", notice))
    # the preview with its numbered choices still fits one Zalo message
    assert len(render_chunks(preview)) == 1
    assert "• Zalo: 1 người, mỗi người 6 tin (như trên)" in preview.text
    assert "• Telegram: 2 người, mỗi người 3 tin, cắt như sau:" in preview.text
    assert "   tin 3/3: «…" in preview.text
    assert chat.labels()[3] == "Xem bản Telegram (3 tin)"
    await chat.type("4")
    head, *viewed, end = chat.last
    assert head.text.startswith("👇 Bản Telegram: 3 tin. Tin nhắn ở đây ngắn hơn trên Telegram")
    telegram = TelegramSender.capabilities.max_text
    assert [o.text for o in viewed] == notice_pieces()  # Telegram cuts at the blank lines
    assert all(len(o.text) <= telegram for o in viewed)
    assert end.text == "👆 Hết bản Telegram. Gửi ngay, hay hẹn giờ?"
    await chat.type("1")  # «1. Gửi ngay», still the confirm step
    assert "Đang gửi thông báo #1 tới 3 người" in chat.texts()


async def test_a_short_notice_needs_no_cut_lines_and_a_stale_view_is_refused(
    db: Database, clock: FakeClock, tmp_path: Path
) -> None:
    chat = await new_notice(db, clock, tmp_path, chat_id="c2")
    await chat.type("Mời bà con dự lễ phát động tối thứ Bảy.")
    await chat.press_label("Tiếp: chọn người nhận")
    await chat.press_label("Tất cả người dân")
    assert "• Zalo: 1 người, mỗi người 1 tin (như trên)" in chat.last[-1].text
    assert "tin 1/1" not in chat.last[-1].text
    assert not any(label.startswith("Xem bản") for label in chat.labels())
    await chat.press("bc:view:zalo")  # no Zalo version to see: it is the same text
    assert chat.texts() == "Nút này đã cũ. Gõ lại lệnh để xem thông tin mới nhất."
    await chat.press("bc:go")
    assert "Đang gửi thông báo #1 tới 3 người" in chat.texts()
    await chat.press("bc:view:zalo")  # after confirming: the flow is over
    assert chat.texts() == "Nút này đã cũ. Gõ lại lệnh để xem thông tin mới nhất."
