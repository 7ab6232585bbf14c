"""The whole Switchman stack on loopback against a simulated Slack: used by the console and the tests.

Starts the fake Web API, builds the real AppContext and Bolt app with the fake's base URL,
and serves the real aiohttp application on a free port; `slack` then plays Slack's part.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace

from aiohttp import web
from slack_bolt.async_app import AsyncApp

from bot.context import AppContext
from bot.jobs import start_jobs
from bot.runtime import build_context, close_context
from bot.settings import Settings
from bot.simulated_time import SimulatedTime
from bot.slack.app_factory import create_app
from bot.slack_sim.failures import DEFAULT_RATE_LIMIT, RateLimit
from bot.slack_sim.interactions import SlackSide
from bot.slack_sim.seed import seed_workspace
from bot.slack_sim.web_api import ContractChecker, SlackWebApi
from bot.slack_sim.workspace import Workspace
from bot.structured_log import scrubber
from bot.web.server import SLACK_EVENTS_PATH, build_web_app, start_site

# chat.postMessage's per-channel rate limit in the simulated stack: on, as on real Slack, in every
# scenario; the outbox paces its posts and honours the 429s past it.
STACK_RATE_LIMIT: RateLimit | None = DEFAULT_RATE_LIMIT


@dataclass
class Stack:
    ctx: AppContext
    workspace: Workspace
    api: SlackWebApi
    slack: SlackSide
    app_url: str
    bolt: AsyncApp

    async def settle(self) -> None:
        """Wait until the work started by the last interaction has finished."""
        await self.ctx.background.drain()


@asynccontextmanager
async def simulated_stack(settings: Settings, *, checker: ContractChecker | None = None,
                          time: SimulatedTime | None = None, workspace: Workspace | None = None,
                          rate_limit: RateLimit | None = STACK_RATE_LIMIT) -> AsyncIterator[Stack]:
    bot_token = "xoxb-sim-" + secrets.token_hex(12)
    signing_secret = secrets.token_hex(16)
    scrubber.register([bot_token, signing_secret])
    workspace = workspace or Workspace()
    api = SlackWebApi(workspace, token=bot_token, checker=checker, clock=time.now if time else None,
                      rate_limit=rate_limit)
    base_url = await api.start()
    runner: web.AppRunner | None = None
    ctx: AppContext | None = None
    try:
        settings = replace(settings, bot_token=bot_token, signing_secret=signing_secret, slack_api_url=base_url,
                           app_token=None)
        ctx = await build_context(settings, time=time)
        seed_workspace(workspace, ctx.config)  # people exist before any job can message them
        await start_jobs(ctx)
        bolt = create_app(ctx)
        runner, port = await start_site(build_web_app(ctx, bolt, ctx.metrics), "127.0.0.1", 0)
        app_url = f"http://127.0.0.1:{port}{SLACK_EVENTS_PATH}"
        yield Stack(ctx, workspace, api, SlackSide(api, app_url, signing_secret), app_url, bolt)
    finally:
        if runner is not None:
            await runner.cleanup()
        if ctx is not None:
            await close_context(ctx)
        await api.stop()
