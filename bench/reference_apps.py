"""The reference servers Switchman is measured against (§11), each run as its own process.

    python -m bench.reference_apps raw          --port 0
    python -m bench.reference_apps bolt-default --port 0 --slack-api-url URL
    python -m bench.reference_apps bolt-inline  --port 0 --slack-api-url URL
    python -m bench.reference_apps fake-slack   --port 0 [--config SWITCHMAN_YML]

`raw` is a plain aiohttp handler that only checks the Slack signature and answers the reply.
`bolt-default` and `bolt-inline` are a bare async Bolt app with a `/deploy` listener that acks
with the reply and a button listener that acks, served by Bolt's own aiohttp server code; they
differ only in `process_before_response` (False: Bolt's default runner, which polls for the ack;
True: the listener runs inline, as in Switchman). Both use a Web API client pointed at the fake
Slack, with Switchman's bot token, so they run Bolt's full middleware chain exactly as Switchman
does (one `auth.test` on the first request, then cached) and reach no real Slack.
The listeners do no work beyond acking; Switchman's own parsing and reply-building is part of
what the benchmark measures. All three answer `/deploy help` with the same bytes as Switchman.
`fake-slack` is the simulated Slack Web API (bot.slack_sim) that the Bolt apps and Switchman call;
it also serves the `response_url` of the benchmark requests. Given Switchman's config, its workspace
holds what that config names (channels, people, user groups, as the console's), plus the benchmark's
people, the first `APPROVERS` of them in the approver groups.
The raw server also answers Alertmanager's webhook at `/webhooks/alertmanager`, checking only its
bearer token: the floor for Switchman's webhook route, which Bolt does not serve.

Each prints one JSON line `{"event": "serving", "port": N, ...}` on stderr once it listens, and
stops on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import json
import signal
import sys
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bench.slack_requests import (
    ALERT_PATH,
    APPROVERS,
    BOT_TOKEN,
    CHANNEL_ID,
    CLICK_ACTION_ID,
    CLICKERS,
    COMMAND,
    EVENTS_PATH,
    ONCALL_COMMAND,
    SIGNING_SECRET,
    USER_ID,
    WEBHOOK_SECRET,
    bench_user,
    command_reply,
    signature_is_valid,
)

KINDS = ("raw", "bolt-default", "bolt-inline", "fake-slack")


def raw_app(secret: str) -> web.Application:
    """Verify the signature, answer the reply: the floor any Slack app on aiohttp can reach."""
    reply = json.dumps(command_reply()).encode()
    expected_bearer = f"Bearer {WEBHOOK_SECRET}".encode()

    async def alertmanager(request: web.Request) -> web.Response:
        await request.read()
        if not hmac.compare_digest(request.headers.get("Authorization", "").encode(), expected_bearer):
            return web.json_response({"status": "unauthorized"}, status=401)
        return web.json_response({"status": "success"})

    async def slack_events(request: web.Request) -> web.Response:
        body = await request.read()
        if not signature_is_valid(secret, body, request.headers.get("X-Slack-Request-Timestamp", ""),
                                  request.headers.get("X-Slack-Signature", ""), now=time.time()):
            return web.Response(status=401, text="invalid signature")
        if body.startswith(b"payload="):  # an interaction: an empty ack, as Bolt gives
            return web.Response(status=200)
        return web.Response(status=200, body=reply, content_type="application/json")

    app = web.Application()
    app.router.add_post(EVENTS_PATH, slack_events)
    app.router.add_post(ALERT_PATH, alertmanager)
    return app


def bolt_app(secret: str, *, process_before_response: bool, slack_api_url: str) -> AsyncApp:
    """A bare async Bolt app: two command listeners and one button listener, each only acking."""
    reply: dict[str, Any] = command_reply()
    app = AsyncApp(
        client=AsyncWebClient(token=BOT_TOKEN, base_url=slack_api_url, timeout=10),
        signing_secret=secret,
        process_before_response=process_before_response,
    )

    @app.command(COMMAND)
    async def on_command(ack: AsyncAck) -> None:
        await ack(**reply)

    @app.command(ONCALL_COMMAND)
    async def on_oncall(ack: AsyncAck) -> None:
        await ack()

    @app.action(CLICK_ACTION_ID)
    async def on_click(ack: AsyncAck) -> None:
        await ack()

    return app


async def _serve(app: web.Application, host: str, port: int, extra: dict[str, Any]) -> None:
    runner = web.AppRunner(app, access_log=None)  # as Switchman: no per-request access log
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    sockets = getattr(site._server, "sockets", None) or []
    bound = sockets[0].getsockname()[1] if sockets else port
    print(json.dumps({"event": "serving", "port": bound, **extra}), file=sys.stderr, flush=True)
    await _wait_for_signal()
    await runner.cleanup()


async def _wait_for_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def _serve_fake_slack(host: str, port: int, config_path: str | None) -> None:
    from bot.config.loader import load_config
    from bot.slack_sim.seed import seed_workspace
    from bot.slack_sim.web_api import ResponseTarget, SlackWebApi
    from bot.slack_sim.workspace import Workspace

    workspace = Workspace()
    config = load_config(config_path) if config_path else None
    if config is not None:
        seed_workspace(workspace, config)
    # The people the benchmark's requests come from, so Switchman's after-ack work (users.info for a time
    # zone, say) finds them as it would on a real workspace.
    people = [bench_user(n) for n in range(CLICKERS)]
    for user in people:
        workspace.add_user(user, user.lower(), tz="Europe/Berlin")
    if config is not None:
        approver_groups = {g.group for service in config.services.values() for env in service.environments.values()
                           for g in env.gates if g.kind == "approval"}
        for handle in approver_groups:
            group = workspace.usergroup(handle)
            if group is not None:
                group.users.extend(people[:APPROVERS])
    api = SlackWebApi(workspace, token=BOT_TOKEN)
    base_url = await api.start(host, port)
    bound = urlsplit(base_url).port
    # One response_url for every benchmark request: what Switchman posts there after an ack lands.
    response_url = api.new_response_url(ResponseTarget(CHANNEL_ID, USER_ID))
    print(json.dumps({"event": "serving", "port": bound, "base_url": base_url, "response_url": response_url}),
          file=sys.stderr, flush=True)
    await _wait_for_signal()
    await api.stop()


async def run(kind: str, host: str, port: int, slack_api_url: str | None, config_path: str | None = None) -> None:
    if kind == "fake-slack":
        await _serve_fake_slack(host, port, config_path)
        return
    if kind == "raw":
        await _serve(raw_app(SIGNING_SECRET), host, port, {"kind": kind})
        return
    if not slack_api_url:
        raise SystemExit(f"{kind} needs --slack-api-url (the fake Slack Web API)")
    bolt = bolt_app(SIGNING_SECRET, process_before_response=kind == "bolt-inline", slack_api_url=slack_api_url)
    # Bolt's own aiohttp server code (AsyncSlackAppServer): to_bolt_request → async_dispatch → response.
    await _serve(bolt.web_app(path=EVENTS_PATH, port=port), host, port, {"kind": kind})


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.reference_apps", description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=KINDS)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--slack-api-url", help="base URL of the (fake) Slack Web API, for the Bolt apps")
    parser.add_argument("--config", help="Switchman's config, whose channels, people and groups fake-slack holds")
    args = parser.parse_args(argv)
    asyncio.run(run(args.kind, args.host, args.port, args.slack_api_url, args.config))
    return 0


if __name__ == "__main__":
    sys.exit(main())
