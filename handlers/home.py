"""App Home listener: publish the viewer's Home tab when they open it."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.context import AppContext
from bot.slack.chart_upload import ChartUploads
from bot.slack.clicks import USER_ID
from bot.slack.home_tab import publish_home
from bot.slack.ids import Event


def register(app: AsyncApp, ctx: AppContext) -> None:
    charts = ChartUploads(ctx.slack, ctx.http, ctx.clock)  # one per process: the cache of uploaded charts

    @app.event(Event.APP_HOME_OPENED)
    async def on_home_opened(event: dict[str, Any]) -> None:
        user = event.get("user")
        if event.get("tab", "home") != "home" or not isinstance(user, str) or USER_ID.fullmatch(user) is None:
            return  # another tab, or an event that names nobody: there is no Home to publish
        ctx.background.spawn(publish_home(ctx, charts, user), name="publish-home")
