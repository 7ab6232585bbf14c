"""The real-time scheduler measures how late each job starts, and /metrics shows it (the in-flight scale
benchmark reads it). APScheduler fires on the real clock; the clock the lateness is read from is injected."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import pytest

from bot.background import BackgroundTasks
from bot.runtime import watch_scheduler
from bot.scheduler import ApsScheduler
from bot.web.metrics import Metrics


class SteppedClock:
    """Real time, plus however far a test says the process fell behind."""

    def __init__(self) -> None:
        self.behind = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.behind


async def run_one(scheduler: ApsScheduler, clock: SteppedClock, *, at: datetime, behind: timedelta) -> None:
    ran = asyncio.Event()

    async def job() -> None:
        ran.set()

    scheduler.register("job", job)
    scheduler.schedule("the-job", at, "job")
    clock.behind = behind  # the job starts this much later than it was due, as the process sees it
    await asyncio.wait_for(ran.wait(), timeout=10)


def sample(metrics: Metrics, name: str) -> float:
    value = metrics.registry.get_sample_value(name)
    assert value is not None, f"{name} not exported"
    return value


async def test_a_job_that_starts_late_is_measured_exported_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    clock = SteppedClock()
    scheduler = ApsScheduler(now=clock)
    metrics = Metrics(BackgroundTasks())
    watch_scheduler(metrics, scheduler)
    await scheduler.start()
    try:
        with caplog.at_level(logging.WARNING, logger="bot.scheduler"):
            await run_one(scheduler, clock, at=clock(), behind=timedelta(seconds=3))
    finally:
        await scheduler.shutdown()

    assert scheduler.lateness.count == 1
    assert 3 <= scheduler.lateness.largest < 13
    assert 3 <= sample(metrics, "switchman_scheduled_job_lateness_max_seconds") < 13
    assert sample(metrics, "switchman_scheduled_job_lateness_seconds_count") == 1
    assert metrics.registry.get_sample_value("switchman_scheduled_job_lateness_seconds_bucket", {"le": "2.5"}) == 0
    assert metrics.registry.get_sample_value("switchman_scheduled_job_lateness_seconds_bucket", {"le": "30.0"}) == 1
    assert sample(metrics, "switchman_scheduled_jobs") == 0
    [late] = [r for r in caplog.records if r.getMessage() == "scheduled job started late"]
    assert late.__dict__["job"] == "the-job" and late.__dict__["late_seconds"] >= 3


async def test_a_job_scheduled_for_a_past_instant_is_late_from_when_it_was_scheduled() -> None:
    clock = SteppedClock()
    scheduler = ApsScheduler(now=clock)
    await scheduler.start()
    try:
        # Due an hour ago (a bake that ended while the process was down): that hour is not the scheduler's.
        await run_one(scheduler, clock, at=clock() - timedelta(hours=1), behind=timedelta(0))
    finally:
        await scheduler.shutdown()

    assert scheduler.lateness.count == 1
    assert scheduler.lateness.largest < 10


async def test_waiting_jobs_are_counted_until_they_start() -> None:
    clock = SteppedClock()
    scheduler = ApsScheduler(now=clock)
    metrics = Metrics(BackgroundTasks())
    watch_scheduler(metrics, scheduler)

    async def job() -> None:
        return None

    scheduler.register("job", job)
    for n in range(3):
        scheduler.schedule(f"later-{n}", clock() + timedelta(hours=1), "job")
    scheduler.cancel("later-0")

    assert sample(metrics, "switchman_scheduled_jobs") == 2
    assert sample(metrics, "switchman_scheduled_job_lateness_seconds_count") == 0
