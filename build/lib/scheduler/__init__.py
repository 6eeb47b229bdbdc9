"""Scheduling: the one APScheduler 3.x AsyncIOScheduler (Asia/Ho_Chi_Minh) and its thin jobs.

One process owns the scheduler (the composition root builds it once); the job only turns due
campaign events into outbox rows, and the sweep is idempotent, so a late, coalesced or repeated
run is harmless.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.clock import VN_TZ, Clock, SystemClock

SWEEP_JOB_ID = "campaign-sweep"


def build_scheduler(
    *,
    sweep: Callable[[], Awaitable[object]],
    interval_seconds: int = 60,
    clock: Clock | None = None,
) -> AsyncIOScheduler:
    """The scheduler with one interval job running `sweep`, first at start-up, then every minute.

    max_instances=1: a slow sweep is never overlapped by the next one; coalesce=True: runs missed
    while the loop was blocked or the machine slept collapse into one; misfire_grace_time: a run
    late by up to one interval still happens (the sweep catches up on its own anyway).
    Start it inside the running event loop (`scheduler.start()`), stop with `shutdown()`.
    """
    if interval_seconds < 1:
        raise ValueError("interval_seconds must be at least 1")
    scheduler = AsyncIOScheduler(timezone=VN_TZ)
    first_run = (clock or SystemClock()).now().astimezone(VN_TZ)
    scheduler.add_job(
        sweep,
        "interval",
        seconds=interval_seconds,
        id=SWEEP_JOB_ID,
        name="campaign sweep",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=interval_seconds,
        next_run_time=first_run,  # the start-up run: do not wait a minute after a restart
        replace_existing=True,
    )
    return scheduler
