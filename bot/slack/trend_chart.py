"""The 12-week trend chart of some services' production, drawn and uploaded through `ChartUploads`.

Shared by the Home tab and `/deploy metrics`: the figures come from `bot.evidence.trend`, the
picture from `bot.evidence.chart` (drawn in a worker thread, off the event loop).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from bot.context import AppContext
from bot.evidence.chart import render_trend
from bot.evidence.trend import TREND_WEEKS, Trend, trend_for
from bot.evidence.windows import Target, production_environment
from bot.slack.chart_upload import Chart, ChartUploads

FILENAME = "switchman-delivery-trend.png"


def scope_label(services: Sequence[str], *, every: bool = False) -> str:
    if every or not services:
        return "every service"
    names = ", ".join(services)
    return names if len(names) <= 80 else f"{len(services)} services"


async def trend_chart(ctx: AppContext, uploads: ChartUploads, *, key: str, services: Sequence[str],
                      every: bool = False) -> Chart:
    """The chart of `services` (production environments), uploaded at most once per `uploads.fresh_for`."""
    targets = tuple(Target(name, production_environment(ctx.config, name)) for name in services)
    scope = scope_label(services, every=every)
    end = ctx.clock.now()
    title = f"Delivery of {scope} in production, {TREND_WEEKS} weeks to {end:%Y-%m-%d}"

    async def render() -> tuple[bytes, str]:
        trend = await trend_for(ctx.db, targets, end=end)
        return await asyncio.to_thread(render_trend, trend, title=title), alt_text(trend, scope)

    return await uploads.chart(key, render, filename=FILENAME, title=title)


def alt_text(trend: Trend, scope: str) -> str:
    """What the picture shows, for people who cannot see it: the series and the latest week's values."""
    last = trend.weeks[-1]

    def hours(value: float | None) -> str:
        return "no data" if value is None else f"{value:.1f} h"

    rate = "no data" if last.change_failure_rate is None else f"{last.change_failure_rate:.0%}"
    return (f"Four charts of {scope} in production, one point per week for {len(trend.weeks)} weeks: successful "
            f"deploys per week, median lead time, change failure rate and median time to restore. Latest week: "
            f"{last.deploys_per_week:.0f} deploys, lead time {hours(last.lead_time_hours)}, change failure rate "
            f"{rate}, time to restore {hours(last.time_to_restore_hours)}.")
