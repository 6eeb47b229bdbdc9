"""Channels and a runner for dispatcher tests: the production loops in virtual time."""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict, deque
from typing import Any

from bot.app import CHAT_EVENTS
from bot.channels.base import (
    Capabilities,
    Channel,
    ChoiceEditor,
    Outbound,
    SendResult,
    SendStatus,
)
from bot.clock import FakeClock, FakeTicker
from bot.delivery.dispatcher import POLL_S, Dispatcher
from bot.delivery.limiter import ChannelLimits
from bot.storage.db import Database

FAST = ChannelLimits(per_second=10_000, per_chat_per_second=10_000, per_group_per_minute=600_000)
HANG_GUARD_S = 20.0  # a broken dispatcher fails the test instead of hanging it


class SendWaiter:
    """Counts finished sends and lets a test wait for a number of them."""

    def __init__(self) -> None:
        self.finished = 0
        self._changed = asyncio.Event()

    def done(self) -> None:
        self.finished += 1
        self._changed.set()

    async def until(self, count: int) -> None:
        """Wait until `count` sends have finished."""
        async with asyncio.timeout(HANG_GUARD_S):
            while self.finished < count:
                self._changed.clear()
                await self._changed.wait()


class ScriptedChannel:
    """Records every send; answers from a per-chat script, OK when the script is empty."""

    name = "telegram"
    capabilities = Capabilities(max_text=4096, buttons=True)

    def __init__(self, ticker: FakeTicker | None = None) -> None:
        self.sent: list[Outbound] = []
        self.sent_at: list[float] = []  # the virtual monotonic time of each send
        self.script: dict[str, deque[SendResult]] = defaultdict(deque)
        self.waiter = SendWaiter()
        self.ticker = ticker

    async def send(self, message: Outbound) -> SendResult:
        self.sent.append(message)
        self.sent_at.append(self.ticker.monotonic() if self.ticker else 0.0)
        queue = self.script[message.chat_id]
        result = queue.popleft() if queue else SendResult(SendStatus.OK)
        self.waiter.done()
        return result

    def chats(self) -> list[str]:
        return [m.chat_id for m in self.sent]


class CountingChannel:
    """Wraps a real channel and counts its finished sends (for tests over HTTP)."""

    def __init__(self, inner: Channel) -> None:
        self.inner = inner
        self.name = inner.name
        self.capabilities = inner.capabilities
        self.waiter = SendWaiter()
        self.sent: list[Outbound] = []
        self.ticker: FakeTicker | None = None

    async def send(self, message: Outbound) -> SendResult:
        try:
            return await self.inner.send(message)
        finally:
            self.sent.append(message)
            self.waiter.done()


class CountingEditor(CountingChannel):
    """A counting channel over a channel that edits what it sent (`ChoiceEditor`): an edit
    counts as a finished send too (in `sent`, and for the waiter); `edited` keeps each as
    (message_ref, new text; "" when the buttons were taken off)."""

    def __init__(self, inner: Channel) -> None:
        super().__init__(inner)
        assert isinstance(inner, ChoiceEditor)
        self._editor: ChoiceEditor = inner
        self.edited: list[tuple[str, str]] = []

    async def clear_choices(self, chat_id: str, message_ref: str) -> SendResult:
        try:
            return await self._editor.clear_choices(chat_id, message_ref)
        finally:
            self._count(message_ref, Outbound(self.name, chat_id, ""))

    async def edit_text(self, message_ref: str, message: Outbound) -> SendResult:
        try:
            return await self._editor.edit_text(message_ref, message)
        finally:
            self._count(message_ref, message)

    def _count(self, message_ref: str, message: Outbound) -> None:
        self.edited.append((message_ref, message.text))
        self.sent.append(message)
        self.waiter.done()


class Runner:
    """A dispatcher on a FakeTicker, run in bounded stretches through its real loops."""

    def __init__(
        self,
        db: Database,
        channel: ScriptedChannel | CountingChannel,
        clock: FakeClock,
        *,
        limits: ChannelLimits = FAST,
        **kwargs: Any,
    ) -> None:
        self.channel = channel
        self.ticker = channel.ticker or FakeTicker()
        channel.ticker = self.ticker
        kwargs.setdefault("rng", random.Random(7))
        kwargs.setdefault("chats", CHAT_EVENTS)
        self.dispatcher = Dispatcher(
            db,
            {channel.name: channel},
            clock,
            limits={channel.name: limits},
            ticker=self.ticker,
            **kwargs,
        )

    async def run(self, *, sends: int = 0, passes: int = 2) -> int:
        """Start, wait for `sends` sends and then `passes` more claim passes, stop.

        Returns how many messages went out in this stretch. After the sends the claim loop looks
        at the outbox twice more, so a row that was due would have gone out too.
        """
        before = len(self.channel.sent)
        await self.dispatcher.start()
        try:
            await self.channel.waiter.until(before + sends)
            async with asyncio.timeout(HANG_GUARD_S):
                await self.ticker.until_waits(POLL_S, self.ticker.waits(POLL_S) + passes)
        finally:
            await self.dispatcher.stop()
        return len(self.channel.sent) - before
