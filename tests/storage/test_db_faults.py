"""Database faults are retried with backoff, never dropped: each kind SQLAlchemy reports is
injected below the application (a SQLAlchemy event hook, on SQLite and PostgreSQL) while a person
types, and the turn still happens exactly once."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError

from bot.app import build_loa
from bot.channels.base import Inbound, InboundKind
from bot.chat.inbox import Inbox
from bot.clock import FakeClock
from bot.storage.db import Database
from bot.storage.models import InboxEvent, OutboxMessage
from bot.storage.retry import DEFAULT_POLICY, GaveUp, RetryPolicy, is_transient
from tests.support.pack import small_pack

START = datetime(2025, 11, 16, 2, 0, tzinfo=UTC)
QUICK = RetryPolicy(first_s=0.001, max_s=0.01, window_s=0.5)
_ids = itertools.count(1)


class PgError(Exception):
    """What asyncpg's errors look like to SQLAlchemy: an exception carrying a SQLSTATE."""

    def __init__(self, sqlstate: str) -> None:
        super().__init__(f"sqlstate {sqlstate}")
        self.sqlstate = sqlstate


FAULTS: dict[str, Exception] = {
    "sqlite busy": OperationalError("stmt", {}, Exception("database is locked")),
    "connection invalidated": DBAPIError(
        "stmt", {}, Exception("connection reset"), connection_invalidated=True
    ),
    "interface error": InterfaceError("stmt", {}, Exception("connection is closed")),
    "serialization failure": DBAPIError("stmt", {}, PgError("40001")),
    "deadlock": DBAPIError("stmt", {}, PgError("40P01")),
    "server shutting down": DBAPIError("stmt", {}, PgError("57P01")),
    "connection refused": ConnectionRefusedError(111, "Connect call failed"),
}


@contextmanager
def failing(
    db: Database, hook: str, error: Exception, times: int, only: str = ""
) -> Iterator[list[int]]:
    """The next `times` statements containing `only` (or connections, for hook="do_connect")
    raise `error`."""
    raised = [0]

    def fail(*args: Any, **_kwargs: Any) -> None:
        statement = args[2] if hook == "before_cursor_execute" else ""
        if raised[0] < times and only in statement:
            raised[0] += 1
            raise error

    event.listen(db.engine.sync_engine, hook, fail)
    try:
        yield raised
    finally:
        event.remove(db.engine.sync_engine, hook, fail)


def typed(chat: str) -> Inbound:
    return Inbound(
        channel="telegram",
        chat_id=chat,
        update_id=str(next(_ids)),
        kind=InboundKind.COMMAND,
        received_at=START,
        text="/trogiup",
        command="trogiup",
    )


async def count(db: Database, model: Any) -> int:
    async with db.session() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


@pytest.mark.parametrize("kind", list(FAULTS))
async def test_each_fault_is_retried_in_a_turn_and_in_the_inbox(db: Database, kind: str) -> None:
    error = FAULTS[kind]
    hook = "do_connect" if isinstance(error, OSError) else "before_cursor_execute"
    loa = build_loa(db=db, pack=small_pack(), clock=FakeClock(START), channels={})
    inbox = Inbox(db, loa.conversation, loa.clock, retry=QUICK)
    conversation = loa.conversation
    conversation._retry = QUICK  # the test's short window; the default is checked below
    await db.engine.dispose()  # so the next statement needs a new connection
    with failing(db, hook, error, times=3) as raised:
        replies = await conversation.handle(typed("8001"))
    assert raised == [3]
    assert len(replies) == 1
    await db.engine.dispose()
    with failing(db, hook, error, times=3) as raised:
        await inbox.accept(typed("8002"))  # a webhook would answer 200 only now
    assert raised == [3]
    assert await count(db, InboxEvent) == 1
    await db.engine.dispose()
    with failing(db, hook, error, times=3) as raised:
        await inbox.drain()
    assert raised == [3]
    assert await count(db, OutboxMessage) == 2


async def test_a_fault_that_outlasts_the_window_gives_up_and_parks(db: Database) -> None:
    loa = build_loa(db=db, pack=small_pack(), clock=FakeClock(START), channels={})
    inbox = Inbox(db, loa.conversation, loa.clock, retry=QUICK)
    fault = FAULTS["serialization failure"]
    with (
        failing(db, "before_cursor_execute", fault, 10**6, only="INSERT INTO inbox"),
        pytest.raises(GaveUp),
    ):
        await inbox.accept(typed("8101"))  # a webhook answers 5xx: Telegram delivers again
    await inbox.accept(typed("8102"))
    with failing(db, "before_cursor_execute", fault, 10**6, only="INSERT INTO outbox") as raised:
        await inbox.drain()  # the turn keeps failing for the whole window: parked, not dropped
    assert raised[0] > 3
    async with db.session() as session:
        row = (await session.execute(select(InboxEvent))).scalars().one()
    assert (row.status, row.last_error) == ("parked", "DBAPIError")
    await inbox.start()  # the next start takes parked turns up again
    await inbox.stop()
    await inbox.drain()
    assert await count(db, OutboxMessage) == 1


async def test_a_bug_is_not_retried(db: Database) -> None:
    loa = build_loa(db=db, pack=small_pack(), clock=FakeClock(START), channels={})
    bug = IntegrityError("stmt", {}, Exception("duplicate key"))
    with (
        failing(db, "before_cursor_execute", bug, times=1) as raised,
        pytest.raises(IntegrityError),
    ):
        await loa.conversation.handle(typed("8201"))
    assert raised == [1]


def test_the_default_window_is_over_a_minute() -> None:
    assert sum(DEFAULT_POLICY.pauses()) >= 60
    assert all(p <= DEFAULT_POLICY.max_s * 1.2 for p in DEFAULT_POLICY.pauses())


def test_what_counts_as_transient() -> None:
    assert all(is_transient(error) for error in FAULTS.values())
    assert is_transient(TimeoutError())
    assert not is_transient(IntegrityError("stmt", {}, Exception("duplicate key")))
    assert not is_transient(DBAPIError("stmt", {}, PgError("42P01")))  # undefined table
    assert not is_transient(ValueError("bad"))
