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
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import heapq
import logging
import math
import random
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.base import Channel, Outbound, SendResult, SendStatus
from bot.clock import Clock
from bot.delivery.limiter import ChannelLimiter, ChannelLimits
from bot.delivery.outbox import Priority, decode_choices, finish_runs
from bot.storage.db import Database
from bot.storage.models.delivery import (
    BLOCKED,
    CANCELLED,
    FAILED,
    PENDING,
    SENDING,
    SENT,
    BulkRun,
    OutboxMessage,
)
from bot.storage.models.residents import Subscriber

log = logging.getLogger(__name__)

OUTBOX = OutboxMessage.__table__  # type: ignore[attr-defined]
RUNS = BulkRun.__table__  # type: ignore[attr-defined]
SUBSCRIBERS = Subscriber.__table__  # type: ignore[attr-defined]

REPLY_CLAIM = 100
MAX_BUFFER = 500
MIN_BUFFER = 16
BUFFER_SECONDS = 0.5
POLL_S = 0.25
FLUSH_GATHER_S = 0.01
PROGRESS_EVERY_S = 10.0
FINISH_EVERY_S = 2.0
DB_RETRY_MAX_S = 5.0
IN_CHUNK = 400


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How transient failures are retried: exponential backoff with jitter, then give up."""

    max_attempts: int = 8
    base_s: float = 2.0
    cap_s: float = 600.0

    def backoff(self, attempts: int, rng: random.Random) -> float:
        """Seconds before attempt number `attempts + 1` (full jitter on the upper half)."""
        ceiling = min(self.cap_s, self.base_s * 2.0 ** max(0, attempts - 1))
        return ceiling / 2 + rng.random() * ceiling / 2


@dataclass(slots=True)
class _Job:
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


@dataclass(slots=True)
class _Outcome:
    job: _Job
    result: SendResult


class _Lane:
    """One channel: its limiter and the local buffer of claimed rows."""

    def __init__(self, name: str, channel: Channel, limiter: ChannelLimiter) -> None:
        self.name = name
        self.channel = channel
        self.limiter = limiter
        self.ready: list[tuple[int, int, _Job]] = []  # (priority, id, job)
        self.waiting: list[tuple[float, int, int, _Job]] = []  # (chat ready at, priority, id, job)
        self.changed = asyncio.Event()
        self.sent_total = 0

    def __len__(self) -> int:
        return len(self.ready) + len(self.waiting)

    @property
    def buffer_target(self) -> int:
        """How many bulk rows to hold locally: about half a second of sending."""
        rate = self.limiter.rate
        if math.isinf(rate):
            return MAX_BUFFER
        return int(min(MAX_BUFFER, max(MIN_BUFFER, rate * BUFFER_SECONDS)))

    def push(self, job: _Job) -> None:
        heapq.heappush(self.ready, (job.priority, job.id, job))
        self.changed.set()

    def pop_ready(self, now: float) -> _Job | None:
        """The most urgent job whose chat may receive a message now, or None."""
        while self.waiting and self.waiting[0][0] <= now:
            _, priority, job_id, job = heapq.heappop(self.waiting)
            heapq.heappush(self.ready, (priority, job_id, job))
        while self.ready:
            _, _, job = self.ready[0]
            wait = self.limiter.chat_delay(job.chat_id, now)
            heapq.heappop(self.ready)
            if wait <= 0:
                return job
            heapq.heappush(self.waiting, (now + wait, job.priority, job.id, job))
        return None

    def next_wake(self, now: float) -> float | None:
        """Seconds until a waiting job's chat is free, if any."""
        if not self.waiting:
            return None
        return max(0.0, self.waiting[0][0] - now)

    def take_all(self) -> list[_Job]:
        jobs = [job for _, _, job in self.ready] + [job for _, _, _, job in self.waiting]
        self.ready.clear()
        self.waiting.clear()
        return jobs


def _outbound(job: _Job) -> Outbound:
    return Outbound(
        channel=job.channel,
        chat_id=job.chat_id,
        text=job.text,
        choices=decode_choices(job.choices),
        columns=job.columns,
        numbered=job.numbered,
    )


def _chunks(ids: Sequence[int]) -> list[Sequence[int]]:
    return [ids[i : i + IN_CHUNK] for i in range(0, len(ids), IN_CHUNK)]


class Dispatcher:
    """Sends outbox rows through the channels; one per deployment."""

    def __init__(
        self,
        db: Database,
        channels: Mapping[str, Channel],
        clock: Clock,
        *,
        limits: Mapping[str, ChannelLimits],
        is_quiet: Callable[[datetime], bool] = lambda _: False,
        concurrency: int = 128,
        retry: RetryPolicy | None = None,
        rng: random.Random | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._db = db
        self._clock = clock
        self._is_quiet = is_quiet
        self._concurrency = concurrency
        self._retry = retry or RetryPolicy()
        self._rng = rng or random.Random()
        self._mono = monotonic
        self._lanes = {
            name: _Lane(name, channel, ChannelLimiter(limits.get(name, ChannelLimits())))
            for name, channel in channels.items()
        }
        self._slots = asyncio.Semaphore(concurrency)
        self._outcomes: list[_Outcome] = []
        self._outcome_ready = asyncio.Event()
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._sends: set[asyncio.Task[None]] = set()
        self._running = False
        self._recovered = False
        self._last_finish = -math.inf

    # -- public ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Recover rows a crashed process left in flight, then run until `stop()`."""
        await self._retry_db("recover", self.recover)
        # Everything alive now (modules, table metadata, caches) lives as long as the process;
        # moving it out of the collector's reach turns 50-60 ms full collections, which stall the
        # send pace at high rates, into a few milliseconds.
        gc.freeze()
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
        await self._retry_db("record", self._flush)
        unsent = [job for lane in self._lanes.values() for job in lane.take_all()]
        await self._retry_db("release", lambda: self._release(unsent))
        await self._retry_db("finish runs", self._finish_runs)
        self._tasks = []

    def notify(self) -> None:
        """Wake the dispatcher now (a reply was just enqueued)."""
        self._wake.set()

    async def recover(self) -> int:
        """Put rows left `sending` by a previous process back to pending; returns how many."""
        async with self._db.session() as session:
            result = await session.execute(
                update(OUTBOX)
                .where(OUTBOX.c.status == SENDING)
                .values(status=PENDING, claimed_at=None)
                .returning(OUTBOX.c.id)
            )
            count = len(result.all())
        if count:
            log.info("outbox: %d rows in flight at the last stop are pending again", count)
        self._recovered = True
        return count

    async def drain_once(self) -> int:
        """One pass (tests): claim what is due, send it, record it; returns rows attempted."""
        if not self._recovered:
            await self.recover()
        for lane in self._lanes.values():
            await self._claim_into(lane, lane_limit=MAX_BUFFER * 4)
        started: list[asyncio.Task[None]] = []
        for lane in self._lanes.values():
            while lane.ready or lane.waiting:
                now = self._mono()
                delay = lane.limiter.overall_delay(now)
                if delay > 0:
                    await asyncio.sleep(delay)
                    continue
                job = lane.pop_ready(now)
                if job is None:
                    break  # the rest wait for their chat's spacing: next pass
                if self._slots.locked():  # every slot waits for its outcome to be recorded
                    await asyncio.gather(*self._sends)
                    await self._flush()
                await self._slots.acquire()
                lane.limiter.take(job.chat_id, now, self._cost(lane, job))
                started.append(self._spawn_send(lane, job))
        if started:
            await asyncio.gather(*started)
        await self._flush()
        unsent = [job for lane in self._lanes.values() for job in lane.take_all()]
        await self._release(unsent)
        await self._finish_runs()
        return len(started)

    # -- claiming ------------------------------------------------------------------------------

    async def _claim_loop(self) -> None:
        while self._running:
            try:
                for lane in self._lanes.values():
                    await self._claim_into(lane, lane_limit=None)
            except Exception as exc:  # database locked or unreachable: wait and try again
                log.warning("outbox claim failed (%s); retrying", type(exc).__name__)
                await asyncio.sleep(1.0)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(POLL_S):
                    await self._wake.wait()

    async def _claim_into(self, lane: _Lane, *, lane_limit: int | None) -> None:
        """Claim replies always, and bulk rows when the lane's buffer runs low."""
        now = self._clock.now()
        async with self._db.session() as session:
            replies = await self._claim(session, lane, now, max_priority=0, limit=REPLY_CLAIM)
            jobs = list(replies)
            deficit = (lane_limit or lane.buffer_target) - len(lane)
            low_water = lane_limit is not None or len(lane) <= lane.buffer_target // 2
            # In quiet hours only replies go out: reminders and bulk rows wait (no second claim).
            if deficit > 0 and low_water and not self._is_quiet(now):
                top = int(Priority.BULK)
                jobs.extend(await self._claim(session, lane, now, max_priority=top, limit=deficit))
        for job in jobs:
            lane.push(job)

    async def _claim(
        self, session: AsyncSession, lane: _Lane, now: datetime, *, max_priority: int, limit: int
    ) -> list[_Job]:
        due = (
            select(OUTBOX.c.id)
            .where(
                OUTBOX.c.status == PENDING,
                OUTBOX.c.priority <= max_priority,
                OUTBOX.c.next_attempt_at <= now,
                OUTBOX.c.channel == lane.name,
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
        if not self._db.is_sqlite:
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
            )
        )
        return [_Job(*row) for row in result.all()]

    async def _release(self, jobs: Sequence[_Job]) -> None:
        """Give claimed rows that were never sent back to pending."""
        if not jobs:
            return
        ids = [job.id for job in jobs]
        async with self._db.session() as session:
            for chunk in _chunks(ids):
                await session.execute(
                    update(OUTBOX)
                    .where(OUTBOX.c.id.in_(chunk), OUTBOX.c.status == SENDING)
                    .values(status=PENDING, claimed_at=None)
                )

    # -- sending -------------------------------------------------------------------------------

    async def _pace_loop(self, lane: _Lane) -> None:
        while True:
            if not lane.ready and not lane.waiting:
                lane.changed.clear()
                await lane.changed.wait()
                continue
            now = self._mono()
            delay = lane.limiter.overall_delay(now)
            if delay > 0:
                await asyncio.sleep(delay)
                continue
            await self._slots.acquire()
            now = self._mono()
            job = lane.pop_ready(now)
            if job is None:
                self._slots.release()
                wake = lane.next_wake(now)
                lane.changed.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(wake):
                        await lane.changed.wait()
                continue
            lane.limiter.take(job.chat_id, now, self._cost(lane, job))
            self._spawn_send(lane, job)
            if len(lane) <= lane.buffer_target // 2:
                self._wake.set()

    def _cost(self, lane: _Lane, job: _Job) -> int:
        """API calls a message takes (long texts are split by the channel)."""
        return max(1, math.ceil(len(job.text) / lane.channel.capabilities.max_text))

    def _spawn_send(self, lane: _Lane, job: _Job) -> asyncio.Task[None]:
        task = asyncio.create_task(self._send(lane, job))
        self._sends.add(task)
        task.add_done_callback(self._sends.discard)
        return task

    async def _send(self, lane: _Lane, job: _Job) -> None:
        try:
            result = await lane.channel.send(_outbound(job))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a channel bug must not kill the dispatcher
            log.warning("channel %s send raised %s", lane.channel.name, type(exc).__name__)
            result = SendResult(SendStatus.RETRY, error=f"exception {type(exc).__name__}"[:200])
        if result.status is SendStatus.RETRY and result.retry_after is not None:
            lane.limiter.throttle(result.retry_after, self._mono())
            log.info(
                "channel %s throttled: pause %.1fs, pace now %.1f/s",
                lane.channel.name,
                result.retry_after,
                lane.limiter.rate,
            )
        elif result.status is SendStatus.OK:
            lane.sent_total += 1
        self._outcomes.append(_Outcome(job, result))
        self._outcome_ready.set()

    # -- recording -----------------------------------------------------------------------------

    async def _record_loop(self) -> None:
        recorded_since_finish = False
        while True:
            # asyncio.timeout, not wait_for: Python 3.11's wait_for can swallow a cancellation
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(FINISH_EVERY_S):
                    await self._outcome_ready.wait()
            if self._outcome_ready.is_set():
                self._outcome_ready.clear()
                await asyncio.sleep(FLUSH_GATHER_S)  # gather a batch: one commit for many sends
                await self._retry_db("record", self._flush)
                recorded_since_finish = True
            now = self._mono()
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
                await self._write(session, batch)
        except BaseException:
            self._outcomes = batch + self._outcomes  # keep them for the next try
            raise
        for _ in batch:
            self._slots.release()

    async def _write(self, session: AsyncSession, batch: Sequence[_Outcome]) -> None:  # noqa: C901
        now = self._clock.now()
        run_counts: Counter[tuple[int, str]] = Counter()
        sent_ids: list[int] = []
        retries: list[dict[str, Any]] = []
        finals: list[dict[str, Any]] = []
        blocked_chats: set[tuple[str, str]] = set()
        for outcome in batch:
            job, result = outcome.job, outcome.result
            status = result.status
            if status is SendStatus.OK:
                sent_ids.append(job.id)
                if job.run_id is not None:
                    run_counts[(job.run_id, "sent")] += 1
            elif status is SendStatus.RETRY or status is SendStatus.MIGRATED:
                attempts = job.attempts + 1
                if status is SendStatus.MIGRATED and result.new_chat_id:
                    await self._migrate(session, job, result.new_chat_id, now)
                    delay = 0.0
                elif result.retry_after is not None:
                    delay = result.retry_after
                else:
                    delay = self._retry.backoff(attempts, self._rng)
                if attempts >= self._retry.max_attempts:
                    finals.append(
                        self._final(job, FAILED, "retries exhausted: " + (result.error or ""))
                    )
                    if job.run_id is not None:
                        run_counts[(job.run_id, "failed")] += 1
                    continue
                retries.append(
                    {
                        "b_id": job.id,
                        "b_attempts": attempts,
                        "b_next": now + timedelta(seconds=delay),
                        "b_error": (result.error or "retry")[:200],
                    }
                )
            elif status is SendStatus.BLOCKED:
                finals.append(self._final(job, BLOCKED, result.error or "blocked"))
                blocked_chats.add((job.channel, job.chat_id))
                if job.run_id is not None:
                    run_counts[(job.run_id, "blocked")] += 1
            else:
                finals.append(self._final(job, FAILED, result.error or "failed"))
                if job.run_id is not None:
                    run_counts[(job.run_id, "failed")] += 1
        for chunk in _chunks(sent_ids):
            await session.execute(
                update(OUTBOX)
                .where(OUTBOX.c.id.in_(chunk))
                .values(status=SENT, sent_at=now, attempts=OUTBOX.c.attempts + 1, last_error=None)
            )
        if retries:
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
        if finals:
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
        for channel, chat_id in blocked_chats:
            for run_id in await self._block_chat(session, channel, chat_id, now):
                run_counts[(run_id, "blocked")] += 1
        for (run_id, column), count in run_counts.items():
            await session.execute(
                update(RUNS).where(RUNS.c.id == run_id).values({column: RUNS.c[column] + count})
            )

    @staticmethod
    def _final(job: _Job, status: str, error: str) -> dict[str, Any]:
        return {"b_id": job.id, "b_status": status, "b_error": error[:200]}

    async def _block_chat(
        self, session: AsyncSession, channel: str, chat_id: str, now: datetime
    ) -> list[int]:
        """The person stopped the bot: mark them blocked, cancel their other bulk rows."""
        await session.execute(
            update(SUBSCRIBERS)
            .where(SUBSCRIBERS.c.channel == channel, SUBSCRIBERS.c.chat_id == chat_id)
            .values(status=BLOCKED, updated_at=now)
        )
        result = await session.execute(
            update(OUTBOX)
            .where(
                OUTBOX.c.channel == channel,
                OUTBOX.c.chat_id == chat_id,
                OUTBOX.c.status == PENDING,
                OUTBOX.c.priority >= int(Priority.DIRECT),
            )
            .values(status=CANCELLED, last_error="chat blocked the bot")
            .returning(OUTBOX.c.run_id)
        )
        return [run_id for (run_id,) in result.all() if run_id is not None]

    async def _migrate(
        self, session: AsyncSession, job: _Job, new_chat_id: str, now: datetime
    ) -> None:
        """A group became a supergroup: follow it to its new id (subscriber and open rows)."""
        other = SUBSCRIBERS.alias("other")
        taken = exists().where(and_(other.c.channel == job.channel, other.c.chat_id == new_chat_id))
        await session.execute(
            update(SUBSCRIBERS)
            .where(
                SUBSCRIBERS.c.channel == job.channel,
                SUBSCRIBERS.c.chat_id == job.chat_id,
                ~taken,
            )
            .values(chat_id=new_chat_id, updated_at=now)
        )
        await session.execute(
            update(OUTBOX)
            .where(
                OUTBOX.c.channel == job.channel,
                OUTBOX.c.chat_id == job.chat_id,
                OUTBOX.c.status.in_((PENDING, SENDING)),
            )
            .values(chat_id=new_chat_id)
        )

    async def _finish_runs(self) -> None:
        async with self._db.session() as session:
            # Settled = no row of the run still to send. Judged from the rows, not the running
            # counts: rows cancelled elsewhere (/huy, a submitted report) never pass through here.
            unsent = (
                select(OUTBOX.c.id)
                .where(OUTBOX.c.run_id == RUNS.c.id, OUTBOX.c.status.in_((PENDING, SENDING)))
                .exists()
            )
            complete = await session.execute(
                select(RUNS.c.id).where(RUNS.c.status == "running", ~unsent)
            )
            run_ids = [run_id for (run_id,) in complete.all()]
            if run_ids:
                await finish_runs(session, now=self._clock.now(), run_ids=run_ids)

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
                await asyncio.sleep(pause)
                pause = min(DB_RETRY_MAX_S, pause * 2)

    async def _progress_loop(self) -> None:
        last = {name: 0 for name in self._lanes}
        last_t = self._mono()
        while True:
            await asyncio.sleep(PROGRESS_EVERY_S)
            now = self._mono()
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
            runs = await session.execute(
                select(RUNS.c.id, RUNS.c.kind, RUNS.c.queued, RUNS.c.sent, RUNS.c.blocked).where(
                    RUNS.c.status == "running"
                )
            )
            for run_id, kind, queued, sent, blocked in runs.all():
                log.info("run #%s %s: %d/%d sent, %d blocked", run_id, kind, sent, queued, blocked)
