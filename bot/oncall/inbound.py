"""Inbound pages (§6): what an Alertmanager notification or a PagerDuty-style event does.

Alertmanager: every alert is stored (upsert by fingerprint). In each rotation its alerts route
to, a group (`groupKey`) has one page listing its alerts (`alert_groups.py`), updated as alerts
join or resolve and resolved with the last of them; with `group_pages: false` each firing alert
opens its own page, deduplicated by `groupKey` + `fingerprint` (Alertmanager repeats firing
alerts every `repeat_interval`), and its resolution resolves it.
Events API v2: the routing key names the rotation; `trigger` opens a page deduplicated by
`dedup_key` (one is generated when absent), `acknowledge` and `resolve` act on the open page
with that key. Both only touch the database here; Slack is told in the background.
An alert no rotation claims pages `fallback_rotation`, else is posted in `unrouted_channel`
(`unrouted.py`); a rotation's heartbeat alert (`Watchdog`) pings its heartbeat instead of
paging (`heartbeats.py`). The receipt says where each alert went.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass, field
from typing import Any

from bot.context import AppContext
from bot.oncall import alert_groups, heartbeats, paging
from bot.oncall.alerts import store_alert
from bot.oncall.inbound_payloads import AlertmanagerAlert, AlertmanagerPayload, PagerDutyEvent
from bot.oncall.page_routing import known_service, rotations_for_alert, service_for_event
from bot.oncall.unrouted import tell_unrouted

log = logging.getLogger(__name__)
ALERTMANAGER = "alertmanager"
EVENTS = "events"
MAX_KEY = 255


@dataclass
class Receipt:
    """What one delivery did, for the webhook's answer and the log."""

    opened: list[int] = field(default_factory=list)
    duplicates: list[int] = field(default_factory=list)
    acknowledged: list[int] = field(default_factory=list)
    resolved: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)  # group pages whose alerts changed
    unrouted: list[str] = field(default_factory=list)  # fingerprints no rotation claims
    # Where each alert went: "rotation:NAME", "fallback_rotation:NAME", "unrouted_channel:#chan" or "nowhere".
    routes: dict[str, list[str]] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"opened": self.opened, "duplicates": self.duplicates, "acknowledged": self.acknowledged,
                "resolved": self.resolved, "updated": self.updated, "unrouted": self.unrouted, "routes": self.routes}


def alert_dedup_key(group_key: str, fingerprint: str) -> str:
    key = f"{group_key}:{fingerprint}"
    return key if len(key) <= MAX_KEY else "sha256:" + hashlib.sha256(key.encode()).hexdigest()


async def receive_alertmanager(ctx: AppContext, payload: AlertmanagerPayload) -> Receipt:
    receipt = Receipt()
    now = ctx.clock.now()
    async with ctx.db.session() as session:
        for alert in payload.alerts:
            await store_alert(session, alert, group_key=payload.group_key, received_at=now)
    grouped: dict[str, list[AlertmanagerAlert]] = {}
    for alert in payload.alerts:
        if await _heartbeat(ctx, alert, receipt):
            continue
        for rotation in await _route(ctx, payload, alert, receipt):
            if ctx.config.rotations[rotation].group_pages:
                grouped.setdefault(rotation, []).append(alert)
            else:
                await _page_per_alert(ctx, payload, alert, rotation, receipt)
    for rotation, alerts in grouped.items():
        await _page_per_group(ctx, payload, alerts, rotation, receipt)
    log.info("alertmanager notification received", extra={"alerts": len(payload.alerts), **receipt.as_json()})
    return receipt


async def _page_per_alert(ctx: AppContext, payload: AlertmanagerPayload, alert: AlertmanagerAlert, rotation: str,
                          receipt: Receipt) -> None:
    """`group_pages: false`: one page per alert, deduplicated by groupKey + fingerprint."""
    key = alert_dedup_key(payload.group_key, alert.fingerprint)
    if alert.status == "resolved":
        async with ctx.db.session() as session:
            page = await paging.open_page_with_key(session, rotation=rotation, dedup_key=key)
        if page is not None and page.id is not None:
            await paging.resolve(ctx, page.id, ALERTMANAGER, system=True)
            receipt.resolved.append(page.id)
        return
    outcome = await paging.open_page(
        ctx, rotation=rotation, source=ALERTMANAGER, dedup_key=key, title=_alert_title(alert),
        details=_alert_details(payload, alert), service=known_service(ctx.config, alert.labels.get("service")))
    assert outcome.page.id is not None
    (receipt.duplicates if outcome.duplicate else receipt.opened).append(outcome.page.id)


async def _page_per_group(ctx: AppContext, payload: AlertmanagerPayload, alerts: list[AlertmanagerAlert],
                          rotation: str, receipt: Receipt) -> None:
    entries = {a.fingerprint: alert_groups.alert_entry(a, _alert_title(a)) for a in alerts}
    first = next((a for a in alerts if a.status == "firing"), alerts[0])
    services = {a.labels.get("service") for a in alerts}
    service = known_service(ctx.config, services.pop()) if len(services) == 1 else None
    outcome = await alert_groups.apply(ctx, rotation=rotation, payload=payload, entries=entries,
                                       details=_alert_details(payload, first), service=service)
    if outcome.page_id is None:
        return
    lists = {"opened": receipt.opened, "updated": receipt.updated, "resolved": receipt.resolved,
             "duplicate": receipt.duplicates}
    lists[outcome.action].append(outcome.page_id)


async def _heartbeat(ctx: AppContext, alert: AlertmanagerAlert, receipt: Receipt) -> bool:
    """A rotation's heartbeat alert (e.g. the always-firing `Watchdog`) pings it and pages nobody."""
    pairs = heartbeats.for_alert(ctx, rotations_for_alert(ctx.config, alert.labels), alert.labels.get("alertname"))
    if not pairs:
        return False
    receipt.routes[alert.fingerprint] = [f"heartbeat:{rotation}/{name}" for rotation, name in pairs]
    if alert.status == "firing":  # a resolved Watchdog means silence: the overdue check will page
        for rotation, name in pairs:
            page_id = await heartbeats.ping(ctx, rotation=rotation, name=name)
            if page_id is not None:
                receipt.resolved.append(page_id)
    return True


async def _route(ctx: AppContext, payload: AlertmanagerPayload, alert: AlertmanagerAlert, receipt: Receipt
                 ) -> list[str]:
    """The rotations the alert pages; one no rotation claims goes to the fallback rotation or the unrouted channel."""
    claimed = rotations_for_alert(ctx.config, alert.labels)
    if claimed:
        receipt.routes[alert.fingerprint] = [f"rotation:{r}" for r in claimed]
        return claimed
    receipt.unrouted.append(alert.fingerprint)
    fallback = ctx.config.fallback_rotation
    if fallback is not None:
        if alert.status == "firing":
            log.warning("alert matches no rotation; paging the fallback rotation",
                        extra={"fingerprint": alert.fingerprint, "rotation": fallback})
        receipt.routes[alert.fingerprint] = [f"fallback_rotation:{fallback}"]
        return [fallback]
    went = await tell_unrouted(ctx, group_key=payload.group_key, alert=alert, title=_alert_title(alert),
                               links=_alert_details(payload, alert)["links"])
    receipt.routes[alert.fingerprint] = [went]
    return []


async def receive_event(ctx: AppContext, event: PagerDutyEvent, *, rotation: str) -> tuple[str, Receipt]:
    """Act on one event for `rotation`; returns the dedup key to answer with."""
    receipt = Receipt()
    if event.event_action == "trigger":
        assert event.payload is not None
        key = event.dedup_key or secrets.token_hex(16)
        outcome = await paging.open_page(
            ctx, rotation=rotation, source=EVENTS, dedup_key=key, title=event.payload.summary,
            details=_event_details(event), service=service_for_event(ctx.config, rotation, event.payload.component))
        assert outcome.page.id is not None
        (receipt.duplicates if outcome.duplicate else receipt.opened).append(outcome.page.id)
        return key, receipt
    assert event.dedup_key is not None
    async with ctx.db.session() as session:
        page = await paging.open_page_with_key(session, rotation=rotation, dedup_key=event.dedup_key)
    if page is None or page.id is None:
        log.info("event for no open page", extra={"rotation": rotation, "action": event.event_action})
        return event.dedup_key, receipt
    if event.event_action == "acknowledge":
        await paging.acknowledge(ctx, page.id, "events-api", system=True)
        receipt.acknowledged.append(page.id)
    else:
        await paging.resolve(ctx, page.id, "events-api", system=True)
        receipt.resolved.append(page.id)
    return event.dedup_key, receipt


def _alert_title(alert: AlertmanagerAlert) -> str:
    summary = alert.annotations.get("summary") or alert.annotations.get("title")
    name = alert.labels.get("alertname", "alert")
    return f"{name}: {summary}" if summary else name


def _alert_details(payload: AlertmanagerPayload, alert: AlertmanagerAlert) -> dict[str, Any]:
    links = [{"href": alert.generator_url, "text": "source"}] if alert.generator_url else []
    if payload.external_url:
        links.append({"href": payload.external_url, "text": "Alertmanager"})
    return {"severity": alert.labels.get("severity"), "description": alert.annotations.get("description"),
            "labels": dict(alert.labels), "annotations": dict(alert.annotations),
            "fingerprint": alert.fingerprint, "group_key": payload.group_key, "receiver": payload.receiver,
            "starts_at": alert.starts_at.isoformat(), "links": links}


def _event_details(event: PagerDutyEvent) -> dict[str, Any]:
    assert event.payload is not None
    body = event.payload
    links = [{"href": link.href, "text": link.text or link.href} for link in event.links]
    if event.client_url:
        links.append({"href": event.client_url, "text": event.client or "client"})
    return {"severity": body.severity, "source": body.source, "component": body.component, "group": body.group,
            "class": body.class_, "custom_details": body.custom_details,
            "timestamp": body.timestamp.isoformat() if body.timestamp else None, "links": links,
            "images": [image.model_dump() for image in event.images], "client": event.client}
