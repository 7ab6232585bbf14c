"""Timed jobs — escalations, handoffs, reminders, bake ends — at UTC instants (STYLE #7).

A job is a registered async function called with plain keyword arguments (ids, never ORM
objects); it opens its own session and must be idempotent, because a job may run twice (a
restart, a second replica). Scheduling the same job id again replaces it. Nothing here is the
record of truth: whoever schedules jobs rebuilds them from the database on start.

Two implementations share the interface: `ApsScheduler` (APScheduler 3, one-shot date triggers,
never a local-time cron) for real time, and `ManualScheduler` for simulated time, where jobs run
when the clock is moved past them (tests, `switchman console --at`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.schedulers.base import STATE_PAUSED
from apscheduler.triggers.date import DateTrigger

from bot.clock import Clock
from bot.errors import new_correlation_id
from bot.storage.leadership import LeaderState

log = logging.getLogger(__name__)
JobFunction = Callable[..., Awaitable[None]]


@dataclass(frozen=True)
class ScheduledJob:
    id: str
    at: datetime
    name: str
    kwargs: dict[str, Any]


class Scheduler(Protocol):
    def register(self, name: str, func: JobFunction) -> None: ...
    def schedule(self, job_id: str, at: datetime, name: str, **kwargs: Any) -> None: ...
    def cancel(self, job_id: str) -> None: ...
    def jobs(self) -> list[ScheduledJob]: ...
    async def start(self) -> None: ...
    async def shutdown(self) -> None: ...


class _Registry:
    def __init__(self) -> None:
        self._functions: dict[str, JobFunction] = {}

    def register(self, name: str, func: JobFunction) -> None:
        self._functions[name] = func

    async def run(self, job_id: str, name: str, kwargs: dict[str, Any]) -> None:
        """Run one job; a failure is logged with a correlation id and never stops the scheduler."""
        try:
            await self._functions[name](**kwargs)
        except Exception:
            log.exception("scheduled job failed", extra={"job": job_id, "job_name": name,
                                                         "correlation_id": new_correlation_id()})


LATE_WARNING = timedelta(seconds=1)  # a job starting later than this says so in the log


@dataclass
class Lateness:
    """How late jobs started: from when each was due (or, if scheduled for a past instant, from when it
    was scheduled) to when its function began, on this process's clock. A busy event loop shows here."""

    count: int = 0
    largest: float = 0.0  # seconds, since the process started
    observers: list[Callable[[float], None]] = field(default_factory=list)

    def observe(self, seconds: float) -> None:
        self.count += 1
        self.largest = max(self.largest, seconds)
        for observer in self.observers:
            observer(seconds)


class ApsScheduler(_Registry):
    def __init__(self, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        super().__init__()
        # A job that comes due while the process is busy or paused still runs, late, exactly once.
        self._aps = AsyncIOScheduler(timezone=UTC, job_defaults={"misfire_grace_time": None, "coalesce": True})
        self._meta: dict[str, ScheduledJob] = {}
        self._running: set[asyncio.Task[Any]] = set()
        self._now = now  # APScheduler fires on the real clock; this only measures how late
        self.lateness = Lateness()

    def schedule(self, job_id: str, at: datetime, name: str, **kwargs: Any) -> None:
        self._meta[job_id] = ScheduledJob(job_id, at.astimezone(UTC), name, kwargs)
        due = max(at.astimezone(UTC), self._now())
        self._aps.add_job(self._fire, DateTrigger(run_date=at.astimezone(UTC), timezone=UTC), id=job_id,
                          args=[job_id, name, kwargs, due], replace_existing=True)

    @property
    def waiting(self) -> int:
        """Jobs scheduled and not started yet."""
        return len(self._meta)

    async def _fire(self, job_id: str, name: str, kwargs: dict[str, Any], due: datetime | None = None) -> None:
        if due is not None:
            late = max((self._now() - due).total_seconds(), 0.0)
            self.lateness.observe(late)
            if late > LATE_WARNING.total_seconds():
                log.warning("scheduled job started late", extra={"job": job_id, "job_name": name,
                                                                 "late_seconds": round(late, 3)})
        self._meta.pop(job_id, None)
        task = asyncio.current_task()
        if task is not None:
            self._running.add(task)
        try:
            await self.run(job_id, name, kwargs)
        finally:
            if task is not None:
                self._running.discard(task)

    def cancel(self, job_id: str) -> None:
        self._meta.pop(job_id, None)
        if self._aps.get_job(job_id) is not None:
            self._aps.remove_job(job_id)

    def jobs(self) -> list[ScheduledJob]:
        return sorted(self._meta.values(), key=lambda j: j.at)

    async def start(self) -> None:
        if not self._aps.running:
            self._aps.start()

    async def shutdown(self, grace: float = 10.0) -> None:
        """Take no new jobs; let the ones running finish (a job cut short is re-planned at the next start)."""
        if not self._aps.running:
            return
        self._aps.pause()  # shutting APScheduler down would cancel the jobs still running
        if self._running:
            await asyncio.wait(list(self._running), timeout=grace)
        self._aps.shutdown(wait=False)

    async def stand_down(self, within: float = 5.0) -> None:
        """Leadership is lost: run nothing more, cut the running jobs short, forget every job (the next
        leader plans them from the database)."""
        if self._aps.running:
            self._aps.pause()
        for task in list(self._running):
            task.cancel()
        if self._running:
            await asyncio.wait(list(self._running), timeout=within)
        self.clear()

    def clear(self) -> None:
        """Forget every job (before planning them again from the database)."""
        self._aps.remove_all_jobs()
        self._meta.clear()

    async def resume(self) -> None:
        """Start, or start again after `stand_down`."""
        if self._aps.state == STATE_PAUSED:
            self._aps.resume()
        else:
            await self.start()


class LeaderOnlyScheduler:
    """A replica's scheduler under an election: jobs run on the leader only.

    On a follower, scheduling or cancelling a job (a page opened by a webhook, a rotation edited by a
    command) is forwarded to the leader, which does it on its own scheduler. A request lost while
    nobody leads is not lost work: the next leader plans every job from the database.
    """

    def __init__(self, inner: ApsScheduler, leader: LeaderState) -> None:
        self.inner, self.leader = inner, leader

    def register(self, name: str, func: JobFunction) -> None:
        self.inner.register(name, func)

    def schedule(self, job_id: str, at: datetime, name: str, **kwargs: Any) -> None:
        if self.leader.leading or self.leader.forward is None:
            self.inner.schedule(job_id, at, name, **kwargs)
        else:
            self.leader.forward({"schedule": {"id": job_id, "at": at.astimezone(UTC).isoformat(), "name": name,
                                              "kwargs": kwargs}})

    def cancel(self, job_id: str) -> None:
        if self.leader.leading or self.leader.forward is None:
            self.inner.cancel(job_id)
        else:
            self.leader.forward({"cancel": job_id})

    def jobs(self) -> list[ScheduledJob]:
        return self.inner.jobs()

    async def start(self) -> None:
        await self.inner.resume()

    async def shutdown(self) -> None:
        await self.inner.shutdown()


class ManualScheduler(_Registry):
    """Runs due jobs when told the time has moved on; never by itself."""

    def __init__(self, clock: Clock) -> None:
        super().__init__()
        self.clock = clock
        self._jobs: dict[str, ScheduledJob] = {}

    def schedule(self, job_id: str, at: datetime, name: str, **kwargs: Any) -> None:
        self._jobs[job_id] = ScheduledJob(job_id, at.astimezone(UTC), name, kwargs)

    def cancel(self, job_id: str) -> None:
        self._jobs.pop(job_id, None)

    def jobs(self) -> list[ScheduledJob]:
        return sorted(self._jobs.values(), key=lambda j: j.at)

    async def run_due(self) -> int:
        """Run every job due at the clock's now, earliest first, including jobs those jobs schedule."""
        ran = 0
        while True:
            due = [j for j in self.jobs() if j.at <= self.clock.now()]
            if not due:
                return ran
            job = due[0]
            del self._jobs[job.id]
            await self.run(job.id, job.name, job.kwargs)
            ran += 1

    async def start(self) -> None:
        return None

    async def shutdown(self) -> None:
        self._jobs.clear()
