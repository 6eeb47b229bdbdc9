"""The one dispatcher: drains the outbox under each channel's limits, replies first.

Shape (one asyncio task each):
- the claim loop marks due rows `sending` in short transactions and hands them to per-channel
  lanes; replies (priority 0) are claimed on every pass and on `notify()`, bulk rows only to keep a
  lane's local buffer about half a second deep, so a reply never waits behind a long bulk queue;
- one pacer per lane picks the most urgent row whose chat may receive a message now, waits for the
  channel's smooth pace and starts the send;
- the recorder writes outcomes in batched transactions.
A send holds one of `concurrency` slots from start until its outcome is committed, so a crash can
repeat at most `concurrency` messages (the ones in flight); every other claimed row goes back to
pending on the next start.

The loops live here; the SQL in `repository.py`, the lane buffers in `lanes.py`, the outcome
writing in `outcomes.py` (which hands blocked and migrated chats to the injected `ChatEvents`).
Every wait goes through the injected `Ticker`, so tests run these loops in virtual time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from bot.channels.base import Channel, ChoiceEditor, SendResult, SendStatus, TemplateSender
from bot.clock import Clock, SystemTicker, Ticker
from bot.delivery import repository, templates
from bot.delivery.keys import BROADCAST_TOPIC
from bot.delivery.lanes import Lane, outbound
from bot.delivery.limiter import ChannelLimiter, ChannelLimits
from bot.delivery.outbox import Priority
from bot.delivery.outcomes import ChatEvents, Outcome, OutcomeWriter, RetryPolicy
from bot.delivery.quota import QuotaBook
from bot.delivery.repository import Job
from bot.delivery.templates import TemplateNotices
from bot.delivery.window import HOLD_FOR, expire_held, skip_outside_window
from bot.storage.db import Database

__all__ = ["ChatEvents", "Dispatcher", "RetryPolicy"]

log = logging.getLogger(__name__)

REPLY_CLAIM = 100
POLL_S = 0.25
FLUSH_GATHER_S = 0.01
PROGRESS_EVERY_S = 10.0
FINISH_EVERY_S = 2.0
DB_RETRY_MAX_S = 5.0
EXPIRE_EVERY = timedelta(minutes=1)  # held rows expire after days: no need to look each pass


class Dispatcher:
    """Sends outbox rows through the channels; one per deployment."""

    def __init__(
        self,
        db: Database,
        channels: Mapping[str, Channel],
        clock: Clock,
        *,
        limits: Mapping[str, ChannelLimits],
        chats: ChatEvents,
        is_quiet: Callable[[datetime], bool] = lambda _: False,
        concurrency: int = 128,
        retry: RetryPolicy | None = None,
        rng: random.Random | None = None,
        ticker: Ticker | None = None,
        quota: QuotaBook | None = None,
        hold_for: timedelta = HOLD_FOR,
        templates: Mapping[str, TemplateNotices] | None = None,
    ) -> None:
        self._db = db
        self._templates = dict(templates or {})  # channels with a template lane
        self._hold_for = hold_for  # how long a broadcast waits for a reader outside a window
        self._expired_at: dict[str, datetime] = {}  # per lane: when held rows were last expired
        self._quota = quota or QuotaBook({})
        self._clock = clock
        self._is_quiet = is_quiet
        self._concurrency = concurrency
        self._writer = OutcomeWriter(retry or RetryPolicy(), rng or random.Random(), chats)
        self._ticker = ticker or SystemTicker()
        self._lanes = {
            name: Lane(name, channel, ChannelLimiter(limits.get(name, ChannelLimits())))
            for name, channel in channels.items()
        }
        self._slots = asyncio.Semaphore(concurrency)
        self._outcomes: list[Outcome] = []
        self._outcome_ready = asyncio.Event()
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._flushing: asyncio.Future[None] | None = None  # the recorder's write under way
        self._sends: set[asyncio.Task[None]] = set()
        self._running = False
        self._last_finish = -math.inf

    # -- public ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Recover rows a crashed process left in flight, then run until `stop()`."""
        await self._retry_db("recover", self.recover)
        await self._retry_db("quota", self._load_quota)
        await self._retry_db("template notices", self._queue_for_held)
        self._running = True
        self._tasks = [asyncio.create_task(self._claim_loop(), name="outbox-claim")]
        self._tasks.append(asyncio.create_task(self._record_loop(), name="outbox-record"))
        self._tasks.append(asyncio.create_task(self._progress_loop(), name="outbox-progress"))
        for name, lane in self._lanes.items():
            self._tasks.append(asyncio.create_task(self._pace_loop(lane), name=f"outbox-{name}"))

    async def stop(self, *, grace_s: float = 15.0) -> None:
        """Stop claiming, let in-flight sends finish, record them, release unsent rows."""
        if not self._running:
            return
        self._running = False
        recorder = self._tasks[1]
        for task in self._tasks:
            if task is not recorder:
                task.cancel()
        for task in self._tasks:
            if task is not recorder:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self._sends:
            _, late = await asyncio.wait(self._sends, timeout=grace_s)
            for task in late:  # outcome unknown: left `sending`, recovered on the next start
                task.cancel()
        recorder.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await recorder
        if self._flushing is not None:
            # a write cut off after its commit (closing the session) would be written again
            await self._flushing
            self._flushing = None
        await self._retry_db("record", self._flush)
        unsent = [job for lane in self._lanes.values() for job in lane.take_all()]
        await self._retry_db("release", lambda: self._release(unsent))
        await self._retry_db("finish runs", self._finish_runs)
        self._tasks = []

    @property
    def alive(self) -> bool:
        """True while started and none of its loops has died."""
        return self._running and all(not task.done() for task in self._tasks)

    def notify(self) -> None:
        """Wake the dispatcher now (a reply was just enqueued)."""
        self._wake.set()

    async def recover(self) -> int:
        """Put rows left `sending` by a previous process back to pending; returns how many."""
        async with self._db.session() as session:
            count = await repository.recover(session)
        if count:
            log.info("outbox: %d rows in flight at the last stop are pending again", count)
        return count

    async def _queue_for_held(self) -> None:
        """Template notices to residents whose broadcasts were held before this start."""
        for name, lane in self._templates.items():
            async with self._db.session() as session:
                now = self._clock.now()
                await templates.queue_for_held(session, channel=name, lane=lane, now=now)

    async def _load_quota(self) -> None:
        async with self._db.session() as session:
            await self._quota.load(session, self._clock.now())

    # -- claiming ------------------------------------------------------------------------------

    async def _claim_loop(self) -> None:
        while self._running:
            try:
                for lane in self._lanes.values():
                    await self._claim_into(lane)
            except Exception as exc:  # database locked or unreachable: wait and try again
                log.warning("outbox claim failed (%s); retrying", type(exc).__name__)
                await self._ticker.sleep(1.0)
            self._wake.clear()
            await self._ticker.wait(self._wake, POLL_S)

    async def _claim_into(self, lane: Lane) -> None:
        """Claim replies always, and bulk rows when the lane's buffer runs low."""
        now = self._clock.now()
        skip_locked = not self._db.is_sqlite
        async with self._db.session() as session:
            jobs = await repository.claim(
                session,
                channel=lane.name,
                now=now,
                max_priority=int(Priority.REPLY),
                limit=REPLY_CLAIM,
                skip_locked=skip_locked,
            )
            deficit = lane.buffer_target - len(lane)
            low_water = len(lane) <= lane.buffer_target // 2
            # In quiet hours only replies go out: reminders and bulk rows wait (no second claim);
            # past a monthly quota's bulk limit, bulk rows wait and direct ones still go
            if deficit > 0 and low_water and not self._is_quiet(now):
                open_ = self._quota.bulk_open(lane.name, now)
                jobs += await repository.claim(
                    session,
                    channel=lane.name,
                    now=now,
                    max_priority=int(Priority.BULK) if open_ else int(Priority.DIRECT),
                    limit=deficit,
                    skip_locked=skip_locked,
                )
            window = lane.channel.capabilities.window
            last = self._expired_at.get(lane.name)
            if window is not None and (last is None or now - last >= EXPIRE_EVERY):
                await expire_held(session, channel=lane.name, now=now)
                self._expired_at[lane.name] = now
            if window is not None and jobs:
                kept = await skip_outside_window(
                    session, jobs, channel=lane.name, window=window, now=now,
                    hold_for=self._hold_for,
                )  # fmt: skip
                jobs = await self._template_step(session, lane, jobs, kept, now)
            if self._quota.closing:  # written and told now, not at the next send
                await self._quota.write(session, now)
        for job in jobs:
            lane.push(job)

    async def _template_step(
        self, session: Any, lane: Lane, claimed: list[Job], kept: list[Job], now: datetime
    ) -> list[Job]:
        """A channel with a template lane: a notice to each resident whose broadcast was just
        held, and the claimed notices that may not go now sent back to wait."""
        notices = self._templates.get(lane.name)
        if notices is None:
            return kept
        sending = {job.id for job in kept}
        held = [j.chat_id for j in claimed if j.topic == BROADCAST_TOPIC and j.id not in sending]
        if held:
            await templates.queue_notices(
                session, channel=lane.name, chat_ids=held, lane=notices, now=now
            )
        channel = lane.channel
        open_ = not isinstance(channel, TemplateSender) or channel.templates_open()
        return await templates.gate(
            session, kept, channel=lane.name, lane=notices, now=now, open_=open_
        )

    async def _release(self, jobs: Sequence[Job]) -> None:
        """Give claimed rows that were never sent back to pending."""
        if not jobs:
            return
        async with self._db.session() as session:
            await repository.release(session, [job.id for job in jobs])

    # -- sending -------------------------------------------------------------------------------

    async def _pace_loop(self, lane: Lane) -> None:
        while True:
            if not lane.ready and not lane.waiting:
                lane.changed.clear()
                await self._ticker.wait(lane.changed, None)
                continue
            now = self._ticker.monotonic()
            delay = lane.limiter.overall_delay(now)
            if delay > 0:
                await self._ticker.sleep(delay)
                continue
            await self._slots.acquire()
            now = self._ticker.monotonic()
            job = lane.pop_ready(now)
            if job is None:
                self._slots.release()
                wake = lane.next_wake(now)
                lane.changed.clear()
                await self._ticker.wait(lane.changed, wake)
                continue
            lane.limiter.take(job.chat_id, now, lane.cost(job), per_chat=job.paced_per_chat)
            self._spawn_send(lane, job)
            if len(lane) <= lane.buffer_target // 2:
                self._wake.set()

    def _spawn_send(self, lane: Lane, job: Job) -> asyncio.Task[None]:
        task = asyncio.create_task(self._send(lane, job))
        self._sends.add(task)
        task.add_done_callback(self._sends.discard)
        return task

    async def _send(self, lane: Lane, job: Job) -> None:
        limited = self._quota.limited(lane.name)
        quota_closed = (
            limited
            and job.priority >= int(Priority.BULK)
            and not self._quota.bulk_open(lane.name, self._clock.now())
        )
        cost = lane.cost(job) if limited and not quota_closed else 0
        if cost:
            self._quota.start(lane.name, cost)
        try:
            if quota_closed:  # claimed before the month's bulk allowance ran out: it waits
                result = SendResult(SendStatus.QUOTA, error="monthly quota: bulk waits", calls=0)
            else:
                result = await self._deliver(lane.channel, job)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a channel bug must not kill the dispatcher
            log.warning("channel %s send raised %s", lane.channel.name, type(exc).__name__)
            error = f"exception {type(exc).__name__}"[:200]
            result = SendResult(SendStatus.RETRY, error=error, calls=0)
        if limited:
            self._quota.finish(lane.name, cost, result.calls, self._clock.now())
            if result.status is SendStatus.QUOTA and not quota_closed:
                self._quota.exhausted(lane.name, self._clock.now())
        if result.status is SendStatus.RETRY and result.retry_after is not None:
            lane.limiter.throttle(result.retry_after, self._ticker.monotonic())
            log.info(
                "channel %s throttled: pause %.1fs, pace now %.1f/s",
                lane.channel.name,
                result.retry_after,
                lane.limiter.rate,
            )
        elif result.status is SendStatus.OK:
            lane.sent_total += 1
        self._outcomes.append(Outcome(job, result))
        self._outcome_ready.set()

    @staticmethod
    async def _deliver(channel: Channel, job: Job) -> SendResult:
        """Send the row's message; for an edit row, change the message it names: its text and
        buttons become the row's, or with no text its buttons go. A channel that cannot edit,
        or a message never sent, leaves nothing to do."""
        if job.edit_of is None:
            return await channel.send(outbound(job))
        if job.edit_ref is None or not channel.capabilities.edits:
            return SendResult(SendStatus.OK, calls=0)
        if not isinstance(channel, ChoiceEditor):
            return SendResult(SendStatus.OK, calls=0)
        editor: ChoiceEditor = channel
        if not job.text:
            return await editor.clear_choices(job.chat_id, job.edit_ref)
        return await editor.edit_text(job.edit_ref, outbound(job))

    # -- recording -----------------------------------------------------------------------------

    async def _record_loop(self) -> None:
        recorded_since_finish = False
        while True:
            await self._ticker.wait(self._outcome_ready, FINISH_EVERY_S)
            if self._outcome_ready.is_set():
                self._outcome_ready.clear()
                if not any(o.job.priority == int(Priority.REPLY) for o in self._outcomes):
                    # Bulk only: gather a batch, one commit for many sends. A reply is marked
                    # at once: until it is, a kill -9 makes the next start send it again.
                    await self._ticker.sleep(FLUSH_GATHER_S)
                # shielded: stop() waits for a write under way instead of cutting it off
                self._flushing = asyncio.ensure_future(self._retry_db("record", self._flush))
                await asyncio.shield(self._flushing)
                self._flushing = None
                recorded_since_finish = True
            now = self._ticker.monotonic()
            if recorded_since_finish and now - self._last_finish >= FINISH_EVERY_S:
                self._last_finish = now
                recorded_since_finish = False
                await self._retry_db("finish runs", self._finish_runs)

    async def _flush(self) -> None:
        """Write every gathered outcome in one transaction, then free their slots."""
        batch = self._outcomes
        if not batch:
            return
        self._outcomes = []
        try:
            async with self._db.session() as session:
                now = self._clock.now()
                await self._writer.write(session, batch, now=now)
                await self._quota.write(session, now)
        except BaseException:
            self._outcomes = batch + self._outcomes  # keep them for the next try
            raise
        for _ in batch:
            self._slots.release()

    async def _finish_runs(self) -> None:
        async with self._db.session() as session:
            await repository.finish_settled_runs(session, now=self._clock.now())

    # -- upkeep --------------------------------------------------------------------------------

    async def _retry_db(self, what: str, action: Callable[[], Any]) -> None:
        """Run a database step until it succeeds: a locked or absent database only delays."""
        pause = 0.2
        while True:
            try:
                await action()
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning(
                    "outbox %s failed (%s); retrying in %.1fs", what, type(exc).__name__, pause
                )
                await self._ticker.sleep(pause)
                pause = min(DB_RETRY_MAX_S, pause * 2)

    async def _progress_loop(self) -> None:
        last = {name: 0 for name in self._lanes}
        last_t = self._ticker.monotonic()
        while True:
            await self._ticker.sleep(PROGRESS_EVERY_S)
            now = self._ticker.monotonic()
            for name, lane in self._lanes.items():
                lane.limiter.forget_idle(now)
                sent = lane.sent_total - last[name]
                last[name] = lane.sent_total
                if sent:
                    log.info(
                        "outbox %s: %d sent in %.0fs (%.1f/s), %d buffered, pace %.1f/s",
                        name,
                        sent,
                        now - last_t,
                        sent / (now - last_t),
                        len(lane),
                        lane.limiter.rate,
                    )
            last_t = now
            with contextlib.suppress(Exception):  # progress is best effort
                await self._log_runs()

    async def _log_runs(self) -> None:
        async with self._db.session() as session:
            runs = await repository.running_runs(session)
        for run_id, kind, queued, sent, blocked in runs:
            log.info("run #%s %s: %d/%d sent, %d blocked", run_id, kind, sent, queued, blocked)
