"""The weekly release confidence review as a scheduled post, once per team channel and week.

One one-shot job per team (`weekly-review-{channel}`) waits for the review's next wall-clock
instant; when it fires it computes the week that ends at that instant (`bot.evidence.review`),
and, in one transaction, writes the `weekly_reviews` row keyed (channel, week end) and queues the
post in the outbox. A second run for the same week — a restart, a second replica, a job fired
twice — fails on the key and posts nothing. Each run plans the next week's; a run that fails (the
database away) tries again every `RETRY_AFTER` until `CATCH_UP` after the week's end. At start, a
review missed by less than `CATCH_UP` (Switchman was down at the time) is posted at once, late.
"""

from __future__ import annotations

import functools
import logging
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from bot.context import AppContext
from bot.evidence.review import Review, weekly_review
from bot.evidence.review_models import WeeklyReviewRun
from bot.evidence.review_schedule import ReviewTeam, occurrences_around, review_teams
from bot.evidence.windows import Target, operators, production_environment
from bot.outbox import queue as outbox
from bot.slack.review_blocks import review_message

log = logging.getLogger(__name__)
REVIEW_JOB = "evidence.weekly_review"
CATCH_UP = timedelta(hours=12)
RETRY_AFTER = timedelta(minutes=5)  # a run that failed (the database away) tries again, until CATCH_UP


def review_job_id(channel: str) -> str:
    return f"weekly-review-{channel}"


def register_jobs(ctx: AppContext) -> None:
    ctx.scheduler.register(REVIEW_JOB, functools.partial(run_review, ctx))


async def plan_jobs(ctx: AppContext) -> None:
    now = ctx.clock.now()
    for team in review_teams(ctx.config).values():
        try:
            await plan_team(ctx, team, now)
        except Exception:
            log.exception("could not plan a weekly review", extra={"channel": team.channel})


async def plan_team(ctx: AppContext, team: ReviewTeam, now: datetime) -> None:
    last, following = occurrences_around(team.review, now)
    if now - last <= CATCH_UP and not await posted(ctx, team.channel, last):
        _schedule(ctx, team.channel, at=now, week_end=last)
    else:
        _schedule(ctx, team.channel, at=following, week_end=following)


def _schedule(ctx: AppContext, channel: str, *, at: datetime, week_end: datetime) -> None:
    ctx.scheduler.schedule(review_job_id(channel), at, REVIEW_JOB, channel=channel, week_end=week_end.isoformat())


async def posted(ctx: AppContext, channel: str, week_end: datetime) -> bool:
    async with ctx.db.session() as session:
        return (await session.exec(select(WeeklyReviewRun.id).where(
            WeeklyReviewRun.channel == channel, WeeklyReviewRun.week_end == week_end))).first() is not None


async def run_review(ctx: AppContext, *, channel: str, week_end: str) -> None:
    """The job: post `channel`'s review of the week ending `week_end` (once), then plan the next."""
    team = review_teams(ctx.config).get(channel)
    if team is None:
        log.info("weekly review of a channel no longer configured", extra={"channel": channel})
        return
    end = datetime.fromisoformat(week_end)
    try:
        await post_review(ctx, team, end)
    except Exception:
        retry = ctx.clock.now() + RETRY_AFTER
        if retry - end <= CATCH_UP:
            log.exception("weekly review failed; trying again", extra={"channel": channel, "week_end": week_end})
            _schedule(ctx, channel, at=retry, week_end=end)
            return
        log.exception("weekly review failed; giving up on this week", extra={"channel": channel,
                                                                              "week_end": week_end})
    _, following = occurrences_around(team.review, max(end, ctx.clock.now()))
    _schedule(ctx, channel, at=following, week_end=following)


async def post_review(ctx: AppContext, team: ReviewTeam, week_end: datetime) -> bool:
    """Queue the review of the week ending `week_end`; False when it was already posted."""
    if await posted(ctx, team.channel, week_end):
        return False
    targets = tuple(Target(name, production_environment(ctx.config, name)) for name in team.services)
    async with ctx.db.session() as session:
        review = await weekly_review(session, targets=targets, week_end=week_end, operators=operators(ctx.config))
    now = ctx.clock.now()
    try:
        async with ctx.db.session() as session:
            session.add(WeeklyReviewRun(channel=team.channel, week_end=week_end, services=list(team.services),
                                        figures=_figures(review), posted_at=now))
            await session.flush()  # the (channel, week_end) key: a second poster stops here
            outbox.post(session, thread=f"review:{team.channel}", channel=team.channel,
                        message=review_message(review, services=team.services), now=now)
    except IntegrityError:
        log.info("weekly review already posted", extra={"channel": team.channel, "week_end": week_end.isoformat()})
        return False
    log.info("weekly review queued", extra={"channel": team.channel, "week_end": week_end.isoformat()})
    return True


def _figures(review: Review) -> dict[str, object]:
    week = review.week
    return {"releases": week.releases, "succeeded": week.succeeded, "failed_changes": week.failed_changes,
            "rollbacks": week.rollbacks, "near_misses": week.near_misses.total, "paused": week.near_misses.paused,
            "inconclusive": week.near_misses.inconclusive, "overridden": week.near_misses.overridden,
            "special_handling": week.special_handling, "top_deployer_share": week.top_deployer_share,
            "top_approver_share": week.top_approver_share}
