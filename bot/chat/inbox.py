"""The durable inbox: nothing a person sends is lost once the platform was told it arrived.

Receiving (every channel): `accept` / `accept_many` store each event as an `inbox` row,
de-duplicated by (channel, event id), and commit *before* returning — a polling receiver advances
its offset only afterwards, a webhook answers 200 only afterwards (and 5xx when this raises, so
the platform re-delivers). A database fault is retried with backoff for the retry policy's
window (`bot.storage.retry`); only then does the receiver see the error.

Processing: one worker loop reads pending rows in id order and runs each chat's rows in order,
one chat at a time per chat and up to `concurrency` chats at once. A turn's effects (state,
replies in the outbox) and the row's «done» mark are one transaction, so a crash re-processes
at most the turns in flight and never loses one. A turn whose database faults outlast the retry
window, or that fails for another reason, is *parked* (status, never deleted); parked rows are
tried again at the next start.

Privacy: the row holds the normalised Inbound (the text as typed); once done, its payload and
chat id are blanked, and a text that signals danger was dropped before storing (see
`Conversation.prepare`). Housekeeping deletes done rows after two days (re-deliveries stop
long before); `/xoadulieu` deletes a chat's rows not yet processed.

Work sharing later: the worker claims by chat, so several processes could split the chats by a
hash of (channel, chat id), each under its own lease (`bot.storage.lease`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.base import Inbound, InboundKind, Outbound
from bot.chat.conversation import Conversation
from bot.clock import Clock, format_vn_datetime
from bot.logs import chat_ref
from bot.storage.db import Database
from bot.storage.models.inbox import InboxEvent, InboxStatus
from bot.storage.retry import DEFAULT_POLICY, GaveUp, RetryPolicy, retrying

log = logging.getLogger(__name__)

INBOX = InboxEvent.__table__  # type: ignore[attr-defined]
BATCH = 200
STORE_CHUNK = 500


def encode(inbound: Inbound) -> str:
    """The Inbound as the JSON stored in `inbox.payload`."""
    return json.dumps(
        {
            "kind": str(inbound.kind),
            "received_at": inbound.received_at.isoformat(),
            "text": inbound.text,
            "command": inbound.command,
            "args": inbound.args,
            "choice_data": inbound.choice_data,
            "language_hint": inbound.language_hint,
            "interaction": inbound.interaction,
        },
        ensure_ascii=False,
    )


def decode(channel: str, chat_id: str, event_id: str, payload: str) -> Inbound:
    """The inverse of `encode`."""
    data: dict[str, Any] = json.loads(payload)
    return Inbound(
        channel=channel,
        chat_id=chat_id,
        update_id=event_id,
        kind=InboundKind(data["kind"]),
        received_at=datetime.fromisoformat(data["received_at"]),
        text=data["text"],
        command=data["command"],
        args=data["args"],
        choice_data=data["choice_data"],
        language_hint=data["language_hint"],
        interaction=data.get("interaction", True),
    )


async def store(session: AsyncSession, inbounds: Sequence[Inbound], *, now: datetime) -> int:
    """Insert the events not stored yet (inside the caller's transaction); returns how many."""
    if not inbounds:
        return 0
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    rows = [
        {
            "channel": i.channel,
            "event_id": i.update_id,
            "chat_id": i.chat_id,
            "status": InboxStatus.PENDING,
            "payload": encode(i),
            "attempts": 0,
            "received_at": now,
        }
        for i in inbounds
    ]
    stored = 0
    for start in range(0, len(rows), STORE_CHUNK):  # SQLite caps a statement's parameters
        stmt = (
            insert(INBOX)
            .values(rows[start : start + STORE_CHUNK])
            .on_conflict_do_nothing(index_elements=["channel", "event_id"])
        )
        result = await session.execute(stmt)
        stored += int(getattr(result, "rowcount", 0) or 0)
    return stored


async def forget_chat(session: AsyncSession, *, channel: str, chat_id: str) -> int:
    """Delete a chat's rows not processed yet (done rows no longer name the chat). Returns 0:
    the message being answered is one of them, and it is not data «kept» about the person."""
    await session.execute(
        delete(INBOX).where(INBOX.c.channel == channel, INBOX.c.chat_id == chat_id)
    )
    return 0


async def forget_done(
    session: AsyncSession, *, done_before: datetime, parked_before: datetime
) -> int:
    """Housekeeping: drop done rows received before `done_before`, and parked ones (which
    still hold the text) before `parked_before`."""
    removed = 0
    for status, before in ((InboxStatus.DONE, done_before), (InboxStatus.PARKED, parked_before)):
        result = await session.execute(
            delete(INBOX).where(INBOX.c.status == status, INBOX.c.received_at < before)
        )
        removed += int(getattr(result, "rowcount", 0) or 0)
    return removed


@dataclass(frozen=True)
class Backlog:
    """What the inbox still holds: turns waiting, and turns parked after failing."""

    pending: int
    parked: int
    oldest_parked: datetime | None

    def describe(self) -> str:
        """One operator line (`loa status`); times on Vietnam's wall clock."""
        line = f"inbox: {self.pending} waiting, {self.parked} parked"
        if self.oldest_parked is not None:
            since = format_vn_datetime(self.oldest_parked)
            line += f" (oldest received {since}; parked turns are tried again at each start)"
        return line


async def backlog(session: AsyncSession) -> Backlog:
    """Count the pending and parked rows (the parked ones still hold what the person sent)."""
    rows = await session.execute(
        select(INBOX.c.status, func.count(), func.min(INBOX.c.received_at))
        .where(INBOX.c.status.in_([InboxStatus.PENDING, InboxStatus.PARKED]))
        .group_by(INBOX.c.status)
    )
    found = {status: (count, oldest) for status, count, oldest in rows.all()}
    pending = found.get(InboxStatus.PENDING, (0, None))[0]
    parked, oldest = found.get(InboxStatus.PARKED, (0, None))
    return Backlog(int(pending), int(parked), oldest)


class Inbox:
    """Stores inbound events durably and feeds them to the conversation engine in order."""

    def __init__(
        self,
        db: Database,
        conversation: Conversation,
        clock: Clock,
        *,
        concurrency: int = 16,
        retry: RetryPolicy = DEFAULT_POLICY,
        after_turn: Callable[[list[Outbound]], Awaitable[None]] | None = None,
    ) -> None:
        self._db = db
        self._conversation = conversation
        self._clock = clock
        self._slots = asyncio.Semaphore(concurrency)
        self._retry = retry
        self._after_turn = after_turn
        self._wake = asyncio.Event()
        self._busy: set[tuple[str, str]] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.Task[None] | None = None
        self._queued: list[tuple[list[Inbound], asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None
        self.parked = 0  # turns parked since start, for tests and status

    # -- receiving ------------------------------------------------------------------------------

    async def accept(self, inbound: Inbound) -> None:
        """Store one event and commit. Raises `GaveUp` when the database stayed unavailable for
        the whole retry window (a webhook then answers 5xx, so the platform re-delivers)."""
        await self.accept_many([inbound])

    async def accept_many(self, inbounds: Iterable[Inbound]) -> None:
        """Store events and commit before returning.

        Calls that arrive together (parallel webhook posts) share one transaction — a group
        commit: the first caller writes everything queued by then, the others wait for it.
        """
        prepared = [self._conversation.prepare(i) for i in inbounds]
        if not prepared:
            return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queued.append((prepared, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_queued())
        await asyncio.shield(done)

    async def _write_queued(self) -> None:
        while self._queued:
            await asyncio.sleep(0)  # let callers that arrive in the same tick join this commit
            batch, self._queued = self._queued, []
            events = [inbound for inbounds, _ in batch for inbound in inbounds]

            async def once(events: list[Inbound] = events) -> int:
                async with self._db.session() as session:
                    return await store(session, events, now=self._clock.now())

            try:
                await retrying("inbox store", once, policy=self._retry)
            except Exception as error:
                for _, done in batch:
                    if not done.done():
                        done.set_exception(error)
                continue
            for _, done in batch:
                if not done.done():
                    done.set_result(None)
            self._wake.set()

    # -- processing -----------------------------------------------------------------------------

    async def start(self) -> None:
        """Re-queue parked turns, then start the worker loop (returns at once)."""
        if self._loop is not None:
            return

        async def unpark() -> int:
            async with self._db.session() as session:
                result = await session.execute(
                    update(INBOX)
                    .where(INBOX.c.status == InboxStatus.PARKED, INBOX.c.payload != "")
                    .values(status=InboxStatus.PENDING)
                )
                return int(getattr(result, "rowcount", 0) or 0)

        unparked = await retrying("inbox unpark", unpark, policy=self._retry)
        if unparked:
            log.warning("inbox: %d parked turns queued again", unparked)
        self._loop = asyncio.create_task(self._run(), name="inbox")

    async def stop(self, *, grace_s: float = 10.0) -> None:
        """Stop taking rows; let turns in progress finish for up to `grace_s`."""
        loop, self._loop = self._loop, None
        if loop is not None:
            loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await loop
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=grace_s)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)

    def notify(self) -> None:
        """Wake the worker (new rows were stored by another path)."""
        self._wake.set()

    async def drain(self) -> None:
        """Process every pending row now and wait for it (tests, the demo)."""
        while True:
            await self._schedule()
            if not self._tasks:
                if not await self._pending_chats():
                    return
                continue
            await asyncio.wait(set(self._tasks))

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self._schedule()
            except Exception as error:  # GaveUp, or a fault not worth retrying: try again soon
                log.error("inbox: reading pending turns failed (%s)", type(error).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=1.0)

    async def _pending_chats(self) -> list[tuple[str, str]]:
        async def once() -> list[tuple[str, str]]:
            async with self._db.session() as session:
                rows = await session.execute(
                    select(INBOX.c.channel, INBOX.c.chat_id)
                    .where(INBOX.c.status == InboxStatus.PENDING)
                    .order_by(INBOX.c.id)
                    .limit(BATCH)
                )
                return [(str(c), str(chat)) for c, chat in rows.all()]

        return await retrying("inbox read", once, policy=self._retry)

    async def _schedule(self) -> None:
        for key in dict.fromkeys(await self._pending_chats()):
            if key in self._busy:
                continue
            self._busy.add(key)
            task = asyncio.create_task(self._chat(key))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _chat(self, key: tuple[str, str]) -> None:
        """Process one chat's pending rows in order, until none is left."""
        channel, chat_id = key
        try:
            async with self._slots:
                while True:
                    ids = await self._chat_rows(channel, chat_id)
                    if not ids:
                        return
                    for row_id in ids:
                        await self._process(row_id, key)
        except Exception as error:  # GaveUp, or a fault not worth retrying: the next pass retries
            log.error("inbox: chat %s waits (%s)", chat_ref(channel, chat_id), type(error).__name__)
        finally:
            self._busy.discard(key)
            self._wake.set()

    async def _chat_rows(self, channel: str, chat_id: str) -> list[int]:
        async def once() -> list[int]:
            async with self._db.session() as session:
                rows = await session.execute(
                    select(INBOX.c.id)
                    .where(
                        INBOX.c.channel == channel,
                        INBOX.c.chat_id == chat_id,
                        INBOX.c.status == InboxStatus.PENDING,
                    )
                    .order_by(INBOX.c.id)
                    .limit(20)
                )
                return [int(i) for (i,) in rows.all()]

        return await retrying("inbox read", once, policy=self._retry)

    async def _process(self, row_id: int, key: tuple[str, str]) -> None:
        async def once() -> list[Outbound]:
            async with self._db.session() as session:
                row = (
                    await session.execute(
                        select(INBOX.c.event_id, INBOX.c.payload).where(
                            INBOX.c.id == row_id, INBOX.c.status == InboxStatus.PENDING
                        )
                    )
                ).first()
                if row is None:
                    return []  # processed meanwhile, or deleted with the chat's data
                inbound = decode(key[0], key[1], str(row.event_id), str(row.payload))
                replies = await self._conversation.turn(session, inbound)
                await session.execute(
                    update(INBOX)
                    .where(INBOX.c.id == row_id)
                    .values(
                        status=InboxStatus.DONE,
                        payload="",
                        chat_id="",
                        handled_at=self._clock.now(),
                    )
                )
                return replies

        try:
            replies = await retrying("inbox turn", once, policy=self._retry)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            await self._park(row_id, key, error)
            return
        log.debug("inbox: a turn of chat %s done, %d replies", chat_ref(*key), len(replies))
        if replies:
            self._conversation.on_replies()
        if self._after_turn is not None:
            await self._after_turn(replies)

    async def _park(self, row_id: int, key: tuple[str, str], error: Exception) -> None:
        cause = error.__cause__ if isinstance(error, GaveUp) else error
        kind = type(cause).__name__ if cause is not None else type(error).__name__
        log.error("inbox: a turn of chat %s parked after %s", chat_ref(*key), kind)

        async def once() -> None:
            async with self._db.session() as session:
                await session.execute(
                    update(INBOX)
                    .where(INBOX.c.id == row_id)
                    .values(
                        status=InboxStatus.PARKED,
                        attempts=INBOX.c.attempts + 1,
                        last_error=kind[:200],
                    )
                )

        await retrying("inbox park", once, policy=self._retry)
        self.parked += 1
