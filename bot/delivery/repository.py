"""The delivery engine's SQL on the outbox and run tables: claim, release, recover, record."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, delete, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery.outbox import Priority, finish_runs
from bot.storage.models.delivery import (
    CANCELLED,
    HELD,
    PENDING,
    SENDING,
    SENT,
    BulkRun,
    OutboxMessage,
    RunStatus,
)

OUTBOX = OutboxMessage.__table__  # type: ignore[attr-defined]
RUNS = BulkRun.__table__  # type: ignore[attr-defined]
IN_CHUNK = 400


@dataclass(slots=True)
class Job:
    """A claimed row, as plain values."""

    id: int
    channel: str
    chat_id: str
    text: str
    choices: str
    columns: int
    numbered: bool
    priority: int
    attempts: int
    run_id: int | None
    extra: str | None
    forget_after_send: bool = False  # deleted once it reached a final state
    # an edit row: change the message of outbox row `edit_of` (its text and buttons become
    # this row's; with no text, its buttons go) …
    edit_of: int | None = None
    topic: str | None = None  # what the row is about (bot/delivery/keys.py)
    edit_ref: str | None = None  # … whose message the platform knows by this id (if sent)

    @property
    def paced_per_chat(self) -> bool:
        """Whether the chat's spacing applies: to messages and text edits, which the person
        sees change; not to taking the buttons off an old message."""
        return self.edit_of is None or bool(self.text)


def chunks(ids: Sequence[int]) -> list[Sequence[int]]:
    """`ids` in slices short enough for one IN (...) list."""
    return [ids[i : i + IN_CHUNK] for i in range(0, len(ids), IN_CHUNK)]


async def recover(session: AsyncSession) -> int:
    """Put rows left `sending` by a previous process back to pending; returns how many."""
    result = await session.execute(
        update(OUTBOX)
        .where(OUTBOX.c.status == SENDING)
        .values(status=PENDING, claimed_at=None)
        .returning(OUTBOX.c.id)
    )
    return len(result.all())


async def claim(
    session: AsyncSession,
    *,
    channel: str,
    now: datetime,
    max_priority: int,
    limit: int,
    skip_locked: bool,
) -> list[Job]:
    """Mark up to `limit` due rows of `channel` `sending`, most urgent first, and return them."""
    due = (
        select(OUTBOX.c.id)
        .where(
            OUTBOX.c.status == PENDING,
            OUTBOX.c.priority <= max_priority,
            OUTBOX.c.next_attempt_at <= now,
            OUTBOX.c.channel == channel,
        )
        .order_by(OUTBOX.c.priority, OUTBOX.c.id)
        .limit(limit)
    )
    # Replies reach a person in the order they were written: a reply waits while an earlier
    # reply to the same chat is still in flight or waiting for a retry. (Bulk rows are one
    # per chat and run, so they skip the check and keep the claim cheap.)
    earlier = OUTBOX.alias("earlier")
    due = due.where(
        or_(
            OUTBOX.c.priority > int(Priority.REPLY),
            ~exists().where(
                earlier.c.channel == OUTBOX.c.channel,
                earlier.c.chat_id == OUTBOX.c.chat_id,
                earlier.c.priority == int(Priority.REPLY),
                earlier.c.id < OUTBOX.c.id,
                earlier.c.status.in_((PENDING, SENDING)),
            ),
        )
    )
    if skip_locked:
        due = due.with_for_update(skip_locked=True)
    result = await session.execute(
        update(OUTBOX)
        .where(OUTBOX.c.id.in_(due.scalar_subquery()))
        .values(status=SENDING, claimed_at=now)
        .returning(
            OUTBOX.c.id,
            OUTBOX.c.channel,
            OUTBOX.c.chat_id,
            OUTBOX.c.text,
            OUTBOX.c.choices,
            OUTBOX.c.columns,
            OUTBOX.c.numbered,
            OUTBOX.c.priority,
            OUTBOX.c.attempts,
            OUTBOX.c.run_id,
            OUTBOX.c.extra,
            OUTBOX.c.forget_after_send,
            OUTBOX.c.edit_of,
            OUTBOX.c.topic,
        )
    )
    jobs = [Job(*row) for row in result.all()]
    targets = [job.edit_of for job in jobs if job.edit_of is not None]
    if targets:
        # The edited row is an earlier reply to the same chat, so it was recorded first.
        rows = await session.execute(
            select(OUTBOX.c.id, OUTBOX.c.sent_ref).where(OUTBOX.c.id.in_(targets))
        )
        refs: dict[int, str | None] = {row_id: ref for row_id, ref in rows.all()}
        for job in jobs:
            if job.edit_of is not None:
                job.edit_ref = refs.get(job.edit_of)
    return jobs


async def release(session: AsyncSession, ids: Sequence[int]) -> None:
    """Give claimed rows that were never sent back to pending."""
    for chunk in chunks(ids):
        await session.execute(
            update(OUTBOX)
            .where(OUTBOX.c.id.in_(chunk), OUTBOX.c.status == SENDING)
            .values(status=PENDING, claimed_at=None)
        )


async def mark_sent(session: AsyncSession, ids: Sequence[int], *, now: datetime) -> None:
    """Rows the channel accepted."""
    for chunk in chunks(ids):
        await session.execute(
            update(OUTBOX)
            .where(OUTBOX.c.id.in_(chunk))
            .values(status=SENT, sent_at=now, attempts=OUTBOX.c.attempts + 1, last_error=None)
        )


async def record_refs(session: AsyncSession, refs: Sequence[Mapping[str, Any]]) -> None:
    """The platform ids of sent messages: each {b_id, b_ref}."""
    if not refs:
        return
    await session.execute(
        update(OUTBOX).where(OUTBOX.c.id == bindparam("b_id")).values(sent_ref=bindparam("b_ref")),
        refs,
    )


async def forget(session: AsyncSession, ids: Sequence[int]) -> None:
    """Delete rows that must not outlive their send (no row naming a deleted chat is kept)."""
    for chunk in chunks(ids):
        await session.execute(delete(OUTBOX).where(OUTBOX.c.id.in_(chunk)))


async def mark_retry(session: AsyncSession, retries: Sequence[Mapping[str, Any]]) -> None:
    """Rows to try again: each {b_id, b_attempts, b_next, b_error}."""
    if not retries:
        return
    await session.execute(
        update(OUTBOX)
        .where(OUTBOX.c.id == bindparam("b_id"))
        .values(
            status=PENDING,
            attempts=bindparam("b_attempts"),
            next_attempt_at=bindparam("b_next", type_=OUTBOX.c.next_attempt_at.type),
            last_error=bindparam("b_error"),
            claimed_at=None,
        ),
        retries,
    )


async def mark_final(session: AsyncSession, finals: Sequence[Mapping[str, Any]]) -> None:
    """Rows that will not be tried again: each {b_id, b_status, b_error}."""
    if not finals:
        return
    await session.execute(
        update(OUTBOX)
        .where(OUTBOX.c.id == bindparam("b_id"))
        .values(
            status=bindparam("b_status"),
            attempts=OUTBOX.c.attempts + 1,
            last_error=bindparam("b_error"),
            claimed_at=None,
        ),
        finals,
    )


async def cancel_bulk_to(session: AsyncSession, *, channel: str, chat_id: str) -> list[int]:
    """A chat blocked the bot: cancel its pending non-reply rows; returns their run ids."""
    result = await session.execute(
        update(OUTBOX)
        .where(
            OUTBOX.c.channel == channel,
            OUTBOX.c.chat_id == chat_id,
            or_(
                and_(OUTBOX.c.status == PENDING, OUTBOX.c.priority >= int(Priority.DIRECT)),
                OUTBOX.c.status == HELD,  # a held broadcast, whatever its priority
            ),
        )
        .values(status=CANCELLED, last_error="chat blocked the bot")
        .returning(OUTBOX.c.run_id)
    )
    return [run_id for (run_id,) in result.all() if run_id is not None]


async def readdress(session: AsyncSession, *, channel: str, chat_id: str, new_chat_id: str) -> None:
    """A group moved to a new id: its open rows follow it."""
    await session.execute(
        update(OUTBOX)
        .where(
            OUTBOX.c.channel == channel,
            OUTBOX.c.chat_id == chat_id,
            OUTBOX.c.status.in_((PENDING, SENDING)),
        )
        .values(chat_id=new_chat_id)
    )


async def add_run_counts(session: AsyncSession, counts: Mapping[tuple[int, str], int]) -> None:
    """Add to each run's sent/blocked/failed counters: {(run id, column): count}."""
    for (run_id, column), count in counts.items():
        await session.execute(
            update(RUNS).where(RUNS.c.id == run_id).values({column: RUNS.c[column] + count})
        )


async def finish_settled_runs(session: AsyncSession, *, now: datetime) -> None:
    """Close running runs that have no row left to send."""
    # Settled = no row of the run still to send. Judged from the rows, not the running
    # counts: rows cancelled elsewhere (/huy, a submitted report) never pass through here.
    unsent = (
        select(OUTBOX.c.id)
        .where(OUTBOX.c.run_id == RUNS.c.id, OUTBOX.c.status.in_((PENDING, SENDING)))
        .exists()
    )
    complete = await session.execute(
        select(RUNS.c.id).where(RUNS.c.status == RunStatus.RUNNING, ~unsent)
    )
    run_ids = [run_id for (run_id,) in complete.all()]
    if run_ids:
        await finish_runs(session, now=now, run_ids=run_ids)


async def running_runs(session: AsyncSession) -> list[tuple[int, str, int, int, int]]:
    """(id, kind, queued, sent, blocked) of every run still running, for progress logs."""
    runs = await session.execute(
        select(RUNS.c.id, RUNS.c.kind, RUNS.c.queued, RUNS.c.sent, RUNS.c.blocked).where(
            RUNS.c.status == RunStatus.RUNNING
        )
    )
    return [tuple(row) for row in runs.all()]
