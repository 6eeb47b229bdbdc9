"""What a fake Bot API server recorded: the accepted outbound calls and a way to wait for them."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class SentCall:
    """One accepted outbound call (sendMessage, sendDocument, answerCallbackQuery …)."""

    method: str
    token: str
    chat_id: str
    text: str | None
    params: dict[str, Any]
    time: float  # wall-clock seconds since the epoch, from the server's clock
    message_id: int | str | None = None


@dataclass
class FakeStats:
    """Counters for benchmarks: sends tried and accepted, errors served, per-chat deliveries."""

    requests: int = 0
    send_calls: int = 0
    sends_accepted: int = 0
    errors_by_status: Counter[int] = field(default_factory=Counter)
    per_chat_accepted: Counter[str] = field(default_factory=Counter)

    @property
    def rate_limited(self) -> int:
        """429 answers served (rate limits and injected 429s)."""
        return self.errors_by_status[429]

    @property
    def forbidden(self) -> int:
        """403 answers served."""
        return self.errors_by_status[403]

    def duplicates(self) -> dict[str, int]:
        """Chats that accepted more than one send, with their counts."""
        return {chat: n for chat, n in self.per_chat_accepted.items() if n > 1}

    def as_dict(self, *, per_chat: bool = True) -> dict[str, Any]:
        """A JSON-ready snapshot."""
        result: dict[str, Any] = {
            "requests": self.requests,
            "send_calls": self.send_calls,
            "sends_accepted": self.sends_accepted,
            "rate_limited": self.rate_limited,
            "forbidden": self.forbidden,
            "errors_by_status": {str(k): v for k, v in sorted(self.errors_by_status.items())},
            "chats_reached": len(self.per_chat_accepted),
        }
        if per_chat:
            result["per_chat_accepted"] = dict(self.per_chat_accepted)
        return result


CallPredicate = Callable[[SentCall], bool]


class CallLog:
    """An append-only list of calls that async tests can wait on."""

    def __init__(self) -> None:
        self.calls: list[SentCall] = []
        self._waiters: list[asyncio.Future[None]] = []

    def add(self, call: SentCall) -> None:
        """Record a call and wake every waiter so it can re-check its condition."""
        self.calls.append(call)
        if self._waiters:
            waiters, self._waiters = self._waiters, []
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)

    def clear(self) -> None:
        """Forget every recorded call."""
        self.calls.clear()

    def select(self, chat_id: str | int | None = None, method: str | None = None) -> list[SentCall]:
        """Calls to one chat and/or of one method, oldest first."""
        wanted_chat = None if chat_id is None else str(chat_id)
        return [
            call
            for call in self.calls
            if (wanted_chat is None or call.chat_id == wanted_chat)
            and (method is None or call.method == method)
        ]

    async def wait_for(
        self,
        what: CallPredicate | int,
        *,
        chat_id: str | int | None = None,
        method: str | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109 - the test-side API the brief fixed
    ) -> list[SentCall]:
        """Wait until `what` calls (a count) or a call matching `what` (a predicate) arrived.

        Returns the matching calls (filtered by chat and method). Raises TimeoutError with a
        short account of what did arrive, so a failing test explains itself.
        """
        loop = asyncio.get_running_loop()

        def matches() -> list[SentCall] | None:
            selected = self.select(chat_id, method)
            if isinstance(what, int):
                return selected if len(selected) >= what else None
            found = [call for call in selected if what(call)]
            return found or None

        try:
            async with asyncio.timeout(timeout):
                while (found := matches()) is None:
                    waiter: asyncio.Future[None] = loop.create_future()
                    self._waiters.append(waiter)
                    await waiter
                return found
        except TimeoutError:
            seen = self.select(chat_id, method)
            summary = [(call.method, call.chat_id, (call.text or "")[:60]) for call in seen[-5:]]
            raise TimeoutError(
                f"waited {timeout}s for {what!r} (chat={chat_id}, method={method}); "
                f"{len(seen)} matching call(s), last: {summary}"
            ) from None
