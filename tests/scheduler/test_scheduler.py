"""The scheduler: one interval job, a start-up run, and the thin sweep job."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from functools import partial
from pathlib import Path

import pytest
from apscheduler.triggers.interval import IntervalTrigger

from bot.campaign.events import activate_campaign
from bot.clock import VN_TZ, FakeClock
from bot.storage.db import Database
from scheduler import SWEEP_JOB_ID, build_scheduler
from scheduler.jobs import minute_job, sweep_job
from tests.support.campaign import (
    START,
    add_subscriber,
    make_pack,
    outbox_rows,
    vn,
    window,
)


async def nothing() -> None:
    """A sweep that does nothing."""


def test_build_scheduler_has_one_guarded_interval_job() -> None:
    clock = FakeClock(vn(START, 7, 30))
    scheduler = build_scheduler(sweep=nothing, interval_seconds=60, clock=clock)
    jobs = scheduler.get_jobs()
    assert [job.id for job in jobs] == [SWEEP_JOB_ID]
    job = jobs[0]
    assert job.max_instances == 1
    assert job.coalesce is True
    assert job.misfire_grace_time == 60
    assert isinstance(job.trigger, IntervalTrigger)
    assert job.trigger.interval == timedelta(seconds=60)
    assert job.next_run_time == clock.now()  # the start-up run
    assert str(scheduler.timezone) == str(VN_TZ)


def test_interval_must_be_positive() -> None:
    with pytest.raises(ValueError, match="interval_seconds"):
        build_scheduler(sweep=nothing, interval_seconds=0)


async def test_the_scheduler_runs_the_sweep_at_start_up() -> None:
    ran = asyncio.Event()

    async def sweep() -> None:
        ran.set()

    scheduler = build_scheduler(sweep=sweep, interval_seconds=3600)
    scheduler.start()
    try:
        await asyncio.wait_for(ran.wait(), timeout=10)
    finally:
        scheduler.shutdown(wait=False)
        await asyncio.sleep(0)  # AsyncIOScheduler shuts down on the next loop iteration
    assert ran.is_set()


async def test_sweep_job_fans_out_and_logs_counts_only(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    pack = make_pack()
    clock = FakeClock(vn(window(3), 8))
    await activate_campaign(db, pack, now=clock.now())
    await add_subscriber(db, "chat-secret-1", now=clock.now())
    await add_subscriber(db, "chat-secret-2", now=clock.now(), lang="en")
    with caplog.at_level(logging.DEBUG, logger="scheduler.jobs"):
        result = await sweep_job(db=db, pack=pack, clock=clock)
        again = await sweep_job(db=db, pack=pack, clock=clock)
    assert result is not None
    assert again is not None
    assert (result.day, result.enqueued, again.enqueued) == (3, 2, 0)
    assert "2 queued" in caplog.text
    assert "chat-secret" not in caplog.text


async def test_sweep_job_survives_a_database_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    broken = Database(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")  # no tables
    try:
        with caplog.at_level(logging.ERROR, logger="scheduler.jobs"):
            result = await sweep_job(db=broken, pack=make_pack(), clock=FakeClock(vn(START, 8)))
    finally:
        await broken.dispose()
    assert result is None
    assert "OperationalError" in caplog.text
    # no SQL text, so no bound parameters (chat ids) in the log
    assert "SELECT" not in caplog.text
    assert "UPDATE" not in caplog.text


async def test_scheduler_with_the_real_job_fills_the_outbox(db: Database) -> None:
    pack = make_pack()
    clock = FakeClock(vn(window(1), 9))
    await activate_campaign(db, pack, now=clock.now())
    await add_subscriber(db, "a", now=clock.now())
    ran = asyncio.Event()  # the job wakes the dispatcher once it has queued its rows
    job = partial(minute_job, db=db, pack=pack, clock=clock, notify=ran.set)
    scheduler = build_scheduler(sweep=job)
    scheduler.start()
    try:
        await asyncio.wait_for(ran.wait(), timeout=5)
    finally:
        scheduler.shutdown(wait=False)
        await asyncio.sleep(0)
    assert [r.day for r in await outbox_rows(db, "a")] == [1]
