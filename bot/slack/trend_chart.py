"""The 12-week trend chart of some services' production, drawn and uploaded through `ChartUploads`.

Shared by the Home tab and `/deploy metrics`: the figures come from `bot.evidence.trend`, the
picture from `bot.evidence.chart` (drawn in a worker thread, off the event loop).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from bot.context import AppContext
from bot.evidence.chart import render_trend
from bot.evidence.trend import TREND_WEEKS, trend_for
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
    alt = (f"Four charts, one point per week for the {TREND_WEEKS} weeks to {end:%Y-%m-%d}, for {scope} in "
           "production: successful deploys per week, median lead time in hours, change failure rate in percent "
           "and median time to restore in hours.")

    async def render() -> bytes:
        trend = await trend_for(ctx.db, targets, end=end)
        return await asyncio.to_thread(render_trend, trend, title=title)

    return await uploads.chart(key, render, filename=FILENAME, title=title, alt_text=alt)
