"""The interaction lane: a bounded place for the short work a click or command leaves after its ack.

A click's after-ack work (the database reads and writes its answer needs, the response_url post)
used to be one background task per click, on the same event loop as the acks: under a burst the
loop's task list grew without bound and every new ack queued behind it (docs/benchmarks.md).
The lane runs at most `workers` units at once, as `BackgroundTasks` tasks (so failures are logged
and hooked, `drain()` waits for them and settling time admits them in turn); the rest wait, in the
order they came, in a queue of at most `queue_limit` units that holds no task, only the means to
start one. Long-running release work (pipeline watching, gates) stays on `BackgroundTasks.spawn`,
so a slow pipeline never holds a lane slot.

- A unit whose `merge_key` equals that of a unit still queued or running is merged into it: a
  double click (same user, action and value) is one unit of work. Its `follow` (say, telling that
  delivery's response_url the same answer) runs with the unit's result once the unit is done, for at
  most `FOLLOW_LIMIT` merged copies. This only saves work; the exactly-once guarantee stays with
  the database (`handled_requests`).
- When the queue is full, the unit is refused, never started: its `on_refused` answer (say, "busy,
  try again") runs instead, at most `busy_limit` of those at once and at most `busy_per_second` on
  average (a bucket of `busy_limit`); beyond that the refusal is only counted and logged. A busy
  answer is a Slack call of its own: uncapped, a flood's refusals cost the acks more CPU than the
  work the lane does (docs/benchmarks.md). A slash command asks `would_refuse` before its ack and
  puts the busy answer in the ack itself, which costs no call (`bot.slack.responder.ack_in_lane`).
  Nothing ever waits inside the listener, so the ack never waits for the lane.
  When the lane goes idle after refusing work, it logs what the burst cost ("lane idle after a burst").

See docs/decisions/0009-interaction-lane.md.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from bot.background import BackgroundTasks, FailureHook

log = logging.getLogger(__name__)

Work = Callable[[], Coroutine[Any, Any, Any]]  # starts the unit's coroutine only when its turn comes
Follow = Callable[[Any], Coroutine[Any, Any, Any]]  # given the unit's result, answers a merged copy

WORKERS = 4  # below the SQLite pool's 5 connections, so lane units never wait for the pool
QUEUE_LIMIT = 256  # about a second of clicks at the lane's measured rate: longer waits feel broken
BUSY_LIMIT = 32
BUSY_PER_SECOND = 10.0  # busy answers through response_url after the first BUSY_LIMIT of a burst
FOLLOW_LIMIT = 8  # merged copies answered per unit: a human double or triple click, not a flood


class Admission(StrEnum):
    STARTED = "started"  # a slot was free: running now
    QUEUED = "queued"  # waiting for a slot, in order
    MERGED = "merged"  # an identical unit is queued or running: this one is that one
    REFUSED = "refused"  # the queue was full: not started, told (or counted) instead


@dataclass
class _Unit:
    work: Work
    name: str
    merge_key: str | None
    on_failure: FailureHook | None
    followers: list[Follow] = field(default_factory=list)

    async def run(self) -> Any:
        result = await self.work()
        for follow in self.followers:  # each merged copy is told what the one unit of work answered
            try:
                await follow(result)
            except Exception:
                log.exception("answering a merged copy failed", extra={"task": self.name})
        return result


@dataclass
class LaneCounts:
    started: int = 0
    merged: int = 0
    merged_unanswered: int = 0  # merged past FOLLOW_LIMIT copies of one unit: done, not answered again
    refused: int = 0
    unanswered: int = 0  # refused with `busy_limit` busy answers on their way, or past `busy_per_second`


class InteractionLane:
    def __init__(self, background: BackgroundTasks, *, workers: int = WORKERS, queue_limit: int = QUEUE_LIMIT,
                 busy_limit: int = BUSY_LIMIT, busy_per_second: float = BUSY_PER_SECOND,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        if workers < 1 or queue_limit < 0 or busy_limit < 0 or busy_per_second < 0:
            raise ValueError("an interaction lane needs at least one worker and non-negative limits")
        self.background = background
        self.workers = workers
        self.queue_limit = queue_limit
        self.busy_limit = busy_limit
        self.counts = LaneCounts()
        self._queue: deque[_Unit] = deque()
        self._running = 0
        self._busy_answers = 0
        self.busy_per_second = busy_per_second
        self._monotonic = monotonic
        self._busy_tokens = float(busy_limit)  # busy answers allowed now; refilled at busy_per_second
        self._tokens_at = monotonic()
        self._live: dict[str, _Unit] = {}  # the units queued or running, by merge key
        self._refused_reported = 0
        background.watch(self)

    @property
    def running(self) -> int:
        return self._running

    @property
    def queued(self) -> int:
        return len(self._queue)

    def would_refuse(self, merge_key: str | None = None) -> bool:
        """Whether a unit submitted now would be refused (neither merged, started nor queued)."""
        if merge_key is not None and merge_key in self._live:
            return False
        return self._room() == Admission.REFUSED

    def _room(self) -> Admission:
        """Where a new unit (not merged) goes now: started, queued or refused."""
        if self._running < self.workers and not self.background.closing:
            return Admission.STARTED
        if len(self._queue) >= self.queue_limit or self.background.closing:
            return Admission.REFUSED
        return Admission.QUEUED

    def refuse(self, name: str) -> None:
        """Count a unit refused by its caller after `would_refuse` (who answers busy in its ack)."""
        self._refuse(name, None)

    def submit(self, work: Work, *, name: str, merge_key: str | None = None,
               on_failure: FailureHook | None = None, on_refused: Work | None = None,
               follow: Follow | None = None) -> Admission:
        """Run `work()` in the lane, now or in its turn; never waits."""
        live = self._live.get(merge_key) if merge_key is not None else None
        if live is not None:
            self.counts.merged += 1
            if follow is not None:
                if len(live.followers) < FOLLOW_LIMIT:
                    live.followers.append(follow)
                else:
                    self.counts.merged_unanswered += 1
            return Admission.MERGED
        unit = _Unit(work, name, merge_key, on_failure)
        room = self._room()
        if room == Admission.STARTED:
            self._start(unit)
            return Admission.STARTED
        if room == Admission.REFUSED:
            self._refuse(name, on_refused)
            return Admission.REFUSED
        self._queue.append(unit)
        if merge_key is not None:
            self._live[merge_key] = unit
        return Admission.QUEUED

    def _start(self, unit: _Unit) -> None:
        self._running += 1
        self.counts.started += 1
        if unit.merge_key is not None:
            self._live[unit.merge_key] = unit
        task = self.background.spawn(unit.run(), name=unit.name, on_failure=unit.on_failure)
        # A done callback, not a `finally` in the unit: it also runs when the task is cancelled before
        # its coroutine started. Done callbacks all run before a `drain()` woken by this task's end looks
        # again, so it never sees the lane idle while units are still queued.
        task.add_done_callback(lambda _: self._finished(unit))

    def _finished(self, unit: _Unit) -> None:
        self._running -= 1
        if unit.merge_key is not None:
            self._live.pop(unit.merge_key, None)
        while self._queue and self._running < self.workers:
            if self.background.closing:
                self._queue.clear()  # shutting down: queued units never started, so nothing is undone
                self._live.clear()
                return
            self._start(self._queue.popleft())
        if not self._running and self.counts.refused != self._refused_reported:
            self._refused_reported = self.counts.refused
            log.warning("interaction lane idle after a burst", extra={
                "started": self.counts.started, "merged": self.counts.merged, "refused": self.counts.refused,
                "unanswered": self.counts.unanswered, "merged_unanswered": self.counts.merged_unanswered})

    def _refuse(self, name: str, on_refused: Work | None) -> None:
        self.counts.refused += 1
        if self.counts.refused == self._refused_reported + 1:  # the first refusal of a burst
            log.warning("interaction lane full: work refused", extra={"task": name, "refused": self.counts.refused,
                                                                   "queue_limit": self.queue_limit})
        if on_refused is None:
            return
        if self._busy_answers >= self.busy_limit or self.background.closing or not self._take_busy_token():
            self.counts.unanswered += 1
            return
        self._busy_answers += 1
        task = self.background.spawn(on_refused(), name=f"{name}-busy")
        task.add_done_callback(self._busy_answered)

    def _take_busy_token(self) -> bool:
        now = self._monotonic()
        self._busy_tokens = min(float(self.busy_limit),
                                self._busy_tokens + (now - self._tokens_at) * self.busy_per_second)
        self._tokens_at = now
        if self._busy_tokens < 1:
            return False
        self._busy_tokens -= 1
        return True

    def _busy_answered(self, _: asyncio.Task[Any]) -> None:
        self._busy_answers -= 1
