"""Simulated time for the console's `--at` and for tests: a manual clock and a manual scheduler.

Waiting (`sleep`) moves the clock forward and runs the jobs that came due, so a release's polls,
a page's escalation or a shift's handoff happen in order, instantly, and the same way every run.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from bot.clock import ManualClock
from bot.scheduler import ManualScheduler


class SimulatedTime:
    def __init__(self, start: datetime) -> None:
        self.clock = ManualClock(start)
        self.scheduler = ManualScheduler(self.clock)

    async def sleep(self, seconds: float) -> None:
        await self.advance(timedelta(seconds=seconds))

    async def advance(self, delta: timedelta) -> None:
        """Move time on, running due jobs at the instants they were due, in order."""
        target = self.clock.now() + delta
        while True:
            upcoming = [j.at for j in self.scheduler.jobs() if j.at <= target]
            step = min(upcoming) if upcoming else target
            if step > self.clock.now():
                self.clock.set(step)
            await self.scheduler.run_due()
            await asyncio.sleep(0)
            if not upcoming:
                return

    def now(self) -> datetime:
        return self.clock.now()
