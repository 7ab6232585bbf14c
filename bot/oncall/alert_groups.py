"""One page per Alertmanager group (§6: "by default one page per Alertmanager group (`groupKey`)").

Alertmanager sends a group's whole state on every notification: the alerts firing now and
those that resolved since the last one (each resolved alert only once). A rotation with
`group_pages: true` (the default) keeps one open page per (rotation, groupKey), whose details
list every alert the group has shown it — firing or resolved — merged by fingerprint. The page
opens with the group's first firing alert; each later notification that changes the list
updates its title and details and queues the edit of its DMs and channel post in the same
transaction (as an ack does); when every alert listed has resolved, the page resolves. A
notification that changes nothing is a duplicate. The page is locked while it is merged, so
two notifications of one group at once cannot lose an alert.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from bot.context import AppContext
from bot.oncall import page_notify, paging
from bot.oncall.inbound_payloads import AlertmanagerAlert, AlertmanagerPayload
from bot.oncall.models import PageStatus

PREFIX = "group:"
MAX_KEY = 255
MAX_LISTED = 25
SEVERITY_ORDER = ("critical", "error", "warning", "info")


@dataclass(frozen=True)
class GroupOutcome:
    page_id: int | None  # None: nothing was open and nothing fires
    action: str  # opened, updated, resolved, duplicate, none


def group_dedup_key(group_key: str) -> str:
    key = PREFIX + group_key
    return key if len(key) <= MAX_KEY else PREFIX + "sha256:" + hashlib.sha256(group_key.encode()).hexdigest()


def alert_entry(alert: AlertmanagerAlert, title: str) -> dict[str, Any]:
    return {"status": alert.status, "title": title, "labels": dict(alert.labels),
            "starts_at": alert.starts_at.isoformat(), "description": alert.annotations.get("description")}


async def apply(ctx: AppContext, *, rotation: str, payload: AlertmanagerPayload, entries: dict[str, dict[str, Any]],
                details: dict[str, Any], service: str | None) -> GroupOutcome:
    """Open, update or resolve the group's page in `rotation` with this notification's alerts (`entries`)."""
    key = group_dedup_key(payload.group_key)
    async with ctx.db.session() as session:
        page = await paging.open_page_with_key(session, rotation=rotation, dedup_key=key)
    if page is None:
        if not any(e["status"] == "firing" for e in entries.values()):
            return GroupOutcome(None, "none")  # resolved alerts of a group whose page is closed
        outcome = await paging.open_page(ctx, rotation=rotation, source="alertmanager", dedup_key=key,
                                         title=group_title(payload, entries),
                                         details=with_alerts(details, entries), service=service)
        if not outcome.duplicate:
            return GroupOutcome(outcome.page.id, "opened")
        page = outcome.page  # the same group raced in: merge into the page that won
    assert page.id is not None
    merged = await _merge(ctx, page.id, payload, entries)
    if merged == "resolved":
        await paging.resolve(ctx, page.id, "alertmanager", system=True)
    return GroupOutcome(page.id, merged)


async def _merge(ctx: AppContext, page_id: int, payload: AlertmanagerPayload,
                 entries: dict[str, dict[str, Any]]) -> str:
    now = ctx.clock.now()
    async with ctx.db.session() as session:
        row = await page_notify.locked(session, page_id)
        if row.status == PageStatus.RESOLVED:
            return "duplicate"
        listed: dict[str, dict[str, Any]] = dict(row.details.get("alerts") or {})
        merged = {**listed, **entries}
        if all(e["status"] == "resolved" for e in merged.values()):
            if merged != listed:
                row.details = with_alerts(row.details, merged)
                row.title = group_title(payload, merged)
                session.add(row)
            return "resolved"  # the resolve that follows queues the edits
        if merged == listed:
            return "duplicate"
        row.details = with_alerts(row.details, merged)  # a new dict: the JSON column sees the change
        row.title = group_title(payload, merged)
        session.add(row)
        await page_notify.queue_edits(session, ctx, row, now=now)
    return "updated"


def with_alerts(details: dict[str, Any], alerts: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The page's details with the group's alerts, its worst severity and a readable list as description."""
    out = {**details, "alerts": alerts}
    if len(alerts) > 1:
        out["description"] = _listing(alerts)
        severities = [str(e["labels"].get("severity")) for e in alerts.values() if e["status"] == "firing"]
        worst = next((s for s in SEVERITY_ORDER if s in severities), None)
        out["severity"] = worst or details.get("severity")
    return out


def group_title(payload: AlertmanagerPayload, alerts: dict[str, dict[str, Any]]) -> str:
    if len(alerts) == 1:
        return str(next(iter(alerts.values()))["title"])
    firing = sum(1 for e in alerts.values() if e["status"] == "firing")
    labels = payload.group_labels or payload.common_labels
    name = labels.get("alertname") or ", ".join(f"{k}={v}" for k, v in sorted(labels.items())) or "alert group"
    others = ", ".join(f"{k}={v}" for k, v in sorted(labels.items()) if k != "alertname")
    scope = f" ({others})" if others and "alertname" in labels else ""
    return f"{name}{scope}: {firing} of {len(alerts)} alerts firing"


def _listing(alerts: dict[str, dict[str, Any]]) -> str:
    ordered = sorted(alerts.items(), key=lambda item: (item[1]["status"] != "firing", item[1]["starts_at"], item[0]))
    keys = {k for e in alerts.values() for k in e["labels"]}
    varying = sorted(k for k in keys if len({e["labels"].get(k) for e in alerts.values()}) > 1)
    lines = []
    for _, entry in ordered[:MAX_LISTED]:
        mark = "🔥 firing" if entry["status"] == "firing" else "✅ resolved"
        which = ", ".join(f"{k}={entry['labels'][k]}" for k in varying if k in entry["labels"])
        lines.append(f"• {mark} — {entry['title']}" + (f" ({which})" if which else ""))
    if len(ordered) > MAX_LISTED:
        lines.append(f"… and {len(ordered) - MAX_LISTED} more")
    return "\n".join(lines)
