"""Leadership: which replica runs the timers, the outbox sender, the sweep and the pipeline watchers (§10).

On SQLite there is one process and it leads. On PostgreSQL every replica answers Slack and the
webhooks, and one of them leads: the one holding the advisory lock (`bot.storage.leadership`).
Followers try to take the lock every `TRY_EVERY` seconds. The leader checks its lock connection
every `HOLD_INTERVAL` seconds (reading followers' requests on the way); when that connection is
lost it stops leading at once — timers, watchers and outbox workers are cut short — and goes back
to trying. A new leader bumps the epoch (which fences off its predecessor's writes) and rebuilds
its work from the database through the same `plan_jobs` a start-up runs. SIGTERM hands leadership
over: no new work, the steps in flight finish (within a grace period), then the lock is let go.

What a follower's requests trigger is handed to the leader by NOTIFY (`engine.kick`, the outbox's
wake, timers scheduled or cancelled); see docs/decisions/0008-leadership.md.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

from bot.context import AppContext
from bot.jobs import plan_jobs, register_jobs
from bot.release import engine
from bot.scheduler import ApsScheduler, LeaderOnlyScheduler
from bot.storage.leadership import LeaderLock, LeaderState, notify_leader, replica_name

log = logging.getLogger(__name__)

TRY_EVERY = 1.0  # a follower's attempts at the lock
HOLD_INTERVAL = 1.0  # the leader's checks of its lock connection
HOLD_TIMEOUT = 2.0  # a check unanswered this long means the connection is lost
STAND_DOWN_WITHIN = 5.0  # cut-short work gets this long to unwind
HAND_OVER_WITHIN = 10.0  # SIGTERM: steps in flight get this long to finish
FORWARD_TRIES = 5  # a follower's request to the leader, tried with 1 s, 2 s… between
OUTBOX_SCAN_EVERY = 30  # checks: the leader looks at the outbox this often even if no wake reached it


async def start_leadership(ctx: AppContext) -> None:
    """Register every job; lead at once on SQLite, or join the election on PostgreSQL."""
    register_jobs(ctx)
    if ctx.db.dialect != "postgresql":
        ctx.leader = LeaderState()
        ctx.metrics.leader.set(1)
        log.info("leading", extra={"reason": f"the only process ({ctx.db.dialect})"})
        await plan_jobs(ctx)
        await ctx.scheduler.start()
        return
    await Election(ctx).start()


class Election:
    """This replica's part in the election: trying for the lock, leading, standing down, handing over."""

    def __init__(self, ctx: AppContext) -> None:
        if not isinstance(ctx.scheduler, ApsScheduler):
            raise TypeError("several replicas need the real-time scheduler")
        assert ctx.outbox is not None
        self.ctx, self.jobs, self.outbox = ctx, ctx.scheduler, ctx.outbox
        self.name = replica_name()
        self.leader = LeaderState(elected=True, leading=False, forward=self._forward, close=self.close)
        ctx.leader = self.leader
        ctx.scheduler = LeaderOnlyScheduler(self.jobs, self.leader)
        self.outbox.leading = lambda: self.leader.leading
        self.outbox.elsewhere = lambda: self._forward({"wake": "outbox"})
        self.lock = LeaderLock(ctx.settings.database_url, on_message=self._on_message)
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        ctx.metrics.leader.set(0)

    async def start(self) -> None:
        await self._attempt()  # at once: a lone replica leads before it serves
        if not self.leader.leading:
            log.info("following", extra={"replica": self.name})
        self._task = asyncio.get_running_loop().create_task(self._run(), name="leadership")

    async def _run(self) -> None:
        checks = 0
        while not self._closing:
            if self.leader.leading:
                checks += 1
                if checks % OUTBOX_SCAN_EVERY == 0:
                    self.outbox.wake()  # a follower's wake lost on the way (say, its NOTIFY failed)
                try:
                    await self.lock.hold(HOLD_INTERVAL, HOLD_TIMEOUT)
                except Exception as exc:  # whatever broke the check, the lock can no longer be vouched for
                    await self._stand_down(f"the leadership connection was lost ({type(exc).__name__}: {exc})")
            else:
                await asyncio.sleep(TRY_EVERY)
                await self._attempt()

    async def _attempt(self) -> None:
        try:
            if await self.lock.try_take():
                await self._take_over()
        except Exception as exc:  # the database is away, or planning failed: no half-leader, try again
            log.warning("could not take leadership; trying again", extra={"error": f"{type(exc).__name__}: {exc}"})
            await self._stand_down(f"taking over failed ({type(exc).__name__})")

    async def _take_over(self) -> None:
        epoch = await self.lock.begin_epoch(self.name, self.ctx.clock.now())
        self.leader.epoch, self.leader.leading = epoch, True
        self.ctx.metrics.leader.set(1)
        log.info("leadership taken", extra={"epoch": epoch, "replica": self.name})
        self.jobs.clear()  # anything this replica held as a follower: the database says what is due
        await plan_jobs(self.ctx)
        await self.jobs.resume()

    async def _stand_down(self, reason: str) -> None:
        """Leadership is lost: stop every piece of leader-only work now, then try again."""
        if self.leader.leading:
            self.leader.leading = False
            self.ctx.metrics.leader.set(0)
            log.warning("leadership lost", extra={"epoch": self.leader.epoch, "replica": self.name,
                                                  "reason": reason})
            await self.jobs.stand_down(STAND_DOWN_WITHIN)
            await self.leader.cancel_tasks(STAND_DOWN_WITHIN)
            await self.outbox.stop(STAND_DOWN_WITHIN)
        await self.lock.release()

    async def close(self) -> None:
        """SIGTERM: take no new work, let the steps in flight finish, then let the lock go."""
        self._closing = True
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self.leader.leading:
            self.leader.leading = False
            self.ctx.metrics.leader.set(0)
            log.info("handing leadership over", extra={"epoch": self.leader.epoch, "replica": self.name})
            await self.jobs.shutdown(HAND_OVER_WITHIN)
            await self.leader.finish_tasks(HAND_OVER_WITHIN)
            await self.outbox.stop(STAND_DOWN_WITHIN)
            log.info("leadership handed over", extra={"epoch": self.leader.epoch, "replica": self.name})
        await self.lock.release()

    # --- followers' requests ---------------------------------------------------------------------
    def _forward(self, message: dict[str, Any]) -> None:
        """On a follower: pass a request on to the leader (the state it concerns is committed already)."""
        self.ctx.background.spawn(self._send(message), name="notify-leader")

    async def _send(self, message: dict[str, Any]) -> None:
        for attempt in range(1, FORWARD_TRIES + 1):
            try:
                await notify_leader(self.ctx.db, message)
                return
            except Exception as exc:  # the database is away for a moment: try again, then say so
                if attempt == FORWARD_TRIES:
                    log.error("could not pass a request on to the leader", extra={
                        "request": str(message)[:200], "error": f"{type(exc).__name__}: {exc}"})
                    return
                await asyncio.sleep(attempt)

    def _on_message(self, message: dict[str, Any]) -> None:
        if not self.leader.leading:
            return  # the next leader rebuilds everything from the database anyway
        try:
            if isinstance(message.get("kick"), int):
                engine.kick(self.ctx, message["kick"])
            elif message.get("wake") == "outbox":
                self.outbox.wake()
            elif isinstance(job := message.get("schedule"), dict):
                self.jobs.schedule(str(job["id"]), datetime.fromisoformat(str(job["at"])), str(job["name"]),
                                   **dict(job.get("kwargs") or {}))
            elif isinstance(message.get("cancel"), str):
                self.jobs.cancel(message["cancel"])
            else:
                log.warning("ignored an unknown leader request", extra={"request": str(message)[:200]})
        except (KeyError, TypeError, ValueError):
            log.exception("ignored a malformed leader request", extra={"request": str(message)[:200]})
