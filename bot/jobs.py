"""Every kind of timed job Switchman runs, registered with the scheduler and planned at start.

Each module listed in `JOB_MODULES` offers `register_jobs(ctx)` (name → job function) and
`async plan_jobs(ctx)` (schedule what the database says is due: the next handoff of each
rotation, the escalation of each open page, the end of each bake, each team's weekly review).
Planning is idempotent, so a restart, or a second replica taking over, re-plans without doing anything twice.
"""

from __future__ import annotations

from types import ModuleType

from bot.context import AppContext
from bot.oncall import escalation, handoffs, heartbeats
from bot.release import approval_timeout, engine
from bot.slack import author_dms, review_post

JOB_MODULES: list[ModuleType] = [engine, handoffs, escalation, heartbeats, review_post, approval_timeout, author_dms]
# Releases are resumed last: each resumed release steps in the background at once, and would otherwise
# compete for the event loop and the database with the planning of every rotation's handoff.
PLAN_ORDER: list[ModuleType] = [*(m for m in JOB_MODULES if m is not engine), engine]


async def start_jobs(ctx: AppContext) -> None:
    register_jobs(ctx)
    await plan_jobs(ctx)
    await ctx.scheduler.start()


def register_jobs(ctx: AppContext) -> None:
    for module in JOB_MODULES:
        module.register_jobs(ctx)


async def plan_jobs(ctx: AppContext) -> None:
    """Schedule everything the database says is due, and resume unfinished work (start, or a takeover)."""
    for module in PLAN_ORDER:
        await module.plan_jobs(ctx)
