"""Publishing a viewer's Home tab: gather the facts, get the trend chart, `views.publish`.

The chart is optional: when it cannot be drawn or uploaded (Slack refuses, rate-limits, is away),
the tab is published without it and says why. When Slack refuses the view because of the image
(`invalid_blocks`: the file is not ready yet, say), it is published again without the image. When
`views.publish` itself fails (429, 5xx), the tab keeps what it showed until the next opening.
"""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError

from bot.context import AppContext
from bot.home.overview import overview
from bot.slack.chart_upload import Chart, ChartUnavailable, ChartUploads
from bot.slack.home_view import home_view
from bot.slack.trend_chart import trend_chart

log = logging.getLogger(__name__)


async def publish_home(ctx: AppContext, uploads: ChartUploads, viewer: str) -> None:
    facts = await overview(ctx, viewer)
    chart: Chart | None = None
    missing = None
    if facts.services:
        try:
            chart = await trend_chart(ctx, uploads, key=f"home:{viewer}", services=facts.services,
                                      every=facts.all_services)
        except ChartUnavailable as exc:
            missing = exc.reason
    else:
        missing = "no services are configured"
    try:
        try:
            await ctx.slack.views_publish(user_id=viewer, view=home_view(ctx.config, facts, chart=chart,
                                                                         chart_missing=missing))
        except SlackApiError as exc:
            if chart is None or exc.response.get("error") != "invalid_blocks":
                raise
            log.warning("Slack refused the Home tab's chart; publishing without it", extra={"user": viewer})
            await ctx.slack.views_publish(user_id=viewer, view=home_view(
                ctx.config, facts, chart_missing="Slack would not show the uploaded picture yet"))
    except SlackApiError as exc:
        # Nothing is lost: the tab keeps what it showed, and the next opening publishes it again.
        log.warning("could not publish the Home tab", extra={"user": viewer, "error": exc.response.get("error"),
                                                             "status": exc.response.status_code})
