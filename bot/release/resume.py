"""Releases survive restarts (§5): their jobs, and resuming every release left in flight.

On start (`plan_jobs`), each in-flight release continues from what its row says: a rollout
whose stage run was dispatched is watched again — never dispatched twice —, a bake is scheduled
for its recorded end (at once when that has passed), a pause keeps its deadline, and gating is
evaluated again (its earlier gate replies stay in the thread).
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, select

from bot.context import AppContext
from bot.release.flow import ReleaseFlow
from bot.release.models import Release, ReleaseState
from bot.release.rollout import BAKE_JOB, PAUSE_JOB, Rollout


def register_jobs(ctx: AppContext) -> None:
    async def bake_end(release_id: int, stage: int) -> None:
        await Rollout(ReleaseFlow(ctx)).bake_end(release_id, stage)

    async def pause_timeout(release_id: int, stage: int) -> None:
        await Rollout(ReleaseFlow(ctx)).pause_timeout(release_id, stage)

    ctx.scheduler.register(BAKE_JOB, bake_end)
    ctx.scheduler.register(PAUSE_JOB, pause_timeout)


async def plan_jobs(ctx: AppContext) -> None:
    async with ctx.db.session() as session:
        in_flight = (await session.exec(select(Release).where(
            col(Release.state).in_([ReleaseState.REQUESTED, ReleaseState.GATING, ReleaseState.ROLLING_OUT,
                                    ReleaseState.VERIFYING, ReleaseState.PAUSED])).order_by(col(Release.id)))).all()
    flow = ReleaseFlow(ctx)
    rollout = Rollout(flow)
    now = ctx.clock.now()
    for release in in_flight:
        release_id, detail = release.id or 0, release.detail or {}
        match release.state:
            case ReleaseState.REQUESTED | ReleaseState.GATING:
                ctx.background.spawn(flow.start(release_id), name=f"resume-gating-{release_id}")
            case ReleaseState.ROLLING_OUT:
                ctx.background.spawn(rollout.continue_from_current_stage(release_id),
                                     name=f"resume-rollout-{release_id}")
            case ReleaseState.VERIFYING:
                until = _instant(detail.get("bake_until")) or now
                rollout.schedule_bake_end(release_id, release.stage_index, max(until, now))
            case ReleaseState.PAUSED if detail.get("paused_for") == "inconclusive":
                until = _instant(detail.get("pause_until")) or now
                ctx.scheduler.schedule(f"release-pause-{release_id}", max(until, now), PAUSE_JOB,
                                       release_id=release_id, stage=release.stage_index)


def _instant(text: object) -> datetime | None:
    return datetime.fromisoformat(text) if isinstance(text, str) else None
