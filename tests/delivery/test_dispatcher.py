"""The dispatcher against an in-process scripted channel, with a FakeClock, on both databases."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.base import Capabilities, Choice, Outbound, SendResult, SendStatus
from bot.clock import FakeClock
from bot.delivery.dispatcher import FLUSH_GATHER_S, ChatEvents, RetryPolicy
from bot.delivery.limiter import ChannelLimits
from bot.delivery.outbox import OutboxItem, Priority, enqueue, enqueue_each, start_run
from bot.residents.repository import cancel_pending_bulk
from bot.storage.db import Database
from bot.storage.models.delivery import BulkRun, OutboxMessage
from bot.storage.models.residents import Subscriber
from tests.support.delivery import Runner, ScriptedChannel

START = datetime(2025, 11, 20, 1, 0, tzinfo=UTC)
OUT = OutboxMessage.__table__  # type: ignore[attr-defined]
SUBS = Subscriber.__table__  # type: ignore[attr-defined]
RUNS = BulkRun.__table__  # type: ignore[attr-defined]


async def _enqueue(
    db: Database, clock: FakeClock, chats: list[str], priority: Priority, run_id: int | None = None
) -> None:
    items = [
        OutboxItem(Outbound("telegram", c, f"msg {c}"), priority, run_id=run_id) for c in chats
    ]
    async with db.session() as session:
        await enqueue(session, items, now=clock.now())


async def _statuses(db: Database) -> dict[str, str]:
    async with db.session() as session:
        rows = (await session.execute(select(OUT.c.chat_id, OUT.c.status))).all()
    return {chat: status for chat, status in rows}


async def test_replies_go_before_bulk_and_bulk_in_id_order(db: Database) -> None:
    clock, channel = FakeClock(START), ScriptedChannel()
    await _enqueue(db, clock, ["b1", "b2"], Priority.BULK)
    await _enqueue(db, clock, ["d1"], Priority.DIRECT)
    await _enqueue(db, clock, ["r1"], Priority.REPLY)
    runner = Runner(db, channel, clock, concurrency=1)
    assert await runner.run(sends=4) == 4
    assert channel.chats() == ["r1", "d1", "b1", "b2"]
    assert set((await _statuses(db)).values()) == {"sent"}
    assert await runner.run() == 0


async def test_rows_not_yet_due_wait(db: Database) -> None:
    clock, channel = FakeClock(START), ScriptedChannel()
    item = OutboxItem(
        Outbound("telegram", "later", "x"), Priority.DIRECT, not_before=START + timedelta(hours=1)
    )
    async with db.session() as session:
        await enqueue(session, [item], now=clock.now())
    runner = Runner(db, channel, clock)
    assert await runner.run() == 0
    clock.advance(timedelta(hours=1))
    assert await runner.run(sends=1) == 1


async def test_429_retries_after_retry_after(db: Database) -> None:
    clock, channel = FakeClock(START), ScriptedChannel()
    channel.script["c1"].append(SendResult(SendStatus.RETRY, retry_after=0.01, error="429"))
    await _enqueue(db, clock, ["c1"], Priority.BULK)
    runner = Runner(db, channel, clock)
    assert await runner.run(sends=1) == 1
    assert (await _statuses(db))["c1"] == "pending"
    assert await runner.run() == 0  # next_attempt_at is 10 ms on the fake clock
    clock.advance(timedelta(milliseconds=10))
    assert await runner.run(sends=1) == 1
    assert (await _statuses(db))["c1"] == "sent"
    assert channel.chats() == ["c1", "c1"]


async def test_5xx_backs_off_then_succeeds(db: Database) -> None:
    clock, channel = FakeClock(START), ScriptedChannel()
    for _ in range(2):
        channel.script["c1"].append(SendResult(SendStatus.RETRY, error="502 server error"))
    await _enqueue(db, clock, ["c1"], Priority.BULK)
    runner = Runner(db, channel, clock, retry=RetryPolicy(base_s=2.0))
    await runner.run(sends=1)
    async with db.session() as session:
        row = (await session.execute(select(OutboxMessage))).scalar_one()
    # first backoff: between base/2 and base seconds
    assert START + timedelta(seconds=1) <= row.next_attempt_at <= START + timedelta(seconds=2)
    assert (row.attempts, row.last_error) == (1, "502 server error")
    clock.advance(timedelta(seconds=2))
    await runner.run(sends=1)
    clock.advance(timedelta(seconds=1))
    assert await runner.run() == 0  # second backoff is 2-4 s
    clock.advance(timedelta(seconds=3))
    assert await runner.run(sends=1) == 1
    assert (await _statuses(db))["c1"] == "sent"
    assert len(channel.sent) == 3


async def test_gives_up_after_max_attempts(db: Database) -> None:
    clock, channel = FakeClock(START), ScriptedChannel()
    for _ in range(5):
        channel.script["c1"].append(SendResult(SendStatus.RETRY, error="500 server error"))
    await _enqueue(db, clock, ["c1"], Priority.BULK)
    runner = Runner(db, channel, clock, retry=RetryPolicy(max_attempts=3))
    for _ in range(3):
        await runner.run(sends=1)
        clock.advance(timedelta(minutes=30))
    assert await runner.run() == 0
    assert (await _statuses(db))["c1"] == "failed"
    assert len(channel.sent) == 3


async def test_403_blocks_subscriber_and_cancels_their_bulk_rows(db: Database) -> None:
    clock, channel = FakeClock(START), ScriptedChannel()
    async with db.session() as session:
        session.add(
            Subscriber(channel="telegram", chat_id="gone", created_at=START, updated_at=START)
        )
        run_id = await start_run(session, kind="broadcast", label="b", now=START)
    channel.script["gone"].append(SendResult(SendStatus.BLOCKED, error="403 forbidden"))
    await _enqueue(db, clock, ["gone", "ok"], Priority.BULK, run_id)
    runner = Runner(db, channel, clock, concurrency=1)
    await runner.run(sends=2)
    later = OutboxItem(Outbound("telegram", "gone", "tomorrow"), Priority.BULK, run_id=run_id)
    async with db.session() as session:
        await enqueue(session, [later], now=clock.now())
        # the next bulk row for that chat is cancelled by the next 403's sweep or never claimed
        await session.execute(update(SUBS).where(SUBS.c.chat_id == "gone").values(status="active"))
    channel.script["gone"].append(SendResult(SendStatus.BLOCKED, error="403 forbidden"))
    await runner.run(sends=1)
    async with db.session() as session:
        subscriber = (await session.execute(select(Subscriber))).scalar_one()
        statuses = sorted((await session.execute(select(OUT.c.chat_id, OUT.c.status))).all())
        run = await session.get(BulkRun, run_id)
    assert subscriber.status == "blocked"
    assert statuses == [("gone", "blocked"), ("gone", "blocked"), ("ok", "sent")]
    assert run is not None
    assert (run.queued, run.sent, run.blocked, run.status) == (3, 1, 2, "done")


async def test_403_cancels_pending_bulk_but_not_replies(db: Database) -> None:
    clock, channel = FakeClock(START), ScriptedChannel()
    channel.script["gone"].append(SendResult(SendStatus.BLOCKED, error="403 forbidden"))
    await _enqueue(db, clock, ["gone"], Priority.BULK)
    # these two are not due yet when the 403 arrives
    items = [
        OutboxItem(Outbound("telegram", "gone", t), p, not_before=START + timedelta(minutes=5))
        for t, p in (("bulk", Priority.BULK), ("reply", Priority.REPLY))
    ]
    async with db.session() as session:
        await enqueue(session, items, now=clock.now())
    await Runner(db, channel, clock).run(sends=1)
    async with db.session() as session:
        rows = (await session.execute(select(OUT.c.text, OUT.c.status))).all()
    assert sorted(rows) == [("bulk", "cancelled"), ("msg gone", "blocked"), ("reply", "pending")]


async def test_migrated_chat_follows_new_id(db: Database) -> None:
    clock, channel = FakeClock(START), ScriptedChannel()
    async with db.session() as session:
        session.add(
            Subscriber(channel="telegram", chat_id="-1", created_at=START, updated_at=START)
        )
    channel.script["-1"].append(SendResult(SendStatus.MIGRATED, new_chat_id="-1009"))
    await _enqueue(db, clock, ["-1"], Priority.BULK)
    runner = Runner(db, channel, clock)
    await runner.run(sends=2)  # the retry to the new id is due at once
    async with db.session() as session:
        subscriber = (await session.execute(select(Subscriber))).scalar_one()
    assert subscriber.chat_id == "-1009"
    assert channel.chats() == ["-1", "-1009"]
    assert await _statuses(db) == {"-1009": "sent"}


async def test_quiet_hours_hold_bulk_but_not_replies(db: Database) -> None:
    clock, channel = FakeClock(START), ScriptedChannel()
    quiet = {"on": True}
    await _enqueue(db, clock, ["b"], Priority.BULK)
    await _enqueue(db, clock, ["d"], Priority.DIRECT)
    await _enqueue(db, clock, ["r"], Priority.REPLY)
    runner = Runner(db, channel, clock, is_quiet=lambda _now: quiet["on"])
    await runner.run(sends=1)
    assert channel.chats() == ["r"]
    quiet["on"] = False
    await runner.run(sends=2)
    assert channel.chats() == ["r", "d", "b"]


async def test_crash_recovery_resends_only_rows_in_flight(db: Database) -> None:
    clock, channel = FakeClock(START), ScriptedChannel()
    await _enqueue(db, clock, ["a", "b", "c", "d"], Priority.BULK)
    async with db.session() as session:
        # a previous process: "a" was sent and recorded, "b" was in flight at the kill
        await session.execute(update(OUT).where(OUT.c.chat_id == "a").values(status="sent"))
        await session.execute(
            update(OUT).where(OUT.c.chat_id == "b").values(status="sending", claimed_at=START)
        )
    assert await Runner(db, channel, clock).run(sends=3) == 3
    assert sorted(channel.chats()) == ["b", "c", "d"]
    assert set((await _statuses(db)).values()) == {"sent"}


async def test_per_chat_spacing_defers_second_message_to_same_chat(db: Database) -> None:
    clock, channel = FakeClock(START), ScriptedChannel()
    await _enqueue(db, clock, ["same", "same", "other"], Priority.BULK)
    limits = ChannelLimits(per_second=10_000, per_chat_per_second=0.001)
    runner = Runner(db, channel, clock, limits=limits)
    runner.ticker.freeze()  # no virtual time passes: the chat's 1,000 s spacing cannot elapse
    await runner.dispatcher.start()
    try:
        await channel.waiter.until(2)
    finally:
        await runner.dispatcher.stop()
    assert sorted(channel.chats()) == ["other", "same"]
    assert sorted(await _statuses_all(db)) == ["pending", "sent", "sent"]
    # once time runs, the second message to "same" goes out after its spacing
    runner.ticker.thaw()
    assert await runner.run(sends=1) == 1
    assert channel.chats()[2] == "same"
    first_same = channel.sent_at[channel.chats().index("same")]
    assert channel.sent_at[2] - first_same >= 1000.0


async def _statuses_all(db: Database) -> list[str]:
    async with db.session() as session:
        return list((await session.execute(select(OUT.c.status))).scalars())


async def test_dispatcher_runs_in_background_and_stops_cleanly(db: Database) -> None:
    clock, channel = FakeClock(START), ScriptedChannel()
    async with db.session() as session:
        run_id = await start_run(session, kind="broadcast", label="bg", now=START)
    await _enqueue(db, clock, [str(i) for i in range(50)], Priority.BULK, run_id)
    dispatcher = Runner(db, channel, clock).dispatcher
    await dispatcher.start()
    await _enqueue(db, clock, ["reply"], Priority.REPLY)
    dispatcher.notify()
    await channel.waiter.until(51)
    await dispatcher.stop()
    assert len(channel.sent) == 51
    async with db.session() as session:
        run = await session.get(BulkRun, run_id)
    assert run is not None
    assert (run.sent, run.status) == (50, "done")


class FlakyDatabase(Database):
    """A database that refuses every session while `down` is set (locked or unreachable)."""

    down = False

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        if self.down:
            raise OSError("database unreachable")
        async with super().session() as session:
            yield session


class OutageChannel(ScriptedChannel):
    """Takes the database down when the first message goes out."""

    def __init__(self, db: FlakyDatabase) -> None:
        super().__init__()
        self.db = db

    async def send(self, message: Outbound) -> SendResult:
        if not self.sent:
            self.db.down = True
        return await super().send(message)


async def test_database_outage_delays_but_loses_and_repeats_nothing(tmp_path: Path) -> None:
    db = FlakyDatabase(f"sqlite+aiosqlite:///{tmp_path / 'flaky.db'}")
    await db.create_all()
    clock = FakeClock(START)
    try:
        await _enqueue(db, clock, [str(i) for i in range(20)], Priority.BULK)
        channel = OutageChannel(db)
        runner = Runner(db, channel, clock, concurrency=4)
        await runner.dispatcher.start()
        await channel.waiter.until(1)  # the outage starts with the first send
        # a minute of virtual time: every loop retried its database step several times
        await runner.ticker.until(runner.ticker.monotonic() + 60.0)
        sent_during_outage = len(channel.sent)
        db.down = False
        await channel.waiter.until(20)
        await runner.dispatcher.stop()
        assert sent_during_outage <= 4  # sending stops once every slot awaits its record
        assert sorted(channel.chats(), key=int) == [str(i) for i in range(20)]
        assert set((await _statuses(db)).values()) == {"sent"}
    finally:
        await db.dispose()


async def test_a_message_keeps_its_choices_layout_and_numbering_through_the_outbox(
    db: Database,
) -> None:
    clock, channel = FakeClock(START), ScriptedChannel()
    message = Outbound(
        "telegram",
        "n1",
        "Số cuộc/đoàn: nhập một số.",
        choices=(Choice("Quay lại", "rp:back"), Choice("Bỏ qua", "rp:skip")),
        columns=2,
        numbered=False,
    )
    async with db.session() as session:
        await enqueue(session, [OutboxItem(message, Priority.REPLY)], now=clock.now())
    assert await Runner(db, channel, clock).run(sends=1) == 1
    assert channel.sent == [message]


async def test_replies_to_one_chat_keep_their_order_through_a_retry(db: Database) -> None:
    clock, channel = FakeClock(START), ScriptedChannel()
    channel.script["p1"].append(SendResult(SendStatus.RETRY, error="HTTP 500"))
    await _enqueue(db, clock, ["p1"], Priority.REPLY)
    async with db.session() as session:
        second = OutboxItem(Outbound("telegram", "p1", "second"), Priority.REPLY)
        await enqueue(session, [second], now=clock.now())
    await _enqueue(db, clock, ["p2"], Priority.REPLY)
    no_spacing = ChannelLimits(per_second=1e9, per_chat_per_second=1e9, per_group_per_minute=1e9)
    runner = Runner(db, channel, clock, limits=no_spacing)
    await runner.run(sends=2)  # the first reply fails; the second must not overtake it
    assert [m.text for m in channel.sent] == ["msg p1", "msg p2"]
    clock.advance(timedelta(minutes=5))
    await runner.run(sends=2)
    for _ in range(2):
        clock.advance(timedelta(minutes=5))
        assert await runner.run() == 0
    assert [m.text for m in channel.sent if m.chat_id == "p1"] == ["msg p1", "msg p1", "second"]


async def test_a_run_closes_when_a_row_was_cancelled_outside_the_dispatcher(db: Database) -> None:
    clock, channel = FakeClock(START), ScriptedChannel()
    async with db.session() as session:
        run_id = await start_run(session, kind="daily_post", label="ngày 2", now=clock.now())
    await _enqueue(db, clock, ["c1", "c2", "c3"], Priority.BULK, run_id=run_id)
    async with db.session() as session:  # c3 sends /huy before the run reaches it
        await cancel_pending_bulk(session, channel="telegram", chat_id="c3")
    await Runner(db, channel, clock).run(sends=2)
    async with db.session() as session:
        run = (await session.execute(select(RUNS.c.status, RUNS.c.sent, RUNS.c.blocked))).one()
    assert tuple(run) == ("done", 2, 1)


async def test_blocked_and_migrated_chats_are_handed_to_the_injected_chat_events(
    db: Database,
) -> None:
    clock, channel = FakeClock(START), ScriptedChannel()
    calls: list[tuple[str, ...]] = []

    async def blocked(session: AsyncSession, *, channel: str, chat_id: str, now: datetime) -> None:
        calls.append(("blocked", channel, chat_id))

    async def migrated(
        session: AsyncSession, *, channel: str, chat_id: str, new_chat_id: str, now: datetime
    ) -> None:
        calls.append(("migrated", channel, chat_id, new_chat_id))

    async with db.session() as session:
        session.add(
            Subscriber(channel="telegram", chat_id="gone", created_at=START, updated_at=START)
        )
    channel.script["gone"].append(SendResult(SendStatus.BLOCKED, error="403 forbidden"))
    channel.script["-1"].append(SendResult(SendStatus.MIGRATED, new_chat_id="-1009"))
    await _enqueue(db, clock, ["gone", "-1"], Priority.BULK)
    runner = Runner(db, channel, clock, chats=ChatEvents(blocked=blocked, migrated=migrated))
    await runner.run(sends=3)
    assert sorted(calls) == [
        ("blocked", "telegram", "gone"),
        ("migrated", "telegram", "-1", "-1009"),
    ]
    async with db.session() as session:  # the subscriber table is the callbacks' business
        subscriber = (await session.execute(select(Subscriber))).scalar_one()
    assert subscriber.status == "active"
    assert await _statuses(db) == {"gone": "blocked", "-1009": "sent"}


async def test_bug7_a_reply_is_marked_sent_without_the_batching_wait(db: Database) -> None:
    # Until a sent reply is marked, a kill -9 makes the next start send it again (issue 8, bug 7):
    # a reply's outcome is written at once; only bulk outcomes wait to be gathered in a batch.
    clock = FakeClock(START)
    runner = Runner(db, ScriptedChannel(), clock)
    await _enqueue(db, clock, ["r1"], Priority.REPLY)
    await runner.run(sends=1)
    assert await _statuses(db) == {"r1": "sent"}
    assert runner.ticker.waits(FLUSH_GATHER_S) == 0
    await _enqueue(db, clock, ["b1"], Priority.BULK)
    await runner.run(sends=1)
    assert await _statuses(db) == {"r1": "sent", "b1": "sent"}
    assert runner.ticker.waits(FLUSH_GATHER_S) >= 1


async def test_an_edit_row_on_a_channel_without_edits_is_done_without_a_send(
    db: Database,
) -> None:
    clock, channel = FakeClock(START), ScriptedChannel()
    question = Outbound("telegram", "r1", "Câu hỏi?", (Choice("Có", "y"), Choice("Không", "n")))
    async with db.session() as session:
        [row] = await enqueue_each(session, [OutboxItem(question, Priority.REPLY)], now=START)
        edit = OutboxItem(Outbound("telegram", "r1", ""), Priority.REPLY, edit_of=row)
        await enqueue_each(session, [edit], now=START)
    runner = Runner(db, channel, clock, concurrency=1)
    assert await runner.run(sends=1) == 1
    # a second stretch: the question's outcome is recorded by now, so the edit row (which
    # waits for it, an earlier reply to the chat) is claimed in it even on a loaded machine
    assert await runner.run() == 0
    assert [m.text for m in channel.sent] == ["Câu hỏi?"]  # the edit sent nothing
    async with db.session() as session:
        rows = (await session.execute(select(OUT.c.edit_of, OUT.c.status))).all()
    assert sorted(rows, key=str) == sorted([(None, "sent"), (row, "sent")], key=str)


class EditingChannel(ScriptedChannel):
    """A channel that can edit a message it sent (ids m1, m2 …): take its buttons off, or
    replace its text and buttons."""

    capabilities = Capabilities(max_text=4096, buttons=True, edits=True)

    def __init__(self) -> None:
        super().__init__()
        self.cleared: list[tuple[str, str]] = []
        self.edited: list[tuple[str, Outbound]] = []

    async def send(self, message: Outbound) -> SendResult:
        await super().send(message)
        return SendResult(SendStatus.OK, message_ref=f"m{len(self.sent)}")

    async def clear_choices(self, chat_id: str, message_ref: str) -> SendResult:
        self.cleared.append((chat_id, message_ref))
        self.waiter.done()
        return SendResult(SendStatus.OK)

    async def edit_text(self, message_ref: str, message: Outbound) -> SendResult:
        self.edited.append((message_ref, message))
        self.sent_at.append(self.ticker.monotonic() if self.ticker else 0.0)
        self.waiter.done()
        return SendResult(SendStatus.OK)


async def test_an_edit_row_takes_the_buttons_off_without_the_chats_spacing(
    db: Database,
) -> None:
    clock, channel = FakeClock(START), EditingChannel()
    question = Outbound("telegram", "r1", "Câu hỏi?", (Choice("Có", "y"),))
    async with db.session() as session:
        [row] = await enqueue_each(session, [OutboxItem(question, Priority.REPLY)], now=START)
    limits = ChannelLimits(per_second=10_000, per_chat_per_second=0.001)
    runner = Runner(db, channel, clock, limits=limits)
    assert await runner.run(sends=1) == 1
    async with db.session() as session:
        ref = (await session.execute(select(OUT.c.sent_ref).where(OUT.c.id == row))).scalar()
    assert ref == "m1"  # the reply's message id, kept for the edit
    async with db.session() as session:
        edit = OutboxItem(Outbound("telegram", "r1", ""), Priority.REPLY, edit_of=row)
        await enqueue_each(session, [edit], now=START)
    runner.ticker.freeze()  # the chat's 1,000 s spacing cannot elapse: the edit must not wait
    await runner.dispatcher.start()
    try:
        await channel.waiter.until(2)
    finally:
        await runner.dispatcher.stop()
    assert channel.cleared == [("r1", "m1")]
    assert len(channel.sent) == 1


async def test_an_edit_row_with_text_replaces_the_text_and_buttons_of_the_message(
    db: Database,
) -> None:
    clock, channel = FakeClock(START), EditingChannel()
    stop = (Choice("Dừng", "bc:stop:1"),)
    async with db.session() as session:
        first = OutboxItem(Outbound("telegram", "c9", "Đã gửi 0/8", stop), Priority.REPLY)
        [row] = await enqueue_each(session, [first], now=START)
        change = Outbound("telegram", "c9", "Đã gửi 4/8", stop)
        [edit] = await enqueue_each(
            session, [OutboxItem(change, Priority.REPLY, edit_of=row)], now=START
        )
    assert await Runner(db, channel, clock).run(sends=2) == 1
    assert channel.edited == [("m1", change)]  # the text and buttons of the message sent
    assert channel.cleared == []
    async with db.session() as session:
        status = (await session.execute(select(OUT.c.status).where(OUT.c.id == edit))).scalar()
    assert status == "sent"


async def test_a_file_and_a_menu_travel_through_the_outbox(db: Database) -> None:
    from bot.channels.base import Attachment, MenuCommand

    clock, channel = FakeClock(START), ScriptedChannel()
    file = Attachment("/srv/loa/x/bao-cao.docx", "bao-cao.docx", "application/msword")
    menu = (MenuCommand("tinhhinh", "Tình hình"),)
    items = [
        OutboxItem(Outbound("telegram", "f1", "Báo cáo", attachment=file), Priority.REPLY),
        OutboxItem(Outbound("telegram", "m1", "Đã xác nhận", menu=menu), Priority.REPLY),
        OutboxItem(Outbound("telegram", "p1", "plain"), Priority.REPLY),
    ]
    async with db.session() as session:
        await enqueue(session, items, now=clock.now())
    assert await Runner(db, channel, clock).run(sends=3) == 3
    sent = {m.chat_id: m for m in channel.sent}
    assert sent["f1"].attachment == file
    assert sent["f1"].menu is None
    assert sent["m1"].menu == menu
    assert sent["m1"].attachment is None
    assert sent["p1"].attachment is None
    assert sent["p1"].menu is None
