"""Wiring the author loop into a running Switchman: the delivery job and what wakes it.

An outcome that records author notices flags its session (`notices.WAKE`); after its commit this
starts a delivery run at once (on the leader; a follower's scheduling is forwarded). A run that
leaves notices waiting (a 429's Retry-After, a backoff) schedules the next at the earliest one;
`plan_jobs` does the same from the table on start and on taking leadership.
"""

from __future__ import annotations

from typing import Any

from bot.authors import delivery, notices
from bot.context import AppContext
from bot.slack.people_lookup import SlackPeopleLookup

JOB = "author-dms"


def register_jobs(ctx: AppContext) -> None:
    lookup = SlackPeopleLookup(ctx.slack)

    async def deliver() -> None:
        while await delivery.deliver_due(ctx.db, ctx.config, lookup, ctx.clock) >= delivery.BATCH:
            pass  # a full batch: more may be due now
        await plan_jobs(ctx)

    def wake(info: dict[str, Any]) -> None:
        if info.pop(notices.WAKE, False):
            ctx.scheduler.schedule(JOB, ctx.clock.now(), JOB)

    ctx.scheduler.register(JOB, deliver)
    if not any(getattr(h, "__qualname__", "") == wake.__qualname__ for h in ctx.db.commit_hooks):
        ctx.db.commit_hooks.append(wake)


async def plan_jobs(ctx: AppContext) -> None:
    at = await delivery.next_due(ctx.db)
    if at is not None:
        ctx.scheduler.schedule(JOB, max(at, ctx.clock.now()), JOB)
