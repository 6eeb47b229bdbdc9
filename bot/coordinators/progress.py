"""The broadcast's progress message, through the outbox like every send.

Where the channel can edit a message it sent, one message: the first is an ordinary outbox row
(the broadcast remembers that row's id), and each later figure an edit row pointing at it, at
most one every few seconds, rewritten instead of queued again while the last one still waits.
Elsewhere a new message at 25, 50, 75 and 100 %. Each offers the way to cancel what is not yet
sent. It also starts scheduled broadcasts whose time came and marks finished ones done.

`tick()` does one round; `run()` loops it until stopped (wired in `loa run`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable, Collection
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.base import Choice, Outbound
from bot.clock import Clock
from bot.coordinators import broadcasts
from bot.coordinators.buttons import StopButton
from bot.delivery.edits import Replaced, replace_message
from bot.delivery.outbox import OutboxItem, Priority, enqueue, enqueue_one
from bot.reporting import repository as officials_repo
from bot.storage.db import Database
from bot.storage.models import Broadcast
from messages import DEFAULT_LANG, t

log = logging.getLogger(__name__)

EDIT_EVERY_S = 3.0  # Telegram allows about one edit a second per chat; a few seconds is calm
TICK_S = 1.0
STEPS = (25, 50, 75, 100)


def cancel_choice(broadcast_id: int, lang: str) -> Choice:
    """The «stop sending» button of a progress message."""
    return Choice(
        t("coordinators.broadcast.stop_button", lang), StopButton(broadcast=broadcast_id).pack()
    )


def figures_text(
    broadcast_id: int, figures: broadcasts.Progress, lang: str, *, finished: bool
) -> str:
    """The progress (or finished) line, with the rows held for their readers when there are."""
    fields: dict[str, object] = {
        "id": broadcast_id,
        "sent": figures.sent,
        "total": figures.total,
        "failed": figures.failed,
        "blocked": figures.blocked,
    }
    if finished:
        text = t("coordinators.broadcast.finished", lang, **fields)
    else:
        text = t("coordinators.broadcast.progress", lang, percent=figures.percent, **fields)
    if figures.held:
        text += t("coordinators.broadcast.held_note", lang, held=figures.held)
    return text


class BroadcastProgress:
    """Reports the progress of running broadcasts to the coordinator who sent each."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        editable: Collection[str] = frozenset(),
        notify: Callable[[], None] = lambda: None,
        edit_every_s: float = EDIT_EVERY_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """`editable` names the channels whose sent messages can be edited."""
        self._db = db
        self._clock = clock
        self._editable = frozenset(editable)
        self._notify = notify
        self._edit_every_s = edit_every_s
        self._mono = monotonic
        self._last_edit: dict[int, float] = {}
        self.edits = 0  # edit rows queued (for the benchmark) …
        self.rewrites = 0  # … and waiting rows given a newer text instead

    async def tick(self) -> None:
        """One round over the running broadcasts."""
        now = self._clock.now()
        queued = False
        async with self._db.session() as session:
            for row in await broadcasts.running(session):
                if row.status == "scheduled":
                    if row.send_at is None or row.send_at > now:
                        continue
                    row.status = "sending"
                queued |= await self._report(session, row, now)
        if queued:
            self._notify()

    async def _report(self, session: AsyncSession, row: Broadcast, now: datetime) -> bool:
        assert row.id is not None
        if row.run_id is None:
            return False
        figures = await broadcasts.progress(session, row.run_id)
        finished = figures.open == 0
        if finished:
            row.status = "done"
            row.finished_at = now
        if not row.chat_id:  # sent from the office PC: nobody to tell in a chat
            return False
        official = await officials_repo.get_official(
            session, channel=row.channel, chat_id=row.chat_id
        )
        lang = official.lang if official is not None else DEFAULT_LANG
        text = figures_text(row.id, figures, lang, finished=finished)
        if row.channel in self._editable:
            return await self._edit(session, row, text, lang, finished, now)
        step = max((s for s in STEPS if figures.percent >= s), default=0)
        if step <= row.progress_shown:
            return False
        row.progress_shown = step
        if not finished:
            text += "\n" + t("coordinators.broadcast.stop_word", lang, id=row.id)
        item = OutboxItem(
            Outbound(channel=row.channel, chat_id=row.chat_id, text=text),
            Priority.REPLY,
            dedup_key=f"bcp:{row.id}:{step}",
        )
        return await enqueue(session, [item], now=now) > 0

    async def _edit(
        self,
        session: AsyncSession,
        row: Broadcast,
        text: str,
        lang: str,
        finished: bool,
        now: datetime,
    ) -> bool:
        """Queue the first message, or the change of it: at most one every `edit_every_s`,
        except the finished text, which always goes (and takes the stop button off)."""
        assert row.id is not None
        choices = () if finished else (cancel_choice(row.id, lang),)
        message = Outbound(channel=row.channel, chat_id=row.chat_id, text=text, choices=choices)
        mono = self._mono()
        if row.progress_outbox_id is None:
            first = OutboxItem(message, Priority.REPLY, dedup_key=f"bcp:{row.id}:msg")
            row.progress_outbox_id = await enqueue_one(session, first, now=now)
            self._last_edit[row.id] = mono
            return True
        if not finished and mono - self._last_edit.get(row.id, -math.inf) < self._edit_every_s:
            return False
        # the finished text is the last this broadcast gets: it is queued behind a first
        # message still being sent rather than waiting for a round that will not come
        done = await replace_message(
            session, row.progress_outbox_id, message, now=now, behind_send=finished
        )
        if finished:
            self._last_edit.pop(row.id, None)
        elif done in (Replaced.QUEUED, Replaced.REWRITTEN):
            self._last_edit[row.id] = mono
        self.edits += done is Replaced.QUEUED
        self.rewrites += done is Replaced.REWRITTEN
        if done is Replaced.GONE:
            log.info("broadcast #%s: its progress message was never delivered", row.id)
        return done is Replaced.QUEUED

    async def run(self, stop: asyncio.Event) -> None:
        """Tick every second until `stop` is set; a failing round is logged and retried."""
        while not stop.is_set():
            try:
                await self.tick()
            except Exception as exc:  # a database hiccup must not end the reports
                log.warning("broadcast progress round failed: %s", type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(TICK_S):
                    await stop.wait()
