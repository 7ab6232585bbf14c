"""`switchman serve`: HTTP mode on --port, or Socket Mode when SLACK_APP_TOKEN is set (§10).

In Socket Mode the HTTP server still runs, for health checks, metrics and webhooks.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

from bot.errors import SwitchmanError
from bot.leadership import start_leadership
from bot.runtime import build_context, close_context
from bot.settings import Settings
from bot.slack.app_factory import create_app
from bot.web.server import build_web_app, start_site

log = logging.getLogger(__name__)


def missing_secrets(settings: Settings) -> list[str]:
    missing = []
    if not settings.bot_token:
        missing.append("SLACK_BOT_TOKEN")
    if not settings.app_token and not settings.signing_secret:
        missing.append("SLACK_SIGNING_SECRET (or SLACK_APP_TOKEN for Socket Mode)")
    return missing


async def serve(settings: Settings, *, host: str, port: int, ready: asyncio.Event | None = None) -> None:
    missing = missing_secrets(settings)
    if missing:
        raise SwitchmanError(f"switchman serve needs {', '.join(missing)} in the environment")
    ctx = await build_context(settings)
    await start_leadership(ctx)
    bolt = create_app(ctx)
    socket_mode = settings.app_token is not None
    web_app = build_web_app(ctx, None if socket_mode else bolt, ctx.metrics)
    runner, bound = await start_site(web_app, host, port)
    socket_handler = None
    if socket_mode:
        socket_handler = AsyncSocketModeHandler(bolt, settings.app_token)
        await socket_handler.connect_async()
    log.info("serving", extra={"mode": "socket" if socket_mode else "http", "host": host, "port": bound})
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if ready is not None:
        ready.set()
    try:
        await stop.wait()
    finally:
        log.info("shutting down")
        if socket_handler is not None:
            await socket_handler.close_async()
        await runner.cleanup()
        await close_context(ctx)
