"""Inbound page webhooks (§6) on the aiohttp app.

Routes: `/webhooks/alertmanager` (Alertmanager's webhook v4), and the PagerDuty Events API v2
at `/webhooks/events`, `/v2/enqueue` and `/webhooks/events/v2/enqueue` — so pdpyras, Alertmanager's
`pagerduty_configs` and Grafana's PagerDuty contact point work by changing only their base URL;
and heartbeat pings at `/webhooks/heartbeat/NAME/SECRET` (`heartbeats.py`).

Authentication comes first and a failure stores nothing: Alertmanager sends the shared secret
`SWITCHMAN_WEBHOOK_SECRET` as `Authorization: Bearer …` (its `http_config.authorization`), a
refusal is 401. An event carries a rotation's `routing_key` in its body; an unknown key fails
authentication too, so it is 401 as §6 says (PagerDuty answers 400 there), in PagerDuty's body shape
`{status, message, errors[]}`; its clients treat any 4xx as "do not retry". Secrets are compared in
constant time and never logged.
A malformed body is 400 with the reason. An accepted request answers once its state is stored;
Slack is told in the background. Every delivery and refusal is counted (`metrics.py`).
"""

from __future__ import annotations

import hmac
import logging

from aiohttp import web

from bot.context import AppContext
from bot.oncall.heartbeats import find as find_heartbeat
from bot.oncall.heartbeats import ping_by_secret
from bot.oncall.inbound import receive_alertmanager, receive_event
from bot.oncall.inbound_payloads import PayloadError, parse_alertmanager, parse_event, routing_key_of
from bot.structured_log import scrubber
from bot.web.metrics import Metrics

log = logging.getLogger(__name__)
ALERTMANAGER_PATH = "/webhooks/alertmanager"
EVENTS_PATHS = ("/webhooks/events", "/v2/enqueue", "/webhooks/events/v2/enqueue")
HEARTBEAT_PATH = "/webhooks/heartbeat/{name}/{secret}"
ALERTMANAGER, EVENTS, HEARTBEAT = "alertmanager", "events", "heartbeat"
INVALID_EVENT = "invalid event"


def add_routes(app: web.Application, ctx: AppContext, metrics: Metrics) -> None:
    scrubber.register(key for rotation in ctx.config.rotations.values() for key in rotation.routing_keys)
    for rotation in ctx.config.rotations.values():
        for beat in rotation.heartbeats.values():
            if beat.secret_env:
                ctx.settings.secret(beat.secret_env)  # registers the secret with the log scrubber
    keys = [(key.encode(), name) for name, rotation in ctx.config.rotations.items() for key in rotation.routing_keys]

    def rejected(source: str, reason: str) -> None:
        metrics.webhooks_rejected.labels(source, reason).inc()

    async def alertmanager(request: web.Request) -> web.StreamResponse:
        metrics.webhooks_received.labels(ALERTMANAGER).inc()
        secret = ctx.settings.webhook_secret
        if not secret:
            log.warning("alertmanager webhook refused: the endpoint is disabled until SWITCHMAN_WEBHOOK_SECRET is set")
            rejected(ALERTMANAGER, "disabled")
            return _unauthorized("the Alertmanager webhook is disabled: no shared secret is configured")
        if not _bearer_matches(request.headers.get("Authorization", ""), secret):
            log.warning("alertmanager webhook refused: missing or wrong bearer token")
            rejected(ALERTMANAGER, "unauthorized")
            return _unauthorized("missing or wrong bearer token")
        try:
            payload = parse_alertmanager(await request.read())
        except PayloadError as exc:
            rejected(ALERTMANAGER, "malformed")
            return _bad_request(exc)
        receipt = await receive_alertmanager(ctx, payload)
        metrics.alerts_unrouted.inc(len(receipt.unrouted))
        return web.json_response({"status": "success", **receipt.as_json()})

    async def events(request: web.Request) -> web.StreamResponse:
        metrics.webhooks_received.labels(EVENTS).inc()
        try:
            body, key = routing_key_of(await request.read())
        except PayloadError as exc:
            rejected(EVENTS, "malformed")
            return _bad_request(exc, status=INVALID_EVENT)
        rotation = _rotation_for(keys, key)
        if rotation is None:
            log.warning("event refused: unknown routing key", extra={"routing_key": f"{key[:4]}…"})
            rejected(EVENTS, "routing_key")
            return web.json_response({"status": "unauthorized", "message": "Event object is invalid",
                                      "errors": ["Invalid routing key"]}, status=401)
        try:
            event = parse_event(body)
        except PayloadError as exc:
            rejected(EVENTS, "malformed")
            return _bad_request(exc, status=INVALID_EVENT)
        dedup_key, _ = await receive_event(ctx, event, rotation=rotation)
        return web.json_response({"status": "success", "message": "Event processed", "dedup_key": dedup_key},
                                 status=202)

    async def heartbeat(request: web.Request) -> web.StreamResponse:
        metrics.webhooks_received.labels(HEARTBEAT).inc()
        name = request.match_info["name"]
        if not await ping_by_secret(ctx, name=name, secret=request.match_info["secret"]):
            # The name is logged only when it is one: a secret pasted in its place must not reach the log.
            known = name if find_heartbeat(ctx, name) is not None else "(not a heartbeat)"
            log.warning("heartbeat refused: unknown heartbeat or wrong secret", extra={"heartbeat": known})
            rejected(HEARTBEAT, "unauthorized")
            return web.json_response({"status": "unauthorized", "message": "unknown heartbeat or wrong secret "
                                      "(POST /webhooks/heartbeat/NAME/SECRET, the secret from its secret_env)"},
                                     status=401)
        return web.json_response({"status": "success", "heartbeat": name})

    app.router.add_post(ALERTMANAGER_PATH, alertmanager)
    app.router.add_post(HEARTBEAT_PATH, heartbeat)
    for path in EVENTS_PATHS:
        app.router.add_post(path, events)


def _bearer_matches(header: str, secret: str) -> bool:
    scheme, _, token = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), secret.encode())


def _rotation_for(keys: list[tuple[bytes, str]], key: str) -> str | None:
    found = None
    given = key.encode()
    for candidate, rotation in keys:  # look at every key, so timing does not tell how much matched
        if hmac.compare_digest(given, candidate):
            found = rotation
    return found


def _unauthorized(message: str) -> web.Response:
    return web.json_response({"status": "unauthorized", "message": message}, status=401,
                             headers={"WWW-Authenticate": 'Bearer realm="switchman"'})


def _bad_request(exc: PayloadError, *, status: str = "invalid payload") -> web.Response:
    return web.json_response({"status": status, "message": exc.reason, "reason": exc.reason,
                              "errors": exc.errors}, status=400)
