"""What `GET /healthz` reports: each part up or down, and the last send and receive per channel.

A probe is a small async check (the database answers `SELECT 1`, the scheduler runs, the
dispatcher's tasks are alive, a receiver polls); one that raises or takes longer than
`timeout_s` counts as down. The last successful send and receive are facts for the operator's
monitoring, not checks: a quiet night is not an outage.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any, Protocol, TypeVar, cast

from sqlalchemy import text

from bot.channels.base import (
    Capabilities,
    Channel,
    ChoiceEditor,
    Outbound,
    SendResult,
    SendStatus,
    TemplateSender,
)
from bot.clock import Clock
from bot.storage.db import Database

Probe = Callable[[], Awaitable[bool]]
T = TypeVar("T")


def database_probe(db: Database) -> Probe:
    """Up when the database answers ``SELECT 1``."""

    async def probe() -> bool:
        async with db.session() as session:
            await session.execute(text("SELECT 1"))
        return True

    return probe


def flag_probe(is_up: Callable[[], bool]) -> Probe:
    """A probe over a synchronous flag (scheduler running, dispatcher alive, receiver polling)."""

    async def probe() -> bool:
        return is_up()

    return probe


class _Editor(Channel, ChoiceEditor, Protocol):
    """A channel that edits what it sent (the Telegram sender)."""


class Activity:
    """The last successful send and receive of each channel."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self.last_sent: dict[str, datetime] = {}
        self.last_received: dict[str, datetime] = {}

    def track_sends(self, channel: Channel) -> Channel:
        """`channel`, noting every successful send."""
        if isinstance(channel, ChoiceEditor):
            return _TrackedEditor(cast(_Editor, channel), self)
        return _TrackedChannel(channel, self)

    def track_receives(
        self, channel: str, handle: Callable[[T], Awaitable[object]]
    ) -> Callable[[T], Awaitable[object]]:
        """`handle`, noting each update it handled without raising."""

        async def handled(item: T) -> object:
            result = await handle(item)
            self.last_received[channel] = self._clock.now()
            return result

        return handled

    def note_sent(self, channel: str) -> None:
        """A message went out on `channel` just now."""
        self.last_sent[channel] = self._clock.now()

    def snapshot(self, channels: list[str]) -> dict[str, dict[str, str | None]]:
        """Per channel, the last send and receive as ISO texts (None: not since start)."""
        return {
            name: {
                "last_sent": _iso(self.last_sent.get(name)),
                "last_received": _iso(self.last_received.get(name)),
            }
            for name in channels
        }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


class _TrackedChannel:
    """A Channel that tells `Activity` about each successful send."""

    def __init__(self, inner: Channel, activity: Activity) -> None:
        self.inner = inner
        self.name: str = inner.name
        self.capabilities: Capabilities = inner.capabilities
        self._activity = activity

    async def send(self, message: Outbound) -> SendResult:
        """Send through the wrapped channel."""
        result = await self.inner.send(message)
        if result.status is SendStatus.OK:
            self._activity.note_sent(self.name)
        return result

    def templates_open(self) -> bool:
        """The wrapped channel's template lane state (True where it has none)."""
        inner = self.inner
        return not isinstance(inner, TemplateSender) or inner.templates_open()


class _TrackedEditor(_TrackedChannel):
    """A tracked channel that can edit what it sent (Telegram): the edits stay visible to the
    dispatcher (`ChoiceEditor`), which sends edit rows through them."""

    def __init__(self, inner: _Editor, activity: Activity) -> None:
        super().__init__(inner, activity)
        self._editor = inner

    async def clear_choices(self, chat_id: str, message_ref: str) -> SendResult:
        """Take a message's buttons off through the wrapped channel."""
        return await self._editor.clear_choices(chat_id, message_ref)

    async def edit_text(self, message_ref: str, message: Outbound) -> SendResult:
        """Replace a sent message's text and buttons through the wrapped channel."""
        return await self._editor.edit_text(message_ref, message)


class Health:
    """Runs the probes and builds the /healthz body."""

    def __init__(
        self,
        probes: Mapping[str, Probe],
        activity: Activity,
        channels: list[str],
        *,
        timeout_s: float = 2.0,
    ) -> None:
        self._probes = dict(probes)
        self._activity = activity
        self._channels = channels
        self._timeout_s = timeout_s

    async def _check(self, probe: Probe) -> bool:
        try:
            async with asyncio.timeout(self._timeout_s):
                return bool(await probe())
        except Exception:  # a probe that fails or hangs means that part is down
            return False

    async def report(self) -> dict[str, Any]:
        """``{"ok": all up, "checks": {name: bool}, "channels": {name: {last_sent, …}}}``."""
        names = list(self._probes)
        results = await asyncio.gather(*(self._check(self._probes[name]) for name in names))
        checks = dict(zip(names, results, strict=True))
        return {
            "ok": all(checks.values()),
            "checks": checks,
            "channels": self._activity.snapshot(self._channels),
        }
