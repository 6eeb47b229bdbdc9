"""The durable inbox on a real database (SQLite and PostgreSQL): stored before it is confirmed,
de-duplicated, processed in order per chat, done in the turn's own transaction, blanked after."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import IntegrityError, OperationalError

from bot.app import Loa, build_loa
from bot.channels.base import Inbound, InboundKind
from bot.chat.inbox import INBOX, Inbox, backlog
from bot.clock import FakeClock
from bot.storage.db import Database
from bot.storage.models import OutboxMessage
from bot.storage.models.inbox import InboxStatus
from bot.storage.retry import RetryPolicy
from scheduler.jobs import forget_old
from tests.support.pack import small_pack

START = datetime(2025, 11, 16, 2, 0, tzinfo=UTC)
_ids = itertools.count(1)
OUTBOX = OutboxMessage.__table__  # type: ignore[attr-defined]
QUICK = RetryPolicy(first_s=0.001, max_s=0.01, window_s=0.05)


def inbound(chat: str, text: str, *, event_id: str | None = None) -> Inbound:
    if text.startswith("/"):
        name, _, args = text[1:].partition(" ")
        return Inbound(
            channel="telegram",
            chat_id=chat,
            update_id=event_id or str(next(_ids)),
            kind=InboundKind.COMMAND,
            received_at=START,
            text=text,
            command=name,
            args=args,
        )
    return Inbound(
        channel="telegram",
        chat_id=chat,
        update_id=event_id or str(next(_ids)),
        kind=InboundKind.TEXT,
        received_at=START,
        text=text,
    )


@pytest.fixture
def loa(db: Database) -> Loa:
    return build_loa(db=db, pack=small_pack(), clock=FakeClock(START), channels={})


async def rows(db: Database) -> list[Any]:
    async with db.session() as session:
        return list((await session.execute(select(INBOX).order_by(INBOX.c.id))).all())


async def replies(db: Database, chat: str) -> list[str]:
    async with db.session() as session:
        stmt = select(OUTBOX.c.text).where(OUTBOX.c.chat_id == chat).order_by(OUTBOX.c.id)
        return list((await session.execute(stmt)).scalars().all())


async def test_an_event_is_stored_once_and_answered_once(db: Database, loa: Loa) -> None:
    update = inbound("7001", "/trogiup", event_id="42")
    await loa.inbox.accept(update)
    await loa.inbox.accept(update)  # the platform delivered it again
    await loa.inbox.accept_many([update, update])
    assert len(await rows(db)) == 1
    await loa.inbox.drain()
    assert len(await replies(db, "7001")) == 1
    await loa.inbox.accept(update)  # and again, after it was handled
    await loa.inbox.drain()
    assert len(await replies(db, "7001")) == 1


async def test_turns_run_in_order_per_chat_and_rows_are_blanked(db: Database, loa: Loa) -> None:
    commands = [f"/lenh{n}" for n in range(6)]
    await loa.inbox.accept_many(
        [inbound(chat, command) for command in commands for chat in ("7101", "7102", "7103")]
    )
    stored = await rows(db)
    assert {r.status for r in stored} == {InboxStatus.PENDING}
    assert "/lenh0" in stored[0].payload
    await loa.inbox.drain()
    for chat in ("7101", "7102", "7103"):
        quoted = [text.split("«")[1].split("»")[0] for text in await replies(db, chat)]
        assert quoted == commands
    done = await rows(db)
    assert {r.status for r in done} == {InboxStatus.DONE}
    assert {(r.payload, r.chat_id) for r in done} == {("", "")}  # no text, no chat id kept


@contextmanager
def fail_on(db: Database, fragment: str, times: int, error: Exception) -> Iterator[list[int]]:
    """Raise `error` from the next `times` statements containing `fragment` (a driver-level
    fault as SQLAlchemy reports it); yields [how many were raised]."""
    raised = [0]

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if fragment in statement and raised[0] < times:
            raised[0] += 1
            raise error

    event.listen(db.engine.sync_engine, "before_cursor_execute", before)
    try:
        yield raised
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", before)


async def test_a_fault_at_the_done_mark_rolls_the_turn_back_and_it_runs_once(
    db: Database, loa: Loa
) -> None:
    """The turn's replies and the row's «done» are one transaction: a fault between them loses
    nothing and answers once."""
    await loa.inbox.accept(inbound("7201", "/trogiup"))
    fault = OperationalError("UPDATE inbox", {}, Exception("database is locked"))
    with fail_on(db, "handled_at=", 2, fault) as raised:
        await loa.inbox.drain()
    assert raised == [2]
    assert len(await replies(db, "7201")) == 1
    assert [r.status for r in await rows(db)] == [InboxStatus.DONE]


async def test_a_turn_that_keeps_failing_is_parked_not_dropped(db: Database) -> None:
    loa = build_loa(db=db, pack=small_pack(), clock=FakeClock(START), channels={})
    inbox = Inbox(db, loa.conversation, loa.clock, retry=QUICK)
    await inbox.accept(inbound("7301", "/trogiup"))
    await inbox.accept(inbound("7302", "/trogiup"))
    broken = IntegrityError("INSERT INTO outbox", {}, Exception("a bug"))
    with fail_on(db, "INSERT INTO outbox", 1, broken):
        await inbox.drain()
    by_status = {r.event_id: r for r in await rows(db)}
    statuses = sorted(r.status for r in by_status.values())
    assert statuses == [InboxStatus.DONE, InboxStatus.PARKED]
    parked = next(r for r in by_status.values() if r.status == InboxStatus.PARKED)
    assert parked.last_error == "IntegrityError"
    assert parked.payload  # kept for the next try
    assert inbox.parked == 1
    async with db.session() as session:
        waiting = await backlog(session)
    assert (waiting.pending, waiting.parked) == (0, 1)
    assert waiting.describe().startswith("inbox: 0 waiting, 1 parked (oldest received ")
    # the next start queues it again, and it is answered
    await inbox.start()
    await inbox.stop()
    await inbox.drain()
    assert {r.status for r in await rows(db)} == {InboxStatus.DONE}
    assert len(await replies(db, "7301")) + len(await replies(db, "7302")) == 2


async def test_deleting_my_data_removes_waiting_events(db: Database, loa: Loa) -> None:
    await loa.inbox.accept(inbound("7401", "/start"))
    await loa.inbox.drain()
    await loa.inbox.accept(inbound("7401", "/xoadulieu"))
    await loa.inbox.drain()
    async with db.session() as session:
        nonce_text = (
            (
                await session.execute(
                    select(OUTBOX.c.choices)
                    .where(OUTBOX.c.chat_id == "7401")
                    .order_by(OUTBOX.c.id.desc())
                )
            )
            .scalars()
            .first()
        )
    assert nonce_text is not None
    yes = nonce_text.split('"del:yes:')[1].split('"')[0]
    press = Inbound(
        channel="telegram",
        chat_id="7401",
        update_id="press-1",
        kind=InboundKind.CHOICE,
        received_at=START,
        choice_data=f"del:yes:{yes}",
    )
    later = inbound("7401", "một tin nhắn còn chờ")
    await loa.inbox.accept_many([press, later])
    await loa.inbox.drain()
    left = [r for r in await rows(db) if r.chat_id == "7401"]
    assert left == []  # neither the press nor the message after it names the chat any more


async def test_housekeeping_forgets_done_rows_after_two_days(db: Database, loa: Loa) -> None:
    await loa.inbox.accept(inbound("7501", "/trogiup"))
    await loa.inbox.accept(inbound("7502", "/trogiup"))
    await loa.inbox.drain()
    assert (await forget_old(db, now=START + timedelta(days=1))).inbox == 0
    assert (await forget_old(db, now=START + timedelta(days=3))).inbox == 2
    assert await rows(db) == []
