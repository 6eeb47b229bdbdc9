"""The conversation engine: one Inbound in, one turn, replies into the outbox.

One turn is one database transaction: the handler runs, the chat state and the replies are
written together. In `loa run` turns come from the durable inbox (`bot.chat.inbox`), which
stored the event before the platform was told it arrived and marks it done in the turn's own
transaction. `handle` is the direct path (console chat, demo, tests): it claims the update id
(so a re-delivered update is ignored) in the turn's transaction instead. Two updates from one
chat at once are serialised by a per-chat lock; database faults are retried (`bot.storage.retry`).

`prepare` runs before anything is stored: it normalises the text and recognises a message that
signals danger, whose text is then dropped (kind DISTRESS), so it is never stored or logged.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.base import Choice, Inbound, InboundKind, Outbound
from bot.chat import repository as repo
from bot.chat.router import Router
from bot.chat.turn import Turn
from bot.clock import Clock, Randomness, SystemRandomness
from bot.delivery.outbox import (
    OutboxItem,
    Priority,
    decode_choices,
    encode_choices,
    enqueue_each,
)
from bot.delivery.window import release_held
from bot.domain.text import TELEGRAM_MAX_TEXT, fold, fold_words, normalize_text
from bot.storage.db import Database
from bot.storage.retry import DEFAULT_POLICY, RetryPolicy, retrying
from messages import DEFAULT_LANG

log = logging.getLogger(__name__)

MAX_INBOUND_TEXT = TELEGRAM_MAX_TEXT  # the longest message a messenger delivers


class ChatLocks:
    """One asyncio lock per chat, dropped when nobody waits on it."""

    def __init__(self) -> None:
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}
        self._users: dict[tuple[str, str], int] = {}

    def hold(self, key: tuple[str, str]) -> _Held:
        """Context manager holding the lock of `key`."""
        return _Held(self, key)


class _Held:
    def __init__(self, locks: ChatLocks, key: tuple[str, str]) -> None:
        self._locks = locks
        self._key = key

    async def __aenter__(self) -> None:
        locks = self._locks
        lock = locks._locks.setdefault(self._key, asyncio.Lock())
        locks._users[self._key] = locks._users.get(self._key, 0) + 1
        await lock.acquire()

    async def __aexit__(self, *exc: object) -> None:
        locks = self._locks
        locks._locks[self._key].release()
        locks._users[self._key] -= 1
        if locks._users[self._key] == 0:
            del locks._users[self._key]
            del locks._locks[self._key]


class Conversation:
    """Handles inbound updates for every channel."""

    def __init__(
        self,
        db: Database,
        router: Router,
        clock: Clock,
        *,
        on_replies: Callable[[], None] = lambda: None,
        retry: RetryPolicy = DEFAULT_POLICY,
        randomness: Randomness | None = None,
        editable: frozenset[str] = frozenset(),
    ) -> None:
        self._db = db
        self._router = router
        self._clock = clock
        self._on_replies = on_replies
        self._retry = retry
        self._randomness = randomness or SystemRandomness()
        self._locks = ChatLocks()
        self._editable = editable  # channels that can take the buttons off a sent message

    @property
    def on_replies(self) -> Callable[[], None]:
        """Called after a turn queued replies (wakes the dispatcher)."""
        return self._on_replies

    def prepare(self, inbound: Inbound) -> Inbound:
        """NFC, bounded, commands folded; a message signalling danger loses its text at once."""
        inbound = _clean(inbound)
        if inbound.kind is InboundKind.TEXT and self._router.is_distress(inbound.text):
            return replace(inbound, kind=InboundKind.DISTRESS, text="", args="")
        return inbound

    async def handle(self, inbound: Inbound) -> list[Outbound]:
        """Handle one update now; returns the replies queued (empty for a duplicate update).

        A database fault rolls the whole turn back and it is tried again with backoff
        (`bot.storage.retry`); after the policy's window `GaveUp` is raised.
        """
        inbound = self.prepare(inbound)

        async def once() -> list[Outbound]:
            async with self._db.session() as session:
                return await self.turn(session, inbound, claim=True)

        async with self._locks.hold((inbound.channel, inbound.chat_id)):
            replies = await retrying("turn", once, policy=self._retry)
        if replies:
            self._on_replies()
        return replies

    async def turn(
        self, session: AsyncSession, inbound: Inbound, *, claim: bool = False
    ) -> list[Outbound]:
        """Run one prepared turn inside `session` (the caller commits); returns the replies.

        With `claim`, the update id is recorded first and a re-delivered one does nothing.
        """
        now = self._clock.now()
        if claim:
            fresh = await repo.claim_update(
                session, channel=inbound.channel, update_id=inbound.update_id, now=now
            )
            if not fresh:
                log.info("ignored a re-delivered update on %s", inbound.channel)
                return []
        state = await repo.load_state(
            session, channel=inbound.channel, chat_id=inbound.chat_id, now=now
        )
        subscriber = await repo.get_subscriber(
            session, channel=inbound.channel, chat_id=inbound.chat_id
        )
        lang = subscriber.lang if subscriber is not None else DEFAULT_LANG
        turn = Turn(
            inbound=numbered_reply(
                inbound, decode_choices(state.last_choices), state.last_numbered
            ),
            session=session,
            state=state,
            subscriber=subscriber,
            now=now,
            lang=lang,
            randomness=self._randomness,
        )
        await self._router.dispatch(turn)
        if turn.state_deleted:
            # The handler deleted the chat's rows; drop the loaded copies so that committing
            # neither re-inserts the new state nor updates the deleted ones.
            for row in (state, subscriber):
                if row is not None and row in session:
                    session.expunge(row)
        else:
            if turn.replies and inbound.kind is not InboundKind.DISTRESS:
                state.last_choices = encode_choices(turn.replies[-1].choices)
                state.last_numbered = turn.replies[-1].numbered
            state.updated_at = now
            if inbound.interaction and turn.subscriber is not None:
                # what opens a Zalo OA's 7-day window again; kept for every channel
                turn.subscriber.last_interaction_at = now
                # broadcasts held while the window was shut go now (after this turn's replies)
                await release_held(
                    session, channel=inbound.channel, chat_id=inbound.chat_id, now=now
                )
        # After a deletion the replies (the confirmation) are deleted once sent, so the outbox
        # keeps no row naming the chat.
        items = [
            OutboxItem(message=r, priority=Priority.REPLY, forget_after_send=turn.state_deleted)
            for r in turn.replies
        ]
        ids = await enqueue_each(session, items, now=now)
        if not turn.state_deleted and inbound.channel in self._editable:
            await _retire_buttons(session, turn, ids, now)
        return turn.replies


async def _retire_buttons(
    session: AsyncSession, turn: Turn, reply_ids: Sequence[int], now: datetime
) -> None:
    """Single-use buttons: when this turn sends a new single-use message or ends the flow
    (`Turn.retire_choices`), the chat's previous such message loses its buttons. The edit row
    goes after the replies, so the new question is not delayed by it."""
    state = turn.state
    single = [row for row, reply in zip(reply_ids, turn.replies, strict=True) if reply.single_use]
    if state.buttons_row is not None and (single or turn.retiring):
        edit = Outbound(channel=turn.channel, chat_id=turn.chat_id, text="")
        item = OutboxItem(message=edit, priority=Priority.REPLY, edit_of=state.buttons_row)
        await enqueue_each(session, [item], now=now)
        state.buttons_row = None
    if single:
        state.buttons_row = single[-1]


def _clean(inbound: Inbound) -> Inbound:
    """NFC, no control characters, bounded length; commands folded to their bare name."""
    full = normalize_text(inbound.text)
    text = full[:MAX_INBOUND_TEXT]  # measured first: a refusal can say the real length
    command = inbound.command
    if command is not None:
        command = fold(command).lstrip("/").split("@", 1)[0]
    args = normalize_text(inbound.args)[:MAX_INBOUND_TEXT]
    length = len(full) if len(full) > len(text) else None
    return replace(inbound, text=text, command=command, args=args, text_length=length)


def numbered_reply(inbound: Inbound, offered: Sequence[Choice], numbered: bool) -> Inbound:
    """Turn «2» (or a choice's label typed out) into a press of the second choice last offered.

    Only where the last message was numbered: when it asked for a figure, «2» is the answer.
    """
    if inbound.kind is not InboundKind.TEXT or not offered:
        return inbound
    typed = inbound.text.strip().rstrip(".)")
    data: str | None = None
    if typed.isdigit():
        picks = [c for c in offered if not c.unnumbered]
        if numbered and 1 <= int(typed) <= len(picks):
            data = picks[int(typed) - 1].data
    else:
        folded = fold_words(inbound.text)
        data = next((c.data for c in offered if folded and fold_words(c.label) == folded), None)
    if data is None:
        return inbound
    return replace(inbound, kind=InboundKind.CHOICE, choice_data=data)
