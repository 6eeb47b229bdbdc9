"""Recording send outcomes: sent, retry later, or final; and what a blocked or moved chat implies.

The outbox rows and the run counters belong to delivery. What a blocked or migrated chat means for
other features' tables (the residents' subscriptions) is theirs: `ChatEvents` carries their
callbacks, wired in `bot/app.py`.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.base import SendResult, SendStatus
from bot.delivery import repository
from bot.delivery.outbox import Priority
from bot.delivery.repository import Job
from bot.storage.models.delivery import BLOCKED, FAILED, SKIPPED


class ChatBlocked(Protocol):
    """Another feature's consequence of a chat blocking the bot, in the outcome's transaction."""

    async def __call__(
        self, session: AsyncSession, *, channel: str, chat_id: str, now: datetime
    ) -> None: ...


class ChatMigrated(Protocol):
    """Another feature's consequence of a group moving to a new chat id."""

    async def __call__(
        self, session: AsyncSession, *, channel: str, chat_id: str, new_chat_id: str, now: datetime
    ) -> None: ...


@dataclass(frozen=True, slots=True)
class ChatEvents:
    """Callbacks that carry a blocked or migrated chat over to the features that own chats."""

    blocked: ChatBlocked
    migrated: ChatMigrated


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
class Outcome:
    """A send's result for a claimed row."""

    job: Job
    result: SendResult


@dataclass
class _Plan:
    """A batch of outcomes sorted into the writes they need."""

    now: datetime
    sent_ids: list[int] = field(default_factory=list)
    refs: list[dict[str, Any]] = field(default_factory=list)
    retries: list[dict[str, Any]] = field(default_factory=list)
    finals: list[dict[str, Any]] = field(default_factory=list)
    blocked_chats: set[tuple[str, str]] = field(default_factory=set)
    migrations: list[tuple[Job, str]] = field(default_factory=list)
    run_counts: Counter[tuple[int, str]] = field(default_factory=Counter)

    def count(self, job: Job, column: str) -> None:
        if job.run_id is not None:
            self.run_counts[(job.run_id, column)] += 1

    def final(self, job: Job, status: str, error: str) -> None:
        self.finals.append({"b_id": job.id, "b_status": status, "b_error": error[:200]})
        column = "failed"
        if status == BLOCKED:
            column = "blocked"
        elif status == SKIPPED:
            column = "skipped"
        self.count(job, column)


class OutcomeWriter:
    """Writes a batch of outcomes in the caller's transaction."""

    def __init__(self, retry: RetryPolicy, rng: random.Random, chats: ChatEvents) -> None:
        self._retry = retry
        self._rng = rng
        self._chats = chats

    async def write(self, session: AsyncSession, batch: list[Outcome], *, now: datetime) -> None:
        """Record every outcome of `batch`; counters of the runs they belong to follow."""
        plan = _Plan(now)
        for outcome in batch:
            self._sort(plan, outcome.job, outcome.result)
        for job, new_chat_id in plan.migrations:
            await self._migrate(session, job, new_chat_id, now)
        await repository.mark_sent(session, plan.sent_ids, now=now)
        await repository.record_refs(session, plan.refs)
        await repository.mark_retry(session, plan.retries)
        await repository.mark_final(session, plan.finals)
        retried = {retry["b_id"] for retry in plan.retries}
        await repository.forget(
            session,
            [o.job.id for o in batch if o.job.forget_after_send and o.job.id not in retried],
        )
        for channel, chat_id in plan.blocked_chats:
            await self._chats.blocked(session, channel=channel, chat_id=chat_id, now=now)
            cancelled = await repository.cancel_bulk_to(session, channel=channel, chat_id=chat_id)
            for run_id in cancelled:
                plan.run_counts[(run_id, "blocked")] += 1
        await repository.add_run_counts(session, plan.run_counts)

    def _sort(self, plan: _Plan, job: Job, result: SendResult) -> None:
        status = result.status
        if status is SendStatus.OK:
            plan.sent_ids.append(job.id)
            if result.message_ref is not None and job.priority == int(Priority.REPLY):
                plan.refs.append({"b_id": job.id, "b_ref": result.message_ref})
            plan.count(job, "sent")
        elif status is SendStatus.RETRY or status is SendStatus.MIGRATED:
            self._retry_later(plan, job, result)
        elif status is SendStatus.SKIPPED:
            plan.final(job, SKIPPED, result.error or "skipped")
        elif status is SendStatus.BLOCKED:
            plan.final(job, BLOCKED, result.error or "blocked")
            plan.blocked_chats.add((job.channel, job.chat_id))
        else:
            plan.final(job, FAILED, result.error or "failed")

    def _retry_later(self, plan: _Plan, job: Job, result: SendResult) -> None:
        attempts = job.attempts + 1
        if result.status is SendStatus.MIGRATED and result.new_chat_id:
            plan.migrations.append((job, result.new_chat_id))
            delay = 0.0
        elif result.retry_after is not None:
            delay = result.retry_after
        else:
            delay = self._retry.backoff(attempts, self._rng)
        if attempts >= self._retry.max_attempts:
            plan.final(job, FAILED, "retries exhausted: " + (result.error or ""))
            return
        plan.retries.append(
            {
                "b_id": job.id,
                "b_attempts": attempts,
                "b_next": plan.now + timedelta(seconds=delay),
                "b_error": (result.error or "retry")[:200],
            }
        )

    async def _migrate(
        self, session: AsyncSession, job: Job, new_chat_id: str, now: datetime
    ) -> None:
        """A group became a supergroup: follow it to its new id (its owners' rows, open rows)."""
        await self._chats.migrated(
            session, channel=job.channel, chat_id=job.chat_id, new_chat_id=new_chat_id, now=now
        )
        await repository.readdress(
            session, channel=job.channel, chat_id=job.chat_id, new_chat_id=new_chat_id
        )
