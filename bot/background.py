"""Slow work handed off after the ack: tracked asyncio tasks that log their failures.

Handlers acknowledge Slack inline (§11) and give everything else — Web API calls,
providers, database writes the reply does not need — to `BackgroundTasks.spawn`. Tasks are
kept referenced until done (asyncio keeps only weak references), failures are logged with a
correlation id instead of vanishing, and `drain()` lets the console and tests wait until the
work a command started has finished, without sleeping. On settling simulated time (the console's
`--at`), `admit` holds each task back until its turn (see `bot.simulated_time.SettlingTime`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Protocol

from bot.errors import new_correlation_id

log = logging.getLogger(__name__)

FailureHook = Callable[[BaseException, str], Awaitable[None]]


class Queue(Protocol):
    """Work held back before it becomes a task (the interaction lane's queue)."""

    @property
    def queued(self) -> int: ...


class BackgroundTasks:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self._idle = asyncio.Event()
        self._idle.set()
        self.failures = 0
        self.admit: Callable[[], Awaitable[None]] | None = None  # awaited before a task starts its work
        self.closing = False  # set by `close()`: queues stop starting their held work
        self._queues: list[Queue] = []

    def watch(self, queue: Queue) -> None:
        """Count `queue`'s held work in `pending`. Its holder starts the next unit before the last task
        finishes, so `drain()` needs no more than the tasks to see it."""
        self._queues.append(queue)

    def spawn(self, coro: Coroutine[Any, Any, Any], *, name: str,
              on_failure: FailureHook | None = None) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(self._run(coro, name, on_failure), name=name)
        self._tasks.add(task)
        self._idle.clear()
        task.add_done_callback(self._forget)
        return task

    async def _run(self, coro: Coroutine[Any, Any, Any], name: str, on_failure: FailureHook | None) -> Any:
        try:
            if self.admit is not None:
                await self.admit()
            return await coro
        except asyncio.CancelledError:
            coro.close()  # cancelled before its turn came: never started
            raise
        except Exception as exc:
            self.failures += 1
            correlation_id = new_correlation_id()
            log.exception("background task failed", extra={"task": name, "correlation_id": correlation_id})
            if on_failure is not None:
                try:
                    await on_failure(exc, correlation_id)
                except Exception:
                    log.exception("failure hook failed", extra={"task": name, "correlation_id": correlation_id})
            return None

    def _forget(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not self._tasks:
            self._idle.set()

    @property
    def tasks(self) -> frozenset[asyncio.Task[Any]]:
        """The tasks not finished yet."""
        return frozenset(self._tasks)

    @property
    def pending(self) -> int:
        """Tasks not finished, and work held in watched queues waiting to become one."""
        return len(self._tasks) + sum(queue.queued for queue in self._queues)

    async def drain(self, within: float | None = 30.0) -> None:
        """Wait until no task is running, including tasks spawned by tasks."""
        async with asyncio.timeout(within):
            while self._tasks:
                await self._idle.wait()
                # A finishing task may spawn another before we look again.
                await asyncio.sleep(0)

    async def close(self) -> None:
        self.closing = True
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
