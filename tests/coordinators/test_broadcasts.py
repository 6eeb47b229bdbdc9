"""Broadcasts: the chat flow, audiences, preview, confirming once, scheduling, cancelling and
the history; progress messages are in test_progress.py, refusals in test_chat.py."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlalchemy.exc import OperationalError
from sqlmodel import col, select

from bot.clock import FakeClock
from bot.coordinators import broadcasts
from bot.coordinators.broadcasts import Audience, BroadcastError
from bot.coordinators.progress import BroadcastProgress
from bot.storage.db import Database
from bot.storage.models import OutboxMessage, Subscriber
from tests.support.coordinator_chat import (
    add_residents,
    audit_rows,
    bind,
    coordinator_conversation,
    one_broadcast,
)
from tests.support.reporting import START, fill_minimal_report, reporting_pack


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


async def bulk_rows(db: Database) -> list[OutboxMessage]:
    async with db.session() as session:
        stmt = select(OutboxMessage).where(col(OutboxMessage.run_id).is_not(None))
        return list((await session.execute(stmt.order_by(col(OutboxMessage.id)))).scalars())


RESIDENTS = [
    ("telegram", "r1", "Khối phố 1", "active"),
    ("telegram", "r2", "Khối phố 1", "active"),
    ("zalo", "z3", "Khối phố 1", "active"),
    ("telegram", "r4", "Khối phố 1", "stopped"),  # stopped the bot: never counted nor messaged
    ("telegram", "r5", "Khối phố 2", "active"),
]


async def test_broadcast_to_one_group_previews_and_goes_out_once(
    db: Database, clock: FakeClock, tmp_path: Path
) -> None:
    pack = reporting_pack()
    await add_residents(db, clock, RESIDENTS)
    conversation, _ = coordinator_conversation(db, clock, pack, tmp_path)
    chat = await bind(db, clock, conversation, pack, chat_id="c1")
    await chat.type("/thongbao")
    assert "Gõ nội dung" in chat.texts()
    await chat.type("Mời bà con dự lễ phát động tối thứ Bảy tại nhà văn hóa.")
    await chat.press_label("Tiếp: chọn người nhận")
    assert chat.labels()[:6] == [
        "Tất cả người dân", "Người dân theo khu dân cư", "Người dân theo ngôn ngữ",
        "Tất cả đơn vị", "Đơn vị theo loại", "Đơn vị chưa gửi báo cáo",
    ]  # fmt: skip
    await chat.press_label("Người dân theo khu dân cư")
    await chat.press_label("Khối phố 1")
    assert "✓ Khối phố 1" in chat.labels()
    await chat.press_label("Xong")
    assert chat.last[0].text == "Mời bà con dự lễ phát động tối thứ Bảy tại nhà văn hóa."
    preview = chat.last[-1].text
    assert "Khối phố 1 — tổng 3" in preview
    assert "• Telegram: 2 người, mỗi người 1 tin (như trên)" in preview
    assert "• Zalo: 1 người, mỗi người 1 tin (như trên)" in preview
    await chat.press_label("Gửi ngay")
    assert "Đang gửi thông báo #1 tới 3 người" in chat.texts()
    rows = await bulk_rows(db)
    assert sorted(r.chat_id for r in rows) == ["r1", "r2", "z3"]
    assert {r.priority for r in rows} == {2}  # bulk: held by quiet hours
    # the same button again: the flow has ended, nothing is queued twice
    await chat.press("bc:go")
    assert len(await bulk_rows(db)) == 3
    (entry,) = [r for r in await audit_rows(db) if r.action == "broadcast"]
    assert entry.detail == "#1 groups 3"
    assert "Mời bà con" not in entry.detail


async def test_confirming_the_same_broadcast_twice_at_once_sends_it_once(
    db: Database, clock: FakeClock
) -> None:
    pack = reporting_pack()
    await add_residents(db, clock, RESIDENTS)
    async with db.session() as session:
        row = await broadcasts.create(
            session, author="office", channel="", chat_id="", text="Thông báo",
            audience=Audience("residents"), now=clock.now(),
        )  # fmt: skip
        broadcast_id = row.id
    assert broadcast_id is not None

    async def confirm_once() -> str:
        for _ in range(20):
            try:
                async with db.session() as session:
                    await broadcasts.confirm(session, pack, broadcast_id, now=clock.now())
                return "sent"
            except BroadcastError as err:
                return err.key
            except OperationalError:  # SQLite: the other writer holds the lock
                await asyncio.sleep(0.05)
        return "locked"

    outcomes = sorted(await asyncio.gather(confirm_once(), confirm_once()))
    assert outcomes == ["coordinators.broadcast.already", "sent"]
    assert len(await bulk_rows(db)) == 4


async def test_empty_long_nobody_and_past_each_get_a_clear_answer(
    db: Database, clock: FakeClock, tmp_path: Path
) -> None:
    pack = reporting_pack()
    await add_residents(db, clock, RESIDENTS)
    conversation, _ = coordinator_conversation(db, clock, pack, tmp_path)
    chat = await bind(db, clock, conversation, pack, chat_id="c2")
    await chat.type("/thongbao")
    await chat.press("bc:next")
    assert "chưa có nội dung" in chat.texts()
    # 10,000 characters typed in three messages (Telegram delivers at most 4,096 at once)
    part = ("Bình đẳng giới là trách nhiệm của mỗi gia đình. " * 70)[:3332].strip()
    for _ in range(3):
        await chat.type(part)
    ten_thousand = 3 * len(part) + 4  # parts joined by a blank line
    assert ten_thousand == 10_000
    assert "Đã nhận nội dung (10000 ký tự)" in chat.texts()
    await chat.type(part)
    assert "Nội dung quá dài: 13334 ký tự, tối đa 12000" in chat.texts()
    await chat.press_label("Tiếp: chọn người nhận")
    await chat.press_label("Người dân theo khu dân cư")
    await chat.press_label("Khối phố 3")  # nobody subscribed there
    await chat.press_label("Xong")
    assert "Không có ai nhận" in chat.texts()
    await chat.press_label("Tất cả người dân")
    telegram_parts = [o.text for o in chat.last[:-1]]
    assert len(telegram_parts) == 3
    assert all(len(p) <= 4096 for p in telegram_parts)
    assert "• Telegram: 3 người, mỗi người 3 tin (như trên)" in chat.last[-1].text
    assert "• Zalo: 1 người, mỗi người 6 tin, cắt như sau:" in chat.last[-1].text
    await chat.press_label("Hẹn giờ")
    await chat.type("09/12 07:30")  # the day before START
    assert "đã qua" in chat.texts()
    await chat.type("ngày mai")
    assert "không phải ngày giờ" in chat.texts()
    await chat.type("11/12 07:30")
    assert "sẽ gửi lúc 11/12/2025 07:30 tới 4 người" in chat.texts()
    rows = await bulk_rows(db)
    assert len(rows) == 4
    assert {r.next_attempt_at for r in rows} == {START + timedelta(hours=22, minutes=30)}


async def test_cancel_stops_what_is_unsent_and_answers_twice_and_after_done(
    db: Database, clock: FakeClock, tmp_path: Path
) -> None:
    pack = reporting_pack()
    await add_residents(db, clock, RESIDENTS)
    conversation, _ = coordinator_conversation(db, clock, pack, tmp_path)
    chat = await bind(db, clock, conversation, pack, chat_id="c3")
    for audience in ("Tất cả người dân", "Tất cả người dân"):
        await chat.type("/thongbao")
        await chat.type("Tin khẩn")
        await chat.press_label("Tiếp: chọn người nhận")
        await chat.press_label(audience)
        await chat.press_label("Gửi ngay")
    async with db.session() as session:  # one message of #1 went out before the cancel
        first = (await session.execute(select(OutboxMessage).limit(1).where(
            col(OutboxMessage.run_id).is_not(None)))).scalars().one()  # fmt: skip
        first.status = "sent"
    await chat.type("/dunggui 1")
    assert "Đã dừng thông báo #1: 3 tin chưa gửi" in chat.texts()
    await chat.type("/dunggui 1")
    assert "đã được dừng trước đó" in chat.texts()
    async with db.session() as session:  # #2 goes out whole
        await session.execute(
            update(OutboxMessage)
            .where(col(OutboxMessage.status) == "pending")
            .values(status="sent")
        )
    await BroadcastProgress(db, clock).tick()
    await chat.press("bc:stop:2")
    assert "đã gửi xong" in chat.texts()
    await chat.type("/lichsu")
    assert "#2 · 10/12/2025 09:00 · đã gửi · Tất cả người dân: đã gửi 4/4" in chat.texts()
    assert "#1 · 10/12/2025 09:00 · đã dừng · Tất cả người dân: đã gửi 1/4" in chat.texts()
    cancels = [r for r in await audit_rows(db) if r.action == "cancel"]
    assert [c.detail for c in cancels] == ["#1 3 stopped"]


async def test_scheduled_broadcast_starts_when_its_time_comes(
    db: Database, clock: FakeClock
) -> None:
    pack = reporting_pack()
    await add_residents(db, clock, RESIDENTS)
    at = broadcasts.parse_when("10/12 20:00", now=clock.now())
    async with db.session() as session:
        row = await broadcasts.create(
            session, author="x", channel="", chat_id="", text="Tối nay",
            audience=Audience("lang", ("vi",)), now=clock.now(),
        )  # fmt: skip
        assert row.id is not None
        confirmed = await broadcasts.confirm(session, pack, row.id, now=clock.now(), send_at=at)
        assert confirmed.recipients == 4
    progress = BroadcastProgress(db, clock)
    await progress.tick()
    assert (await one_broadcast(db)).status == "scheduled"
    clock.advance(timedelta(hours=11))
    await progress.tick()
    assert (await one_broadcast(db)).status == "sending"


def test_audience_parsing_for_the_command_line() -> None:
    assert Audience.parse("groups:Khối phố 1, Khối phố 2") == Audience(
        "groups", ("Khối phố 1", "Khối phố 2")
    )
    assert Audience.parse("residents") == Audience("residents")
    with pytest.raises(BroadcastError):
        Audience.parse("everyone")


async def test_agency_audiences_reach_the_bound_officials(
    db: Database, clock: FakeClock, tmp_path: Path
) -> None:
    pack = reporting_pack(groups=2)
    conversation, _ = coordinator_conversation(db, clock, pack, tmp_path)
    await bind(db, clock, conversation, pack, chat_id="o1", agency_id="tram-y-te")
    await bind(db, clock, conversation, pack, chat_id="o2", agency_id="kp-1")
    await bind(db, clock, conversation, pack, chat_id="o3", agency_id="kp-2")
    reporter = await bind(db, clock, conversation, pack, chat_id="o4", agency_id="cong-an")
    await bind(db, clock, conversation, pack, chat_id="c5")  # a coordinator: no agency
    await fill_minimal_report(reporter)
    await reporter.press_label("Gửi")
    deadline = pack.deadlines[0].id
    expected = {
        Audience("agencies"): ["o1", "o2", "o3", "o4"],
        Audience("type", ("residential_group",)): ["o2", "o3"],
        Audience("missing", (deadline,)): ["o1", "o2", "o3"],  # the police station sent
        Audience("residents"): [],  # officials are not residents
    }
    async with db.session() as session:
        for audience, chats in expected.items():
            found = await broadcasts.recipients(session, pack, audience)
            assert sorted(r.chat_id for r in found) == chats, audience
        with pytest.raises(BroadcastError):
            await broadcasts.recipients(session, pack, Audience("missing", ("x",)))


def test_button_wire_forms_and_stale_data() -> None:
    from bot.coordinators.buttons import (
        AudienceButton,
        NudgeButton,
        Step,
        StepButton,
        StopButton,
        ValueButton,
    )

    assert StepButton(step=Step.GO).pack() == "bc:go"
    assert AudienceButton(kind="groups").pack() == "bc:aud:groups"
    assert ValueButton(index=12).pack() == "bc:val:12"
    assert StopButton(broadcast=7).pack() == "bc:stop:7"
    assert NudgeButton(deadline="thang-hanh-dong").pack() == "co:nudge:thang-hanh-dong"
    assert StepButton.unpack("bc:aud:groups") is None  # one prefix, each class its own shape
    assert StopButton.unpack("bc:stop:x") is None
    assert ValueButton.unpack("bc:val:3") == ValueButton(index=3)


async def test_zalo_oa_residents_outside_the_window_are_shown_held_and_can_be_stopped(
    db: Database, clock: FakeClock, tmp_path: Path
) -> None:
    pack = reporting_pack()
    await add_residents(
        db, clock, [("zalo_oa", f"oa{n}", "Khối phố 1", "active") for n in range(3)]
    )
    async with db.session() as session:  # oa0 wrote yesterday; oa1 ten days ago; oa2 never
        for chat_id, seen in (("oa0", timedelta(days=1)), ("oa1", timedelta(days=10))):
            await session.execute(
                update(Subscriber)
                .where(col(Subscriber.chat_id) == chat_id)
                .values(last_interaction_at=clock.now() - seen)
            )
    conversation, _ = coordinator_conversation(db, clock, pack, tmp_path)
    chat = await bind(db, clock, conversation, pack, chat_id="c7")
    await chat.type("/thongbao")
    await chat.type("Tin")
    await chat.press_label("Tiếp: chọn người nhận")
    await chat.press_label("Tất cả người dân")
    assert (
        "• Zalo OA: 1 người nhận ngay; 2 người đã quá 7 ngày không nhắn cho trang — Zalo không "
        "cho gửi, tin sẽ chờ và tới khi họ nhắn lại"
    ) in chat.last[-1].text
    await chat.press_label("Gửi ngay")
    async with db.session() as session:  # what the dispatcher does (tests/e2e: the real one)
        for row in (await session.execute(select(OutboxMessage).where(
                col(OutboxMessage.run_id).is_not(None)))).scalars():  # fmt: skip
            row.status = "sent" if row.chat_id == "oa0" else "held"
    await BroadcastProgress(db, clock).tick()
    assert (await one_broadcast(db)).status == "done"
    await chat.type("/lichsu")
    assert "đã gửi 1/3, lỗi 0, chặn 0 · đang chờ người dân nhắn lại: 2" in chat.texts()
    await chat.type("/dunggui 1")  # done sending, but two copies wait: they can be stopped
    assert "Đã dừng thông báo #1: 2 tin chưa gửi" in chat.texts()
    assert {r.status for r in await bulk_rows(db)} == {"sent", "cancelled"}
