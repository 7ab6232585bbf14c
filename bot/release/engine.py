"""The one way a release moves: `advance(release_id)` reads the stored state and takes the next step.

Requests, clicks, timers, start-up resume and the sweep all call `advance` (through `kick`, which
runs it in the background). Only one task steps a release at a time: `advance` holds the
release's lease (a column, so it holds across processes) while it works, and whoever finds the
lease taken leaves the work to its holder, which reads the state again before it lets go.

What each state's step does lives in `gating.py` and `rollout.py`; which state follows which
event lives in `machine.py`. A step that raises ends the release as failed, with an error id in
the thread and the log, and frees the environment. A finished release's last step is to start the
next one queued for its environment.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import col, select

from bot.context import AppContext
from bot.outbox import queue as outbox
from bot.release import gating, outcomes, rollback, rollout, store
from bot.release import service as releases
from bot.release.gating import thread_of
from bot.release.machine import Event, allows
from bot.release.models import IN_FLIGHT, Release, ReleaseState
from bot.release.queue import superseded
from bot.release.steps import RollBack, Step
from bot.release.thread import PREFIX, on_parent_posted, release_id_of
from bot.storage.leadership import Deposed

log = logging.getLogger(__name__)
SWEEP_JOB = "release_sweep"
SWEEP_EVERY = timedelta(minutes=1)
OVERDUE = timedelta(minutes=1)  # how late a timer may be before the sweep steps in


def kick(ctx: AppContext, release_id: int) -> None:
    """Advance the release in the background; an unexpected failure ends it cleanly.

    Only the leader steps releases: a follower (several replicas on PostgreSQL) has written what the
    request decided and asks the leader to advance the release (docs/decisions/0008-leadership.md).
    """
    if not ctx.leader.leading:
        if ctx.leader.forward is not None:
            ctx.leader.forward({"kick": release_id})
        return

    async def failed(_: BaseException, error_id: str) -> None:
        await fail_unexpectedly(ctx, release_id, error_id)

    ctx.leader.track(ctx.background.spawn(advance(ctx, release_id), name=f"release-{release_id}",
                                          on_failure=failed))
    _keep_sweeping(ctx)


def _keep_sweeping(ctx: AppContext) -> None:
    """Make sure the sweep runs while any release is unfinished (it stops itself when none is)."""
    if not any(job.id == SWEEP_JOB for job in ctx.scheduler.jobs()):
        ctx.scheduler.schedule(SWEEP_JOB, ctx.clock.now() + SWEEP_EVERY, SWEEP_JOB)


async def advance(ctx: AppContext, release_id: int) -> None:
    fence = ctx.leader.fence()
    while True:
        if not await store.take_lease(ctx.db, release_id, now=ctx.clock.now(), fence=fence):
            return  # another task is stepping it; it reads the state again before letting go
        try:
            seen = await _step_until_waiting(ctx, release_id)
        except Deposed:
            log.warning("another replica leads now; it takes this release over", extra={"release": release_id})
            return
        finally:
            await store.drop_lease(ctx.db, release_id, fence=fence)
        release = await store.load(ctx.db, release_id)
        if release.state == seen:
            break  # nobody moved it while we held the lease
    if release.state not in IN_FLIGHT and release.state != ReleaseState.QUEUED:
        await start_next(ctx, release.service, release.environment)


async def _step_until_waiting(ctx: AppContext, release_id: int) -> str:
    while True:
        release = await store.load(ctx.db, release_id)
        match release.state:
            case ReleaseState.REQUESTED | ReleaseState.GATING:
                result: Step | RollBack = await gating.step(ctx, release)
            case ReleaseState.ROLLING_OUT:
                result = await rollout.step(ctx, release)
            case ReleaseState.VERIFYING:
                result = await rollout.verify(ctx, release)
            case ReleaseState.PAUSED:
                result = await rollout.paused(ctx, release)
            case _:
                return release.state
        if isinstance(result, RollBack):
            await roll_back(ctx, release_id, result)
            result = Step.CONTINUE
        if result == Step.WAIT:
            return (await store.load(ctx.db, release_id)).state


async def roll_back(ctx: AppContext, release_id: int, why: RollBack) -> None:
    """Undo the release: the rollback takes the environment and is advanced on its own."""
    rollback_id = await rollback.start_automatic(ctx, release_id, why.evidence, actor=why.actor)
    if rollback_id is not None:
        kick(ctx, rollback_id)


async def start_next(ctx: AppContext, service: str, environment: str) -> None:
    """The environment is free: start the oldest queued release, if any (idempotent).

    A head of the queue that has nothing left to deploy (`queue.superseded`) ends as superseded,
    with its outcome and a note in its thread, and the next one is considered.
    """
    thread = thread_of(ctx)
    while True:
        async with ctx.db.session() as session:
            head = await releases.queue_head(session, service=service, environment=environment)
        if head is None or head.id is None:
            return
        why = await superseded(ctx, head)
        now = ctx.clock.now()
        async with ctx.db.session() as session:
            if why is not None:
                await outcomes.end(session, thread, await store.get(session, head.id), Event.SUPERSEDE, why, now=now)
                continue
            promoted = await releases.promote_next(session, service=service, environment=environment, now=now,
                                                   release_id=head.id)
            if promoted is not None:
                thread.refresh(session, promoted, now=now)
                thread.note(session, promoted, f":arrow_forward: {environment} is free; release #{promoted.id} starts "
                                               "now.", now=now)
        if promoted is not None:
            kick(ctx, head.id)
            return


async def fail_unexpectedly(ctx: AppContext, release_id: int, error_id: str) -> None:
    """A step raised: end the release as failed, quoting the error id (also in the log line), free it."""
    log.error("release step failed; the release is ended", extra={"release": release_id, "correlation_id": error_id})
    async with ctx.db.session() as session:
        release = await session.get(Release, release_id)
        if release is None or not allows(release.state, Event.FAIL):
            return
        await outcomes.end(session, thread_of(ctx), release, Event.FAIL,
                           f"an unexpected error stopped this release (error id `{error_id}`); nothing more will "
                           "happen to it. Deploy again once the cause is fixed.", now=ctx.clock.now(),
                           evidence={"error_id": error_id}, lease_until=None)
    await start_next(ctx, release.service, release.environment)


async def thread_refused(ctx: AppContext, owner: str, error: str, channel: str) -> None:
    """Outbox hook: Slack will not take the release's messages; end it, tell the requester what to do."""
    release_id = release_id_of(owner)
    if release_id is None:
        return
    now = ctx.clock.now()
    advice = _advice(error, channel)
    async with ctx.db.session() as session:
        release = await session.get(Release, release_id)
        if release is None:
            return
        what = f"Release #{release_id} ({release.service} `{release.ref}` → {release.environment})"
        if allows(release.state, Event.FAIL):
            await outcomes.end(session, thread_of(ctx), release, Event.FAIL,
                               f"Slack refused the release thread in {channel} ({error})", now=now,
                               evidence={"slack_error": error, "channel": channel})
            told = f":x: {what} was stopped: {advice} What was decided so far is recorded."
        else:  # it finished before Slack said no: nothing to stop, but nobody could follow it
            told = (f":warning: {what} {ctx.release_view.state_text(release.state)}, but its thread could not be "
                    f"posted: {advice}")
        outbox.direct(session, user=release.requested_by, now=now, message=ctx.release_view.note(told))
    kick(ctx, release_id)  # frees the environment: the next queued release starts


def _advice(error: str, channel: str) -> str:
    if error == "not_in_channel":
        return f"Switchman is not in {channel}. Invite it there (`/invite @Switchman`) and deploy again."
    if error == "is_archived":
        return f"{channel} is archived. Unarchive it, or point the service's `channel` at another one."
    if error == "channel_not_found":
        return f"there is no channel {channel} that Switchman can see. Fix the service's `channel` in the config."
    return f"Slack refused to post in {channel} (`{error}`). Ask a Slack admin to check the app's installation."


async def sweep(ctx: AppContext) -> int:
    """Find every release whose next step is overdue (nobody stepping it) and advance it.

    Returns how many releases are unfinished (the sweep keeps running while there are any).
    """
    now = ctx.clock.now()
    async with ctx.db.session() as session:
        rows = (await session.exec(select(Release).where(
            col(Release.state).in_([s.value for s in (*IN_FLIGHT, ReleaseState.QUEUED)]),
            (col(Release.lease_until).is_(None)) | (col(Release.lease_until) < now)))).all()
    seen_envs: set[tuple[str, str]] = set()
    for release in rows:
        if release.state == ReleaseState.QUEUED:
            seen_envs.add((release.service, release.environment))
        elif _overdue(release, now):
            kick(ctx, release.id or 0)
    for service, environment in seen_envs:
        await start_next(ctx, service, environment)
    return len(rows)


def _overdue(release: Release, now: datetime) -> bool:
    detail = release.detail or {}
    match release.state:
        case ReleaseState.AWAITING_APPROVAL:
            return False  # waits for people, not for a timer
        case ReleaseState.VERIFYING:
            due = detail.get("bake_until")
        case ReleaseState.PAUSED:
            due = detail.get("pause_until")
            if due is None:
                return False
        case _:
            return True  # gating or rolling out with nobody holding the lease: pick it up
    return due is None or datetime.fromisoformat(str(due)) < now - OVERDUE


def register_jobs(ctx: AppContext) -> None:
    async def advance_job(release_id: int) -> None:
        kick(ctx, release_id)

    async def sweep_job() -> None:
        if await sweep(ctx):
            ctx.scheduler.schedule(SWEEP_JOB, ctx.clock.now() + SWEEP_EVERY, SWEEP_JOB)

    ctx.scheduler.register(rollout.ADVANCE_JOB, advance_job)
    ctx.scheduler.register(SWEEP_JOB, sweep_job)
    assert ctx.outbox is not None
    ctx.outbox.on_anchored(PREFIX, on_parent_posted)

    async def refused(owner: str, error: str, channel: str) -> None:
        await thread_refused(ctx, owner, error, channel)

    ctx.outbox.on_refused(PREFIX, refused)


async def plan_jobs(ctx: AppContext) -> None:
    """At start (or on taking leadership): every lease is from before; resume every unfinished release."""
    async with ctx.db.session() as session:
        # Under an election, only while this process leads: a deposed leader must not free leases.
        await session.exec(update(Release).where(col(Release.lease_until).is_not(None), ctx.leader.fence())
                           .values(lease_until=None))
        unfinished = (await session.exec(select(Release).where(
            col(Release.state).in_([s.value for s in IN_FLIGHT])).order_by(col(Release.id)))).all()
    for release in unfinished:
        kick(ctx, release.id or 0)
    if ctx.outbox is not None:
        ctx.outbox.wake()


__all__ = ["advance", "kick", "plan_jobs", "register_jobs", "start_next", "sweep"]
