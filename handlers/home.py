"""App Home listener: publish the viewer's Home tab when they open it."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.context import AppContext
from bot.slack.clicks import USER_ID
from bot.slack.home_view import home_view
from bot.slack.ids import Event


def register(app: AsyncApp, ctx: AppContext) -> None:
    @app.event(Event.APP_HOME_OPENED)
    async def on_home_opened(event: dict[str, Any]) -> None:
        user = event.get("user")
        if event.get("tab", "home") != "home" or not isinstance(user, str) or USER_ID.fullmatch(user) is None:
            return  # another tab, or an event that names nobody: there is no Home to publish
        ctx.background.spawn(ctx.slack.views_publish(user_id=user, view=home_view(ctx.config, user)),
                             name="publish-home")
