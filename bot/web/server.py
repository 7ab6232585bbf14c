"""The aiohttp application of `switchman serve` (and of the console, which uses it on loopback).

Routes: `/slack/events` (HTTP mode only), `/healthz` (the process answers), `/readyz` (the
database and Slack answer, and the process is not shutting down), `/metrics` (Prometheus text
format), `/webhooks/alertmanager`, the Events API v2 at `/webhooks/events`, `/v2/enqueue`
and `/webhooks/events/v2/enqueue`, and
`/webhooks/heartbeat/NAME/SECRET` (inbound pages, `webhooks.py`), `/calendar/ROTATION/SECRET.ics`
(`calendar_feed.py`). Requests to `/slack/events` are checked strictly first
(`slack_request_check.py`: 401 for a missing, malformed, stale or wrong signature, 400 for a signed
body Slack would not send); Bolt then dispatches the body that check parsed, without verifying or
parsing it again (`verified_request.py`). The read-only web release log is under `/log/` (`log_pages.py`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web
from aiohttp.typedefs import Middleware
from prometheus_client import Counter
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest

from bot.context import AppContext
from bot.slack.token_check import SlackProbe, SlackState
from bot.web import calendar_feed, log_pages, webhooks
from bot.web.metrics import CONTENT_TYPE, Metrics
from bot.web.slack_request_check import Refusal, check_slack_request
from bot.web.verified_request import VerifiedBoltRequest

log = logging.getLogger(__name__)
SLACK_EVENTS_PATH = "/slack/events"
READY_CHECK_SECONDS = 5.0  # a database slower than this to answer `SELECT 1` counts as unreachable

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Readiness:
    """What `/readyz` checks beyond the database: Slack (when a probe is given) and shutting down."""

    slack: SlackProbe | None = None
    draining: bool = False  # set on SIGTERM, before anything stops, so the load balancer looks elsewhere


def build_web_app(ctx: AppContext, bolt: AsyncApp | None, metrics: Metrics, *,
                  readiness: Readiness | None = None) -> web.Application:
    """`bolt` is None in Socket Mode: Slack then reaches us over the socket, not over HTTP."""
    app = web.Application(middlewares=[_count_requests(metrics)])
    ready = readiness or Readiness()

    async def slack_events(request: web.Request) -> web.StreamResponse:
        assert bolt is not None
        started = time.perf_counter()
        checked = check_slack_request(request.headers, await request.read(), request.content_type,
                                      signing_secret=ctx.settings.signing_secret)
        if isinstance(checked, Refusal):
            log.warning("refused a request to /slack/events", extra={"status": checked.status,
                                                                     "reason": checked.reason})
            return web.json_response({"ok": False, "error": checked.reason}, status=checked.status)
        bolt_request = (AsyncBoltRequest(body=checked.text, query=request.query_string, headers=dict(request.headers))
                        if checked.body is None  # Slack's unsigned ssl_check probe: Bolt answers it itself
                        else VerifiedBoltRequest(raw_body=checked.text, body=checked.body, query=request.query_string,
                                                 headers=request.headers))
        bolt_response = await bolt.async_dispatch(bolt_request)
        response = await to_aiohttp_response(bolt_response)
        metrics.slack_ack_seconds.observe(time.perf_counter() - started)
        return response

    async def healthz(_: web.Request) -> web.StreamResponse:
        return web.json_response({"status": "ok"})

    async def database_state() -> str:
        try:
            await asyncio.wait_for(ctx.db.ping(), READY_CHECK_SECONDS)
        except Exception as exc:
            log.warning("not ready: database does not answer", extra={"error": type(exc).__name__})
            return "unreachable"
        return "ok"

    async def slack_state() -> str | None:
        return (await ready.slack.check()).state.value if ready.slack is not None else None

    async def readyz(_: web.Request) -> web.StreamResponse:
        database, slack = await asyncio.gather(database_state(), slack_state())
        body = {"status": "ok", "database": database}
        if slack is not None:
            body["slack"] = slack
        if ready.draining:
            body["status"] = "shutting down"
        elif body["database"] != "ok" or body.get("slack", SlackState.OK.value) != SlackState.OK.value:
            body["status"] = "unavailable"
        return web.json_response(body, status=200 if body["status"] == "ok" else 503)

    async def metrics_endpoint(_: web.Request) -> web.StreamResponse:
        await metrics.refresh()
        return web.Response(body=metrics.render(), headers={"Content-Type": CONTENT_TYPE})

    if bolt is not None:
        app.router.add_post(SLACK_EVENTS_PATH, slack_events)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_endpoint)
    calendar_feed.add_routes(app, ctx)
    webhooks.add_routes(app, ctx, metrics)
    log_pages.add_routes(app, ctx)  # the read-only web release log under /log/
    return app


def _count_requests(metrics: Metrics) -> Middleware:
    # The counter for each (route, status) seen, looked up once: `labels()` takes a lock and builds a key per call.
    counters: dict[tuple[str, int], Counter] = {}

    def count(route: str, status: int) -> None:
        counter = counters.get((route, status))
        if counter is None:
            counter = counters[(route, status)] = metrics.http_requests.labels(route, str(status))
        counter.inc()

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        route = request.match_info.route.resource.canonical if request.match_info.route.resource else "unmatched"
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            count(route, exc.status)
            raise
        count(route, response.status)
        return response

    return middleware


async def start_site(app: web.Application, host: str, port: int) -> tuple[web.AppRunner, int]:
    """Start serving; returns the runner and the bound port (useful when port is 0)."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    server = site._server
    sockets = getattr(server, "sockets", None) or []
    bound = sockets[0].getsockname()[1] if sockets else port
    return runner, bound
