"""A paging test bed: a config with two rotations, webhook helpers and readers for DMs and pages."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import aiohttp
from sqlmodel import col, select

from bot.oncall.alert_models import Alert, PageNotification
from bot.oncall.models import Page
from bot.slack_sim.workspace import SimMessage
from tests.release.scenario import Scenario

SECRET = "whsec-" + "s3cr3t" * 6
API_KEY = "R0123456789abcdef0123456789abcdef"
WEB_KEY = "Rfedcba9876543210fedcba9876543210"
# Wednesday 11:00 in Berlin: inside everyone's business hours in Europe.
WEDNESDAY = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)
ENVIRON = {"SWITCHMAN_WEBHOOK_SECRET": SECRET}

PAGING_CONFIG = f"""
providers:
  sandbox: {{kind: sandbox}}
services:
  api:
    channel: "#api-releases"
    provider: sandbox
    runbook: https://wiki.example.com/runbooks/api
    rotation: api-oncall
    environments:
      staging: {{}}
  web:
    channel: "#web-releases"
    provider: sandbox
    environments:
      staging: {{}}
rotations:
  api-oncall:
    channel: "#api-oncall"
    timezone: Europe/Berlin
    handoff: {{every: week, day: monday, at: "10:00"}}
    primaries: [U01OPS1, U01OPS2]
    shadows: [U01DEV1, U01DEV2]
    shadow_hours: business
    escalation: {{ack_within: 5m, then: [U01LEAD, U01HEAD]}}
    services: [api]
    routing_keys: [{API_KEY}]
  web-oncall:
    channel: "#web-oncall"
    timezone: America/Chicago
    handoff: {{every: day, at: "09:00"}}
    primaries: [U01OPS3]
    shadows: [U01DEV3]
    services: [web]
    routing_keys: [{WEB_KEY}]
"""


def alertmanager_payload(*, status: str = "firing", fingerprint: str = "c0ffee0123456789",
                         labels: dict[str, str] | None = None, group_key: str = '{}:{alertname="HighErrorRate"}',
                         **extra: Any) -> dict[str, Any]:
    """A payload as Alertmanager's webhook (version 4) sends it, with one alert."""
    alert_labels = {"alertname": "HighErrorRate", "service": "api", "severity": "critical", **(labels or {})}
    return {
        "version": "4", "groupKey": group_key, "truncatedAlerts": 0, "status": status, "receiver": "switchman",
        "groupLabels": {"alertname": "HighErrorRate"}, "commonLabels": alert_labels,
        "commonAnnotations": {"summary": "5xx above 5% for 10m"},
        "externalURL": "http://alertmanager.example.com:9093",
        "alerts": [{
            "status": status, "labels": alert_labels,
            "annotations": {"summary": "5xx above 5% for 10m", "description": "api returns 5xx on /checkout"},
            "startsAt": "2026-11-18T09:55:00.123456789Z",
            "endsAt": "0001-01-01T00:00:00Z" if status == "firing" else "2026-11-18T10:20:00Z",
            "generatorURL": "http://prometheus.example.com:9090/graph?g0.expr=errors",
            "fingerprint": fingerprint,
        }],
        **extra,
    }


def pagerduty_event(action: str = "trigger", *, routing_key: str = API_KEY, dedup_key: str | None = "db-disk-full",
                    **extra: Any) -> dict[str, Any]:
    """An Events API v2 event, shaped as PagerDuty documents it."""
    event: dict[str, Any] = {"routing_key": routing_key, "event_action": action}
    if dedup_key is not None:
        event["dedup_key"] = dedup_key
    if action == "trigger":
        event.update({
            "payload": {"summary": "Disk on db-1 is 95% full", "source": "db-1.example.com", "severity": "error",
                        "component": "api", "group": "storage", "class": "disk",
                        "custom_details": {"free_bytes": 1024}, "timestamp": "2026-11-18T09:59:00+01:00"},
            "links": [{"href": "https://grafana.example.com/d/disk", "text": "Disk dashboard"}],
            "images": [{"src": "https://grafana.example.com/render/disk.png", "alt": "disk"}],
            "client": "Grafana", "client_url": "https://grafana.example.com",
        })
    event.update(extra)
    return event


def webhook_url(s: Scenario, path: str) -> str:
    return s.stack.app_url.replace("/slack/events", path)


async def post(s: Scenario, path: str, body: Any, *, headers: dict[str, str] | None = None,
               raw: bytes | None = None) -> tuple[int, Any]:
    """POST to a webhook of the running app; returns (status, JSON body) once background work settled."""
    data = raw if raw is not None else json.dumps(body).encode()
    async with aiohttp.ClientSession() as session, session.post(
            webhook_url(s, path), data=data, headers={"Content-Type": "application/json", **(headers or {})}) as resp:
        status, answer = resp.status, await resp.json(content_type=None)
    await s.stack.settle()
    return status, answer


async def get_metrics(s: Scenario) -> str:
    """The app's Prometheus exposition, as a scraper reads it."""
    async with aiohttp.ClientSession() as session, session.get(webhook_url(s, "/metrics")) as resp:
        return await resp.text()


def bearer(secret: str = SECRET) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def dms(s: Scenario, user: str) -> list[SimMessage]:
    """Messages the bot has in its DM with `user` (as they are now, after updates)."""
    ims = {c.id for c in s.stack.workspace.channels.values() if c.is_im and c.im_user == user}
    return sorted((m for m in s.stack.workspace.messages.values() if m.channel in ims), key=lambda m: m.ts)


def channel_messages(s: Scenario, name: str) -> list[SimMessage]:
    channel = s.stack.workspace.channel_by_name(name)
    assert channel is not None
    return sorted((m for m in s.stack.workspace.messages.values() if m.channel == channel.id), key=lambda m: m.ts)


def text_of(message: SimMessage) -> str:
    parts = [message.text]
    for block in message.blocks:
        if isinstance(block.get("text"), dict):
            parts.append(block["text"]["text"])
        parts += [f["text"] for f in block.get("fields", [])]
        parts += [e.get("text", "") for e in block.get("elements", []) if block.get("type") == "context"]
    return "\n".join(parts)


def buttons(message: SimMessage) -> list[str]:
    return [e["action_id"] for b in message.blocks if b.get("type") == "actions" for e in b.get("elements", [])]


async def pages(s: Scenario) -> list[Page]:
    async with s.stack.ctx.db.session() as session:
        return list((await session.exec(select(Page).order_by(col(Page.id)))).all())


async def alerts(s: Scenario) -> list[Alert]:
    async with s.stack.ctx.db.session() as session:
        return list((await session.exec(select(Alert))).all())


async def notifications(s: Scenario) -> list[PageNotification]:
    async with s.stack.ctx.db.session() as session:
        return list((await session.exec(select(PageNotification).order_by(col(PageNotification.id)))).all())


async def press(s: Scenario, user: str, message: SimMessage, action_id: str) -> None:
    for block in message.blocks:
        for element in block.get("elements", []):
            if element.get("action_id") == action_id:
                await s.stack.slack.block_action(user, message, action_id=action_id, block_id=block.get("block_id"),
                                                 value=element.get("value"))
                await s.stack.settle()
                return
    raise AssertionError(f"no {action_id} button on the message")
