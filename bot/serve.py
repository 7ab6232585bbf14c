"""`switchman serve`: HTTP mode on --port, or Socket Mode when SLACK_APP_TOKEN is set (§10).

In Socket Mode the HTTP server still runs, for health checks, metrics and webhooks.
Before serving it refuses the shipped example config (unless `--example`) and checks the tokens
(`auth.test`; in Socket Mode also the app token) with `bot/slack/token_check.py`; on SIGTERM `/readyz`
turns 503 before anything stops.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

from bot.errors import SwitchmanError
from bot.leadership import start_leadership
from bot.runtime import build_context, close_context
from bot.settings import EXAMPLE_CONFIG, Settings
from bot.slack.app_factory import create_app, web_client
from bot.slack.token_check import APP_TOKEN, SlackProbe, require_token
from bot.web.server import Readiness, build_web_app, start_site

log = logging.getLogger(__name__)


def slack_mode(settings: Settings) -> str:
    """"socket" when an app-level token is set (Switchman dials Slack), else "http" (Slack calls /slack/events)."""
    return "socket" if settings.app_token is not None else "http"


def malformed_tokens(settings: Settings) -> list[str]:
    """What is wrong with the shape of the tokens, before Slack is asked (never quoting a token)."""
    problems = []
    if settings.app_token is not None and not settings.app_token.startswith("xapp-"):
        looks_like = " (it looks like a bot token)" if settings.app_token.startswith("xoxb-") else ""
        problems.append(f"SLACK_APP_TOKEN must be an app-level token starting xapp-{looks_like}: make one under "
                        "Basic Information → App-Level Tokens with the connections:write scope, or unset "
                        "SLACK_APP_TOKEN to serve over HTTP")
    return problems


def missing_secrets(settings: Settings) -> list[str]:
    missing = []
    if not settings.bot_token:
        missing.append("SLACK_BOT_TOKEN")
    if not settings.app_token and not settings.signing_secret:
        missing.append("SLACK_SIGNING_SECRET (or SLACK_APP_TOKEN for Socket Mode)")
    return missing


def refuse_fallback_example(settings: Settings, *, example: bool) -> None:
    """The shipped example runs on the sandbox provider: deploys would "succeed" against nothing."""
    if settings.config_is_fallback and not example:
        raise SwitchmanError(
            "no configuration: set SWITCHMAN_CONFIG=/path/to/switchman.yml or put a switchman.yml in the working "
            f"directory (check it with `switchman check-config PATH`); to serve the shipped example "
            f"({EXAMPLE_CONFIG}, sandbox provider: deploys go nowhere) run `switchman serve --example`")
    if settings.config_path.resolve() == EXAMPLE_CONFIG.resolve():
        log.warning("serving the shipped example configuration: deploys run on the sandbox provider")


async def check_slack_token(settings: Settings) -> None:
    """`auth.test` before serving: a refused token stops here (exit 2), an absent Slack after a while."""
    client = web_client(settings.bot_token, settings.slack_api_url)
    await require_token(client, wait_up_to=settings.slack_startup_wait)
    if settings.app_token is not None:  # Socket Mode would otherwise retry a refused app token forever
        app_client = web_client(settings.app_token, settings.slack_api_url)
        await require_token(app_client, wait_up_to=settings.slack_startup_wait, kind=APP_TOKEN)
    log.info("Slack accepted the tokens")


def freeze_startup_heap() -> None:
    """Leave what start-up built (config, modules, the app, about 190,000 objects) out of every later
    garbage collection: the full collections that scanned it each held the event loop for 50-60 ms, the
    ack latency tail under a burst (docs/benchmarks.md, decision 0010). What is built after this is
    collected as usual; what start-up built lives as long as the process anyway."""
    gc.collect()
    gc.freeze()


async def serve(settings: Settings, *, host: str, port: int, ready: asyncio.Event | None = None,
                example: bool = False) -> None:
    missing = missing_secrets(settings)
    if missing:
        raise SwitchmanError(f"switchman serve needs {', '.join(missing)} in the environment")
    malformed = malformed_tokens(settings)
    if malformed:
        raise SwitchmanError("; ".join(malformed))
    refuse_fallback_example(settings, example=example)
    await check_slack_token(settings)
    ctx = await build_context(settings)
    await start_leadership(ctx)
    bolt = create_app(ctx)
    socket_mode = slack_mode(settings) == "socket"
    readiness = Readiness(slack=SlackProbe(ctx.slack))
    web_app = build_web_app(ctx, None if socket_mode else bolt, ctx.metrics, readiness=readiness)
    runner, bound = await start_site(web_app, host, port)
    socket_handler = None
    if socket_mode:
        socket_handler = AsyncSocketModeHandler(bolt, settings.app_token)
        await socket_handler.connect_async()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    # Said only once SIGTERM is handled, so a supervisor that signals right after it still gets exit 0.
    freeze_startup_heap()
    log.info("serving", extra={"mode": "socket" if socket_mode else "http", "host": host, "port": bound})
    if ready is not None:
        ready.set()
    try:
        await stop.wait()
    finally:
        readiness.draining = True
        log.info("shutting down")
        if socket_handler is not None:
            await socket_handler.close_async()
        await runner.cleanup()
        await close_context(ctx)
        gc.unfreeze()  # back to the collector's care, for a caller that goes on (tests serve in-process)
