"""Settling simulated time: the clock moves only once every background task has finished or waits for time."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot import simulated_time
from bot.background import BackgroundTasks
from bot.simulated_time import SettlingTime

START = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)


def busy_work() -> int:
    """Real work in a thread (the way a database call runs): the event loop cannot tell how long it takes."""
    return sum(range(200_000))


async def settling() -> tuple[SettlingTime, BackgroundTasks]:
    time, background = SettlingTime(START), BackgroundTasks()
    time.attach(background)
    return time, background


async def test_a_sleep_does_not_move_the_clock_under_work_still_running() -> None:
    time, background = await settling()
    seen: dict[str, datetime] = {}

    async def poller() -> None:
        await time.sleep(2)
        seen["poller"] = time.now()

    async def poster() -> None:
        for _ in range(3):
            await asyncio.to_thread(busy_work)
        seen["poster"] = time.now()

    background.spawn(poller(), name="poller")
    background.spawn(poster(), name="poster")
    await time.settle()

    assert seen == {"poster": START, "poller": START + timedelta(seconds=2)}
    assert background.pending == 0


async def test_background_tasks_and_their_subtasks_take_turns_in_the_order_they_were_started() -> None:
    time, background = await settling()
    finished: list[str] = []

    async def gate(name: str, rounds: int) -> str:
        for _ in range(rounds):
            await asyncio.to_thread(busy_work)
        finished.append(name)
        return name

    async def release() -> None:
        tasks = [asyncio.create_task(gate(name, rounds)) for name, rounds in (("slow", 4), ("quick", 1), ("mid", 2))]
        for done in asyncio.as_completed(tasks):
            await done

    async def reply(name: str) -> None:
        await asyncio.to_thread(busy_work)
        finished.append(name)

    background.spawn(release(), name="release")
    background.spawn(reply("reply"), name="reply")
    await time.settle()

    # One at a time, in the order they were started: the reply was spawned before the release started its gates.
    assert finished == ["reply", "slow", "quick", "mid"]


async def test_the_driver_moves_time_to_each_sleeper_and_job_in_order_and_stops_at_until() -> None:
    time, background = await settling()
    log: list[tuple[str, datetime]] = []

    async def job(label: str) -> None:
        log.append((label, time.now()))
        await time.sleep(30)  # a job may wait for time too
        log.append((label + " done", time.now()))

    time.scheduler.register("job", job)
    time.scheduler.schedule("bake-end", START + timedelta(minutes=10), "job", label="bake")

    async def poll() -> None:
        for _ in range(2):
            await time.sleep(60)
            log.append(("poll", time.now()))

    background.spawn(poll(), name="poll")
    await time.settle()  # the poller's sleeps move the clock; the job, 10 minutes out, does not run yet
    assert log == [("poll", START + timedelta(minutes=1)), ("poll", START + timedelta(minutes=2))]

    await time.advance(timedelta(minutes=10))
    assert log[2:] == [("bake", START + timedelta(minutes=10)),
                       ("bake done", START + timedelta(minutes=10, seconds=30))]
    assert time.now() == START + timedelta(minutes=12)


async def test_work_that_never_ends_is_named_instead_of_moving_the_clock_for_ever(monkeypatch: Any) -> None:
    monkeypatch.setattr(simulated_time, "SETTLE_WITHIN_SECONDS", 0.3)
    time, background = await settling()

    async def stuck_pipeline() -> None:
        while True:
            await time.sleep(60)

    task = background.spawn(stuck_pipeline(), name="release-9")
    with pytest.raises(TimeoutError, match="background work still going: release-9"):
        await time.settle()
    assert time.now() > START
    task.cancel()
    await background.close()
