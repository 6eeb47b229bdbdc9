"""Changing what a queued or sent message says, through the outbox (a progress message).

An edit row (`OutboxItem.edit_of`) changes the message of an earlier row when the dispatcher gets
to it, under the channel's limits like any send. `replace_message` keeps at most one such change
waiting per message: a change due while the previous one still waits rewrites that row instead
(a slow or throttled channel never builds a queue of stale edits), and a message not yet sent
simply gets the new text. Edit rows are replies to the same chat as the message they change, so
the dispatcher claims them only once every earlier reply there is recorded (its `sent_ref` too).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.base import Outbound
from bot.delivery.outbox import OutboxItem, Priority, encode_choices, enqueue_each
from bot.storage.models.delivery import PENDING, SENDING, SENT, OutboxMessage

OUTBOX = OutboxMessage.__table__  # type: ignore[attr-defined]


class Replaced(StrEnum):
    """What `replace_message` did."""

    QUEUED = "queued"  # a new edit row
    REWRITTEN = "rewritten"  # a row still waiting (the message, or its last edit) got the text
    UNCHANGED = "unchanged"  # the message says it already, or will once what waits is sent
    IN_FLIGHT = "in_flight"  # the message itself is being sent: nothing queued, try later
    GONE = "gone"  # the message was never delivered (failed, blocked, cancelled) or is purged


async def replace_message(
    session: AsyncSession,
    target: int,
    message: Outbound,
    *,
    now: datetime,
    behind_send: bool = False,
) -> Replaced:
    """Make the message of outbox row `target` say `message`'s text with its choices.

    While the newest row for it (the message, or its latest edit) is still pending, that row
    is rewritten; otherwise an edit row is queued. A message being sent right now is left
    alone (IN_FLIGHT) unless `behind_send`: then the edit is queued behind it (for a last text
    that must land; it is claimed once the send is recorded).
    """
    table = OUTBOX.c
    target_status = (await session.execute(select(table.status).where(table.id == target))).scalar()
    if target_status is None or target_status not in (PENDING, SENDING, SENT):
        return Replaced.GONE
    newest = (
        await session.execute(
            select(table.id, table.status, table.text, table.choices)
            .where(
                table.channel == message.channel,  # the chat's rows: an indexed lookup
                table.chat_id == message.chat_id,
                or_(table.id == target, table.edit_of == target),
                table.status.in_((PENDING, SENDING, SENT)),
            )
            .order_by(table.id.desc())
            .limit(1)
        )
    ).first()
    if newest is None:  # the chat moved to another id since
        return Replaced.GONE
    row_id, status, text, choices = newest
    wanted = {"text": message.text, "choices": encode_choices(message.choices)}
    if text == wanted["text"] and choices == wanted["choices"]:
        return Replaced.UNCHANGED
    if status == PENDING:
        rewritten = await session.execute(
            update(OUTBOX)
            .where(table.id == row_id, table.status == PENDING)
            .values(columns=message.columns, **wanted)
            .returning(table.id)
        )
        if rewritten.first() is not None:
            return Replaced.REWRITTEN
        # claimed meanwhile (another transaction): a new edit row follows it
    elif status == SENDING and row_id == target and not behind_send:
        return Replaced.IN_FLIGHT
    edit = OutboxItem(message, Priority.REPLY, edit_of=target)
    await enqueue_each(session, [edit], now=now)
    return Replaced.QUEUED
