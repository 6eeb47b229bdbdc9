"""The durable outbox: every message Loa sends is a row here first (see DESIGN.md rule 4).

Producers call `enqueue`; the dispatcher claims due rows, sends them and records the outcome.
Row status: pending → sending → sent | failed | blocked | cancelled | skipped; a broadcast to
someone outside a messaging window: sending → held → pending | skipped (bot/delivery/window.py).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import IntEnum
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.base import Attachment, Choice, MenuCommand, Outbound
from bot.storage.models.delivery import (
    BLOCKED,
    CANCELLED,
    FAILED,
    PENDING,
    SENDING,
    SENT,
    SKIPPED,
    BulkRun,
    OutboxMessage,
    RunStatus,
)

# 500 rows x 14 columns stays far below SQLite's 32,766 bound parameters and PG's 65,535.
ENQUEUE_CHUNK = 500
EMPTY_RUN_GRACE = timedelta(minutes=5)


class Priority(IntEnum):
    """Send order: a reply to someone typing first, then direct messages, then bulk."""

    REPLY = 0
    DIRECT = 1
    BULK = 2


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """One message to put in the outbox."""

    message: Outbound
    priority: Priority
    dedup_key: str | None = None  # unique; an item whose key exists is skipped
    run_id: int | None = None
    not_before: datetime | None = None
    forget_after_send: bool = False  # deleted once sent (no row naming the chat is kept)
    topic: str | None = None  # what the message is about (bot/delivery/keys.py) …
    topic_ref: str | None = None  # … and which one of them, both matched by equality
    # not a message: change the message of outbox row `edit_of` to this text and these
    # choices; with no text, take its buttons off
    edit_of: int | None = None


def encode_choices(choices: Sequence[Choice]) -> str:
    """Choices as the JSON text stored in `outbox.choices`."""
    if not choices:
        return "[]"
    return json.dumps(
        [[c.label, c.data, 1] if c.unnumbered else [c.label, c.data] for c in choices],
        ensure_ascii=False,
    )


def decode_choices(raw: str) -> tuple[Choice, ...]:
    """The inverse of `encode_choices`."""
    if raw in ("", "[]"):
        return ()
    return tuple(
        Choice(label=str(item[0]), data=str(item[1]), unnumbered=len(item) > 2 and bool(item[2]))
        for item in json.loads(raw)
    )


def encode_extra(message: Outbound) -> str | None:
    """A message's file and command menu as the JSON text stored in `outbox.extra` (None: none)."""
    extra: dict[str, Any] = {}
    if message.attachment is not None:
        file = message.attachment
        extra["file"] = [file.path, file.filename, file.media_type, file.photo]
    if message.menu is not None:
        extra["menu"] = [[entry.command, entry.description] for entry in message.menu]
    if message.template is not None:
        extra["template"] = [list(pair) for pair in message.template]
    return json.dumps(extra, ensure_ascii=False) if extra else None


def decode_extra(raw: str | None) -> tuple[Attachment | None, tuple[MenuCommand, ...] | None]:
    """The inverse of `encode_extra`."""
    if not raw:
        return None, None
    extra = json.loads(raw)
    file = extra.get("file")
    attachment = None
    if file:
        path, name, media_type, photo = file
        attachment = Attachment(str(path), str(name), str(media_type), bool(photo))
    menu = extra.get("menu")
    commands = None
    if menu is not None:
        commands = tuple(MenuCommand(str(pair[0]), str(pair[1])) for pair in menu)
    return attachment, commands


def decode_template(raw: str | None) -> tuple[tuple[str, str], ...] | None:
    """A template notice's (field, value) pairs from `outbox.extra` (None: not a template)."""
    if not raw:
        return None
    pairs = json.loads(raw).get("template")
    if pairs is None:
        return None
    return tuple((str(name), str(value)) for name, value in pairs)


def _row_values(item: OutboxItem, now: datetime) -> dict[str, Any]:
    msg = item.message
    return {
        "channel": msg.channel,
        "chat_id": msg.chat_id,
        "text": msg.text,
        "choices": encode_choices(msg.choices),
        "columns": msg.columns,
        "numbered": msg.numbered,
        "priority": int(item.priority),
        "status": PENDING,
        "attempts": 0,
        "next_attempt_at": item.not_before or now,
        "created_at": now,
        "run_id": item.run_id,
        "dedup_key": item.dedup_key,
        "extra": encode_extra(msg),
        "forget_after_send": item.forget_after_send,
        "topic": item.topic,
        "topic_ref": item.topic_ref,
        "edit_of": item.edit_of,
    }


async def enqueue(session: AsyncSession, items: Sequence[OutboxItem], *, now: datetime) -> int:
    """Insert items (skipping those whose dedup_key exists); returns the number of rows inserted.

    Runs inside the caller's transaction; the inserted rows also raise their run's `queued` count.
    """
    if not items:
        return 0
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert_fn = pg_insert if dialect == "postgresql" else sqlite_insert
    table = OutboxMessage.__table__  # type: ignore[attr-defined]
    inserted = 0
    per_run: Counter[int] = Counter()
    for start in range(0, len(items), ENQUEUE_CHUNK):
        chunk = items[start : start + ENQUEUE_CHUNK]
        stmt = (
            insert_fn(table)
            .values([_row_values(item, now) for item in chunk])
            .on_conflict_do_nothing(index_elements=["dedup_key"])
            .returning(table.c.run_id)
        )
        result = await session.execute(stmt)
        for (run_id,) in result.all():
            inserted += 1
            if run_id is not None:
                per_run[run_id] += 1
    for run_id, count in per_run.items():
        await session.execute(
            update(BulkRun)
            .where(BulkRun.id == run_id)  # type: ignore[arg-type]
            # rows added to a run already finished reopen it
            .values(queued=BulkRun.queued + count, status=RunStatus.RUNNING, finished_at=None)
        )
    return inserted


async def enqueue_each(
    session: AsyncSession, items: Sequence[OutboxItem], *, now: datetime
) -> list[int]:
    """Insert a few items without dedup keys (a turn's replies) in order; returns their ids."""
    table = OutboxMessage.__table__  # type: ignore[attr-defined]
    ids: list[int] = []
    for item in items:
        stmt = insert(table).values(_row_values(item, now)).returning(table.c.id)
        ids.append((await session.execute(stmt)).scalar_one())
    return ids


async def enqueue_one(session: AsyncSession, item: OutboxItem, *, now: datetime) -> int:
    """Insert one item outside any run (a run's count is not raised) and return its row id;
    an item whose dedup key exists is not inserted again, and that row's id is returned."""
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert_fn = pg_insert if dialect == "postgresql" else sqlite_insert
    table = OutboxMessage.__table__  # type: ignore[attr-defined]
    stmt = (
        insert_fn(table)
        .values(_row_values(item, now))
        .on_conflict_do_nothing(index_elements=["dedup_key"])
        .returning(table.c.id)
    )
    row_id = (await session.execute(stmt)).scalar()
    if row_id is None:
        found = select(table.c.id).where(table.c.dedup_key == item.dedup_key)
        row_id = (await session.execute(found)).scalar_one()
    return int(row_id)


async def start_run(session: AsyncSession, *, kind: str, label: str, now: datetime) -> int:
    """Open a bulk run (daily_post | broadcast | reminder | escalation); returns its id."""
    run = BulkRun(kind=kind, label=label[:200], status=RunStatus.RUNNING, started_at=now)
    session.add(run)
    await session.flush()
    assert run.id is not None
    return run.id


async def finish_runs(
    session: AsyncSession, *, now: datetime, run_ids: Sequence[int] | None = None
) -> None:
    """Recount running runs (all, or `run_ids`) from their rows; mark those settled as done."""
    runs = BulkRun.__table__.c  # type: ignore[attr-defined]
    outbox = OutboxMessage.__table__.c  # type: ignore[attr-defined]
    query = select(runs.id, runs.started_at).where(runs.status == RunStatus.RUNNING)
    if run_ids is not None:
        query = query.where(runs.id.in_(run_ids))
    running = (await session.execute(query)).all()
    open_runs = [run_id for run_id, _ in running if run_id is not None]
    started = {run_id: started_at for run_id, started_at in running}
    if not open_runs:
        return
    counts: dict[int, Counter[str]] = {run_id: Counter() for run_id in open_runs}
    rows = await session.execute(
        select(outbox.run_id, outbox.status, func.count())
        .where(outbox.run_id.in_(open_runs))
        .group_by(outbox.run_id, outbox.status)
    )
    for run_id, status, count in rows.all():
        counts[run_id][status] += count
    for run_id, by_status in counts.items():
        open_rows = by_status[PENDING] + by_status[SENDING]
        values: dict[str, Any] = {
            "queued": sum(by_status.values()),
            "sent": by_status[SENT],
            "failed": by_status[FAILED],
            # a chat whose other row was blocked is cancelled: for the run it is a blocked recipient
            "blocked": by_status[BLOCKED] + by_status[CANCELLED],
            "skipped": by_status[SKIPPED],
        }
        # an empty run may still be filling (its producer enqueues in several transactions)
        settled = sum(by_status.values()) > 0 or now - started[run_id] > EMPTY_RUN_GRACE
        if open_rows == 0 and settled:
            values["status"] = RunStatus.DONE
            values["finished_at"] = now
        await session.execute(update(BulkRun).where(BulkRun.id == run_id).values(**values))  # type: ignore[arg-type]
