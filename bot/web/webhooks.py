"""Inbound page webhooks (§6) on the aiohttp app: `/webhooks/alertmanager` and `/webhooks/events`.

Authentication comes first and a failure stores nothing: Alertmanager sends the shared secret
`SWITCHMAN_WEBHOOK_SECRET` as `Authorization: Bearer …` (its `http_config.authorization`);
an event carries a rotation's `routing_key` as PagerDuty's own endpoint expects, so tools set
up for PagerDuty only change the URL. Secrets are compared in constant time and never logged.
Failed authentication is 401 (§6; PagerDuty itself answers 400 for a bad key), a malformed
body 400 with the reason. An accepted request answers once the pages are stored; Slack is told
in the background.
"""

from __future__ import annotations

import hmac
import logging

from aiohttp import web

from bot.context import AppContext
from bot.oncall.inbound import receive_alertmanager, receive_event
from bot.oncall.inbound_payloads import PayloadError, parse_alertmanager, parse_event, routing_key_of
from bot.structured_log import scrubber

log = logging.getLogger(__name__)
ALERTMANAGER_PATH = "/webhooks/alertmanager"
EVENTS_PATH = "/webhooks/events"


def add_routes(app: web.Application, ctx: AppContext) -> None:
    scrubber.register(key for rotation in ctx.config.rotations.values() for key in rotation.routing_keys)
    keys = [(key.encode(), name) for name, rotation in ctx.config.rotations.items() for key in rotation.routing_keys]

    async def alertmanager(request: web.Request) -> web.StreamResponse:
        secret = ctx.settings.webhook_secret
        if not secret:
            log.warning("alertmanager webhook refused: the endpoint is disabled until SWITCHMAN_WEBHOOK_SECRET is set")
            return _unauthorized("the Alertmanager webhook is disabled: no shared secret is configured")
        if not _bearer_matches(request.headers.get("Authorization", ""), secret):
            log.warning("alertmanager webhook refused: missing or wrong bearer token")
            return _unauthorized("missing or wrong bearer token")
        try:
            payload = parse_alertmanager(await request.read())
        except PayloadError as exc:
            return _bad_request(exc)
        receipt = await receive_alertmanager(ctx, payload)
        return web.json_response({"status": "success", **receipt.as_json()})

    async def events(request: web.Request) -> web.StreamResponse:
        try:
            body, key = routing_key_of(await request.read())
        except PayloadError as exc:
            return _bad_request(exc, status="invalid event")
        rotation = _rotation_for(keys, key)
        if rotation is None:
            log.warning("event refused: unknown routing key", extra={"routing_key": f"{key[:4]}…"})
            return web.json_response({"status": "unauthorized", "message": "invalid routing key",
                                      "errors": ["routing_key: no rotation has this routing key"]}, status=401)
        try:
            event = parse_event(body)
        except PayloadError as exc:
            return _bad_request(exc, status="invalid event")
        dedup_key, _ = await receive_event(ctx, event, rotation=rotation)
        return web.json_response({"status": "success", "message": "Event processed", "dedup_key": dedup_key},
                                 status=202)

    app.router.add_post(ALERTMANAGER_PATH, alertmanager)
    app.router.add_post(EVENTS_PATH, events)


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
