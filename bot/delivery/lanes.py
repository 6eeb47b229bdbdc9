"""Lanes: one per channel, its limiter and the local buffer of claimed rows, most urgent first."""

from __future__ import annotations

import asyncio
import heapq
import math

from bot.channels.base import Channel, Outbound
from bot.delivery.limiter import ChannelLimiter
from bot.delivery.outbox import decode_choices, decode_extra, decode_template
from bot.delivery.repository import Job

MAX_BUFFER = 500
MIN_BUFFER = 16
BUFFER_SECONDS = 0.5


class Lane:
    """One channel: its limiter and the local buffer of claimed rows."""

    def __init__(self, name: str, channel: Channel, limiter: ChannelLimiter) -> None:
        self.name = name
        self.channel = channel
        self.limiter = limiter
        self.ready: list[tuple[int, int, Job]] = []  # (priority, id, job)
        self.waiting: list[tuple[float, int, int, Job]] = []  # (chat ready at, priority, id, job)
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

    def push(self, job: Job) -> None:
        heapq.heappush(self.ready, (job.priority, job.id, job))
        self.changed.set()

    def pop_ready(self, now: float) -> Job | None:
        """The most urgent job whose chat may receive a message now, or None."""
        while self.waiting and self.waiting[0][0] <= now:
            _, priority, job_id, job = heapq.heappop(self.waiting)
            heapq.heappush(self.ready, (priority, job_id, job))
        while self.ready:
            _, _, job = self.ready[0]
            wait = self.limiter.chat_delay(job.chat_id, now) if job.paced_per_chat else 0.0
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

    def take_all(self) -> list[Job]:
        jobs = [job for _, _, job in self.ready] + [job for _, _, _, job in self.waiting]
        self.ready.clear()
        self.waiting.clear()
        return jobs

    def cost(self, job: Job) -> int:
        """API calls a message takes (long texts are split by the channel)."""
        return max(1, math.ceil(len(job.text) / self.channel.capabilities.max_text))


def outbound(job: Job) -> Outbound:
    """The message a claimed row stands for."""
    attachment, menu = decode_extra(job.extra)
    return Outbound(
        attachment=attachment,
        menu=menu,
        channel=job.channel,
        chat_id=job.chat_id,
        text=job.text,
        choices=decode_choices(job.choices),
        columns=job.columns,
        numbered=job.numbered,
        template=decode_template(job.extra),
    )
