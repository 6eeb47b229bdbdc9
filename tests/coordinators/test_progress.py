"""A broadcast's progress message: through the outbox like every send.

Where the channel edits (Telegram) one outbox row, then edit rows pointing at it, coalesced
while one waits; elsewhere a message at each quarter. The HTTP tests run the real dispatcher,
sender and activity wrapper against the fake Bot API.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlmodel import col

from bot.channels.telegram.sender import TelegramSender
from bot.clock import FakeClock
from bot.coordinators import broadcasts
from bot.coordinators.broadcasts import Audience
from bot.coordinators.progress import BroadcastProgress
from bot.storage.db import Database
from bot.storage.models import OutboxMessage
from bot.web.health import Activity
from fakes.botapi import FakeBotApi
from tests.support.coordinator_chat import (
    add_residents,
    bind,
    coordinator_conversation,
    mark_bulk_sent,
    one_broadcast,
    outbox_to,
)
from tests.support.delivery import CountingEditor, Runner
from tests.support.reporting import START, reporting_pack

COORDINATOR = "909"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


class Mono:
    """The progress reporter's monotonic clock, moved by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def confirmed_broadcast(
    db: Database, clock: FakeClock, recipients: int
) -> tuple[BroadcastProgress, Mono]:
    """Broadcast #1 from the Telegram coordinator to `recipients` Zalo residents (their rows
    stay pending until a test marks them sent), and its reporter on a hand-moved clock."""
    residents = [("zalo", f"z{n}", "Khối phố 1", "active") for n in range(recipients)]
    await add_residents(db, clock, residents)
    async with db.session() as session:
        row = await broadcasts.create(
            session, author="x", channel="telegram", chat_id=COORDINATOR, text="Tin",
            audience=Audience("residents"), now=clock.now(),
        )  # fmt: skip
        assert row.id is not None
        await broadcasts.confirm(session, reporting_pack(), row.id, now=clock.now())
    mono = Mono()
    return BroadcastProgress(db, clock, editable={"telegram"}, monotonic=mono), mono


async def set_row(db: Database, row_id: int | None, **values: object) -> None:
    async with db.session() as session:
        await session.execute(
            update(OutboxMessage).where(col(OutboxMessage.id) == row_id).values(**values)
        )


def figures(row: OutboxMessage) -> str:
    """«📤 Thông báo #1: đã gửi 3/8 (37%)» of a progress text."""
    return row.text.split(" · ")[0]


def telegram_runner(db: Database, clock: FakeClock, server: FakeBotApi) -> Runner:
    """The dispatcher over the real sender, wrapped as `loa run` wraps it (activity)."""
    sender = TelegramSender("7000000001:test", f"{server.url}/bot", timeout=2.0)
    return Runner(db, CountingEditor(Activity(clock).track_sends(sender)), clock)


async def close(runner: Runner) -> None:
    assert isinstance(runner.channel, CountingEditor)
    tracked = runner.channel.inner
    sender = getattr(tracked, "inner", None)
    assert isinstance(sender, TelegramSender)
    await sender.aclose()


async def test_the_progress_message_is_one_row_then_edit_rows_coalesced_while_waiting(
    db: Database, clock: FakeClock
) -> None:
    progress, mono = await confirmed_broadcast(db, clock, 8)
    await progress.tick()
    [first] = await outbox_to(db, COORDINATOR)
    assert (first.text, first.priority, first.dedup_key, first.edit_of) == (
        "📤 Thông báo #1: đã gửi 0/8 (0%) · lỗi 0 · đã chặn Loa 0", 0, "bcp:1:msg", None,
    )  # fmt: skip
    assert first.choices == '[["⏹ Dừng gửi", "bc:stop:1"]]'
    assert (await one_broadcast(db)).progress_outbox_id == first.id  # the row, not a message id
    for _ in range(3):  # three quick rounds within the edit interval: nothing changes
        await mark_bulk_sent(db, 1)
        mono.now += 0.5
        await progress.tick()
    assert [r.text for r in await outbox_to(db, COORDINATOR)] == [first.text]
    mono.now += 3
    await progress.tick()  # the first message is not sent yet: it gets the new text
    rows = await outbox_to(db, COORDINATOR)
    assert [figures(r) for r in rows] == ["📤 Thông báo #1: đã gửi 3/8 (37%)"]
    await set_row(db, first.id, status="sent", sent_ref="77")  # the dispatcher sent it
    for _ in range(2):  # the first edit is queued; the next one rewrites it while it waits
        await mark_bulk_sent(db, 1)
        mono.now += 3
        await progress.tick()
    rows = await outbox_to(db, COORDINATOR)
    assert [(r.edit_of, r.status, figures(r)) for r in rows[1:]] == [
        (first.id, "pending", "📤 Thông báo #1: đã gửi 5/8 (62%)")
    ]
    assert rows[1].choices == first.choices
    await mark_bulk_sent(db, 3)
    mono.now += 0.1  # the finished text is not held back, and replaces the waiting edit
    await progress.tick()
    rows = await outbox_to(db, COORDINATOR)
    assert [(r.edit_of, r.text, r.choices) for r in rows[1:]] == [
        (first.id, "✅ Thông báo #1 xong: đã gửi 8/8 · lỗi 0 · đã chặn Loa 0", "[]")
    ]
    assert (progress.edits, progress.rewrites) == (1, 3)
    assert (await one_broadcast(db)).status == "done"


async def test_a_first_message_in_flight_is_not_edited_but_the_finished_text_queues_behind_it(
    db: Database, clock: FakeClock
) -> None:
    progress, mono = await confirmed_broadcast(db, clock, 4)
    await progress.tick()
    [first] = await outbox_to(db, COORDINATOR)
    await set_row(db, first.id, status="sending")  # claimed by the dispatcher, not yet sent
    await mark_bulk_sent(db, 2)
    mono.now += 3
    await progress.tick()
    assert [(r.status, figures(r)) for r in await outbox_to(db, COORDINATOR)] == [
        ("sending", "📤 Thông báo #1: đã gửi 0/4 (0%)")
    ]
    await mark_bulk_sent(db, 2)
    await progress.tick()  # the last round for this broadcast: its text must not be lost
    rows = await outbox_to(db, COORDINATOR)
    assert [(r.edit_of, r.status, r.text[:1]) for r in rows] == [
        (None, "sending", "📤"),
        (first.id, "pending", "✅"),
    ]
    assert (await one_broadcast(db)).status == "done"


async def test_progress_reaches_the_bot_api_only_through_outbox_rows_and_a_429_is_retried(
    db: Database, clock: FakeClock
) -> None:
    progress, mono = await confirmed_broadcast(db, clock, 8)
    async with FakeBotApi() as server:
        runner = telegram_runner(db, clock, server)
        await progress.tick()
        assert await runner.run(sends=1) == 1
        [first] = server.sent_to(COORDINATOR, "sendMessage")
        keyboard = first.params["reply_markup"]["inline_keyboard"]
        assert keyboard == [[{"text": "⏹ Dừng gửi", "callback_data": "bc:stop:1"}]]
        await mark_bulk_sent(db, 2)
        mono.now += 3
        await progress.tick()
        assert await runner.run(sends=1) == 1
        [edit] = server.sent_to(COORDINATOR, "editMessageText")
        assert edit.message_id == first.message_id
        assert (edit.text or "").startswith("📤 Thông báo #1: đã gửi 2/8 (25%)")
        assert server.markup_of(COORDINATOR, int(first.message_id or 0)) == {
            "inline_keyboard": keyboard
        }
        # Telegram throttles the chat: the edit waits for its retry, later figures rewrite it
        server.fail_next("editMessageText", 429, retry_after=5)
        for _ in range(4):
            await mark_bulk_sent(db, 1)
            mono.now += 3
            await progress.tick()
            await runner.run()
        waiting = [r for r in await outbox_to(db, COORDINATOR) if r.status == "pending"]
        assert [(r.edit_of, r.last_error, figures(r)) for r in waiting] == [
            (waiting[0].edit_of, "429 too many requests", "📤 Thông báo #1: đã gửi 6/8 (75%)")
        ]
        clock.advance(timedelta(seconds=5))
        assert await runner.run(sends=1) == 1
        await mark_bulk_sent(db, 2)
        mono.now += 0.1
        await progress.tick()
        assert await runner.run(sends=1) == 1
        await close(runner)
        calls = [(c.method, c.text) for c in server.sent_to(COORDINATOR)]
        final_markup = server.markup_of(COORDINATOR, int(first.message_id or 0))
    rows = await outbox_to(db, COORDINATOR)
    assert all(r.status == "sent" for r in rows)
    # every call the fake accepted is an outbox row's, in order, and nothing else reached it
    assert calls == [("sendMessage", rows[0].text)] + [
        ("editMessageText", r.text) for r in rows[1:]
    ]
    assert [(text or "")[:33] for _, text in calls] == [
        "📤 Thông báo #1: đã gửi 0/8 (0%) ·",
        "📤 Thông báo #1: đã gửi 2/8 (25%) ",
        "📤 Thông báo #1: đã gửi 6/8 (75%) ",
        "✅ Thông báo #1 xong: đã gửi 8/8 ·",
    ]
    assert final_markup is None  # the finished message has no stop button
    assert (progress.edits, progress.rewrites) == (3, 3)


async def test_after_a_restart_the_progress_message_goes_on_being_edited(
    db: Database, clock: FakeClock
) -> None:
    progress, mono = await confirmed_broadcast(db, clock, 4)
    async with FakeBotApi() as server:
        before = telegram_runner(db, clock, server)
        await progress.tick()
        assert await before.run(sends=1) == 1
        await mark_bulk_sent(db, 1)
        mono.now += 3
        await progress.tick()  # an edit row is queued …
        rows = await outbox_to(db, COORDINATOR)
        assert rows[-1].edit_of == rows[0].id
        await set_row(db, rows[-1].id, status="sending")  # … claimed, and then kill -9
        await close(before)
        # a new process on the same database: a new dispatcher and a new reporter
        after = telegram_runner(db, clock, server)
        assert await after.dispatcher.recover() == 1
        await mark_bulk_sent(db, 1)
        await BroadcastProgress(db, clock, editable={"telegram"}).tick()
        assert await after.run(sends=1) == 1
        await close(after)
        [first] = server.sent_to(COORDINATOR, "sendMessage")
        edits = server.sent_to(COORDINATOR, "editMessageText")
    assert [(e.message_id, (e.text or "")[:33]) for e in edits] == [
        (first.message_id, "📤 Thông báo #1: đã gửi 2/4 (50%) ")
    ]
    assert len(await outbox_to(db, COORDINATOR)) == 2  # the first message and one edit row


async def test_progress_without_edits_comes_at_quarters_through_the_outbox(
    db: Database, clock: FakeClock, tmp_path: Path
) -> None:
    pack = reporting_pack()
    await add_residents(
        db, clock, [("telegram", f"t{n}", "Khối phố 1", "active") for n in range(8)]
    )
    conversation, _ = coordinator_conversation(db, clock, pack, tmp_path)
    chat = await bind(db, clock, conversation, pack, chat_id="zc", channel="zalo")
    await chat.type("/thongbao")
    await chat.type("Tin")
    await chat.press_label("Tiếp: chọn người nhận")
    await chat.press_label("Tất cả người dân")
    await chat.press_label("Gửi ngay")
    progress = BroadcastProgress(db, clock, editable={"telegram"})
    shown = []
    for step in (1, 1, 1, 2, 3):
        await mark_bulk_sent(db, step)
        await progress.tick()
        shown = [r.text for r in await outbox_to(db, "zc") if r.text.startswith(("📤 Thông", "✅"))]
    assert [s.split(" · ")[0] for s in shown] == [
        "📤 Thông báo #1: đã gửi 2/8 (25%)",
        "📤 Thông báo #1: đã gửi 5/8 (62%)",
        "✅ Thông báo #1 xong: đã gửi 8/8",
    ]
    assert "Gõ /dunggui 1" in shown[0]
    assert "/dunggui" not in shown[-1]
