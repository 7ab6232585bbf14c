"""Assembling a running Switchman: settings → config → migrated database → AppContext.

`serve` and `console` both start here, so they run the same code on the same schema.
"""

from __future__ import annotations

import asyncio
import logging

import aiohttp
import httpx
from prometheus_client import Gauge, Histogram

from bot.background import BackgroundTasks
from bot.clock import Clock, SystemClock
from bot.config.loader import load_config
from bot.context import AppContext
from bot.notify.channels import build_channels
from bot.outbox.pacing import Pacer
from bot.outbox.sender import OutboxSender
from bot.providers.registry import build_providers
from bot.scheduler import ApsScheduler, Scheduler
from bot.settings import Settings
from bot.simulated_time import SimulatedTime
from bot.slack.app_factory import web_client
from bot.slack.outbox_wire import SlackOutboxWire, outbox_client
from bot.storage.database import Database
from bot.storage.migrate import upgrade
from bot.web.metrics import Metrics

log = logging.getLogger(__name__)
LATENESS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


async def build_context(settings: Settings, *, migrate: bool = True, time: SimulatedTime | None = None
                        ) -> AppContext:
    """The process's context on real time, or on `time` when simulated (tests, `console --at`)."""
    config = load_config(settings.config_path)
    if migrate:
        # Alembic is synchronous; keep the event loop free while it runs.
        await asyncio.to_thread(upgrade, settings.database_url)
    db = Database(settings.database_url)
    slack = web_client(settings.bot_token, settings.slack_api_url)
    clock: Clock = time.clock if time else SystemClock()
    scheduler: Scheduler = time.scheduler if time else ApsScheduler()
    http = httpx.AsyncClient(follow_redirects=False)
    background = BackgroundTasks()
    sleep = time.sleep if time else asyncio.sleep
    outbox = OutboxSender(db, SlackOutboxWire(outbox_client(settings.bot_token, settings.slack_api_url,
                                                          timeout=max(int(settings.slack_timeout), 1))), clock,
                          sleep, lambda work, name: background.spawn(work, name=name),
                          pacer=Pacer(clock, ahead_of_slack=time is None), settle_after=settings.slack_timeout)
    db.commit_hooks.append(outbox.after_commit)
    log.info("switchman ready", extra={"config": str(settings.config_path), "database": db.dialect,
                                        "services": len(config.services), "rotations": len(config.rotations)})
    ctx = AppContext(settings=settings, config=config, db=db, slack=slack, clock=clock,
                     background=background, http=http, webhooks=aiohttp.ClientSession(),
                     providers=build_providers(config, settings, http, clock, sleep),
                     sleep=sleep, scheduler=scheduler, outbox=outbox,
                     contacts=build_channels(config, settings, http, clock=clock, sleep=sleep))
    watch_outbox(ctx.metrics, outbox)
    if isinstance(scheduler, ApsScheduler):
        watch_scheduler(ctx.metrics, scheduler)
    return ctx


def watch_outbox(metrics: Metrics, outbox: OutboxSender) -> None:
    """The outbox's depth (read from the database at each scrape) and Slack's 429s, on /metrics."""
    async def depth() -> None:
        metrics.outbox_depth.set(await outbox.depth())

    metrics.before_scrape(depth)
    metrics.count_from("switchman_slack_rate_limited", "Slack answers of 429 (rate limited) to the outbox.",
                       lambda: outbox.rate_limited)


def watch_scheduler(metrics: Metrics, scheduler: ApsScheduler) -> None:
    """How late timed jobs start (handoffs, escalations, bake ends), and how many wait, on /metrics."""
    lateness = Histogram(
        "switchman_scheduled_job_lateness_seconds", "From when a timed job was due to when it started.",
        buckets=LATENESS_BUCKETS, registry=metrics.registry)
    scheduler.lateness.observers.append(lateness.observe)
    largest = Gauge("switchman_scheduled_job_lateness_max_seconds",
                    "The latest any timed job started since this process started, in seconds.",
                    registry=metrics.registry)
    largest.set_function(lambda: scheduler.lateness.largest)
    waiting = Gauge("switchman_scheduled_jobs", "Timed jobs scheduled and not started yet.",
                    registry=metrics.registry)
    waiting.set_function(lambda: scheduler.waiting)


SHUTDOWN_GRACE_SECONDS = 10.0


async def close_context(ctx: AppContext) -> None:
    """Stop taking new jobs, let work in flight finish (within a grace period), then let go."""
    if ctx.leader.close is not None:
        await ctx.leader.close()  # hands leadership over to another replica
    await ctx.scheduler.shutdown()
    try:
        await ctx.background.drain(within=SHUTDOWN_GRACE_SECONDS)
    except TimeoutError:
        log.warning("shutting down with background work unfinished; it resumes on the next start",
                    extra={"pending": ctx.background.pending})
    await ctx.background.close()
    if ctx.http is not None:
        await ctx.http.aclose()
    if ctx.webhooks is not None:
        await ctx.webhooks.close()
    await ctx.db.dispose()
