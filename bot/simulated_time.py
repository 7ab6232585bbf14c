"""Simulated time for the console's `--at` and for tests: a manual clock and a manual scheduler.

Waiting (`sleep`) moves the clock forward and runs the jobs that came due, so a release's polls,
a page's escalation or a shift's handoff happen in order, instantly, and the same way every run.

`SettlingTime` is the stricter kind the console runs on: a `sleep` does not move the clock itself,
it parks its task; the console alone moves the clock (`settle`, `advance`), and only once every
background task has finished or is parked — so nothing still on its way (an outbox post, a reply)
can see a later time than the instant it was started at, and a script's transcript is the same
every run.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import weakref
from collections.abc import Coroutine, Generator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.clock import ManualClock
from bot.scheduler import ManualScheduler

if TYPE_CHECKING:
    from bot.background import BackgroundTasks

SETTLE_WITHIN_SECONDS = 60.0  # real seconds one settle may take before we give up on it


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


class SettlingTime(SimulatedTime):
    """Simulated time moved by one driver, and only when the background work has settled.

    What the driver waits for before each step: every background task (and every scheduled job it
    runs) is finished, parked in `sleep`, or waiting for its turn to start. Background tasks and the
    subtasks they create begin one at a time, in the order they were created, each once the ones
    before it have finished or parked, so two never race to Slack (a reply and the outbox, two gates).
    A task that created subtasks (`create_task`, say the gates of a release) is taken to be waiting for
    them: it counts as settled when they all are. Only the console drives: a task that `sleep`s here
    while nobody calls `settle` or `advance` waits for ever.
    """

    def __init__(self, start: datetime) -> None:
        super().__init__(start)
        self._sleepers: list[tuple[datetime, int, asyncio.Future[None]]] = []
        self._turns: list[asyncio.Future[None]] = []  # tasks waiting to start, in spawn order
        self._order = itertools.count()
        self._parked: dict[asyncio.Task[Any], asyncio.Future[None]] = {}  # task → what wakes it
        self._parents: weakref.WeakKeyDictionary[asyncio.Task[Any], asyncio.Task[Any]] = \
            weakref.WeakKeyDictionary()
        self._jobs: set[asyncio.Task[Any]] = set()
        self._background: BackgroundTasks | None = None
        self._changed: asyncio.Future[None] | None = None

    def attach(self, background: BackgroundTasks) -> None:
        """Watch `background`'s tasks, start them one at a time, and learn which task started which."""
        self._background = background
        background.admit = self._turn
        asyncio.get_running_loop().set_task_factory(self._task_factory)

    def _task_factory(self, loop: asyncio.AbstractEventLoop, coro: Generator[Any, None, Any]
                      | Coroutine[Any, Any, Any], **kwargs: Any) -> asyncio.Task[Any]:
        parent = asyncio.current_task(loop)
        if parent is not None and self._watched(parent) and asyncio.iscoroutine(coro):
            coro = self._after_turn(coro)
        task: asyncio.Task[Any] = asyncio.Task(coro, loop=loop, **kwargs)
        if parent is not None:
            self._parents[task] = parent
        return task

    def _roots(self) -> set[asyncio.Task[Any]]:
        return {t for t in (*(self._background.tasks if self._background else ()), *self._jobs) if not t.done()}

    def _watched(self, task: asyncio.Task[Any] | None) -> bool:
        """Whether `task` is a background task or a job, or was started by one (at any remove)."""
        roots = self._roots()
        while task is not None:
            if task in roots:
                return True
            task = self._parents.get(task)
        return False

    async def _after_turn(self, coro: Coroutine[Any, Any, Any]) -> Any:
        """A subtask of background work (say, one gate of several) starts in its turn too, so concurrent
        subtasks finish in the order they were started unless they wait for time."""
        if asyncio.current_task() not in self._roots():  # a background task has its turn from `admit`
            try:
                await self._turn()
            except asyncio.CancelledError:
                coro.close()
                raise
        return await coro

    # --- what tasks call --------------------------------------------------------------------------
    async def sleep(self, seconds: float) -> None:
        """Park until the driver has moved the clock `seconds` on."""
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        wake: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now() + timedelta(seconds=seconds), next(self._order), wake))
        await self._park(wake)

    async def _turn(self) -> None:
        """A task waits here, parked, until the tasks created before it have finished or parked."""
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._turns.append(turn)
        await self._park(turn)

    async def _park(self, until: asyncio.Future[None]) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._parked[task] = until
        self._poke()
        try:
            await until
        finally:
            del self._parked[task]

    def _poke(self) -> None:
        if self._changed is not None and not self._changed.done():
            self._changed.set_result(None)

    # --- the driver -----------------------------------------------------------------------------
    async def advance(self, delta: timedelta) -> None:
        await self.settle(until=self.now() + delta)

    async def settle(self, until: datetime | None = None) -> None:
        """Let the background work run to its end, moving the clock for whoever sleeps (and to `until`),
        one step at a time: a waiting task starts, a due job runs, a sleeper wakes, or time moves.

        Gives up (TimeoutError) after `SETTLE_WITHIN_SECONDS` of real time: work that never ends, such
        as a pipeline that never finishes, would otherwise move the clock on for ever."""
        try:
            async with asyncio.timeout(SETTLE_WITHIN_SECONDS):
                await self._settle(until)
        except TimeoutError:
            unfinished = ", ".join(sorted(t.get_name() for t in self._roots())) or "none"
            raise TimeoutError(f"simulated time did not settle within {SETTLE_WITHIN_SECONDS:g}s (it reached "
                               f"{self.now().isoformat()}); background work still going: {unfinished}") from None

    async def _settle(self, until: datetime | None) -> None:
        while True:
            await self._quiet()
            now = self.now()
            self._sleepers = [s for s in self._sleepers if not s[2].done()]  # cancelled sleeps
            heapq.heapify(self._sleepers)
            self._turns = [t for t in self._turns if not t.done()]
            jobs = self.scheduler.jobs()
            if self._turns:
                self._turns.pop(0).set_result(None)
            elif jobs and jobs[0].at <= now:
                job = jobs[0]
                self.scheduler.cancel(job.id)
                task = asyncio.get_running_loop().create_task(self.scheduler.run(job.id, job.name, job.kwargs),
                                                              name=f"job-{job.id}")
                self._jobs.add(task)
                task.add_done_callback(self._jobs.discard)
            elif self._sleepers and self._sleepers[0][0] <= now:
                heapq.heappop(self._sleepers)[2].set_result(None)
            else:
                steps = [s[0] for s in self._sleepers[:1]] + ([until] if until is not None and until > now else [])
                if not steps:
                    return
                step = min(steps)
                if jobs and jobs[0].at < step:  # a job falls due on the way there
                    step = jobs[0].at
                self.clock.set(step)

    async def _quiet(self) -> None:
        """Wait until every watched task has finished or is parked (or waits for subtasks that are)."""
        while True:
            self._changed = asyncio.get_running_loop().create_future()
            busy = self._busy()
            if not busy:
                return
            await asyncio.wait([*busy, self._changed], return_when=asyncio.FIRST_COMPLETED)

    def _busy(self) -> list[asyncio.Task[Any]]:
        top = self._roots()
        subtasks: dict[asyncio.Task[Any], list[asyncio.Task[Any]]] = {}
        for child, parent in list(self._parents.items()):
            if not child.done() and child not in top:
                subtasks.setdefault(parent, []).append(child)
        busy: list[asyncio.Task[Any]] = []

        def visit(task: asyncio.Task[Any]) -> None:
            wake = self._parked.get(task)
            if wake is not None and not wake.done():  # woken tasks are busy until they park again
                return
            below = subtasks.get(task)
            if not below:
                busy.append(task)
            for child in below or ():
                visit(child)

        for root in top:
            visit(root)
        return busy

