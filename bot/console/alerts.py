"""`/alert fire SERVICE "summary"` and `/alert resolve SERVICE`: the console plays Alertmanager.

It sends what Alertmanager's webhook receiver sends (version 4, one notification per alert group,
`../shared/contracts/alertmanager/webhook_v4.md`) to the app's own `POST /webhooks/alertmanager`, with
the shared secret as a bearer token, over loopback HTTP: the same route, authentication, parsing
and paging as a real Alertmanager, so a firing alert pages the on-call pair and fails the
verification of a release baking in that service.
"""

from __future__ import annotations

import hashlib
import re
import shlex
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

ALERTMANAGER_PATH = "/webhooks/alertmanager"
RECEIVER = "switchman"
EXTERNAL_URL = "http://alertmanager.console.invalid"  # there is no Alertmanager behind the console
NEVER = "0001-01-01T00:00:00Z"  # endsAt of a firing alert: Alertmanager zeroes it at flush
USAGE = ('usage: /alert fire SERVICE "summary" — fire an alert for a service, as Alertmanager would; '
         "/alert resolve SERVICE — resolve the alerts fired so")


class AlertUsage(ValueError):
    """Bad `/alert` input: the message says what was wrong and the usage."""


@dataclass(frozen=True)
class ConsoleAlert:
    service: str
    alertname: str
    summary: str
    starts_at: datetime

    @property
    def labels(self) -> dict[str, str]:
        return {"alertname": self.alertname, "service": self.service, "severity": "critical"}

    @property
    def fingerprint(self) -> str:
        """16 hex characters, stable per label set (Alertmanager's is a hash of the labels too)."""
        text = ",".join(f"{k}={v}" for k, v in sorted(self.labels.items()))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    @property
    def group_key(self) -> str:
        return f'{{}}:{{alertname="{self.alertname}", service="{self.service}"}}'


@dataclass
class AlertDesk:
    """The alerts the console has fired and not yet resolved, by service."""

    firing: dict[str, list[ConsoleAlert]] = field(default_factory=dict)

    def fire(self, service: str, summary: str, *, now: datetime) -> ConsoleAlert:
        alert = ConsoleAlert(service, alertname_for(summary), summary, now)
        alerts = self.firing.setdefault(service, [])
        alerts[:] = [a for a in alerts if a.alertname != alert.alertname] + [alert]
        return alert

    def resolve(self, service: str) -> list[ConsoleAlert]:
        return self.firing.pop(service, [])


def parse(rest: str, services: list[str]) -> tuple[str, str, str]:
    """(`fire` or `resolve`, service, summary) from what follows `/alert`."""
    try:
        words = shlex.split(rest)
    except ValueError as exc:
        raise AlertUsage(f"?? /alert {rest.strip()}: {exc}. {USAGE}") from None
    if not words or words[0] not in ("fire", "resolve"):
        raise AlertUsage(f"?? /alert needs `fire` or `resolve`. {USAGE}")
    action, args = words[0], words[1:]
    if not args:
        raise AlertUsage(f"?? /alert {action} needs a service ({', '.join(services)}). {USAGE}")
    service = args[0]
    if service not in services:
        raise AlertUsage(f"?? no service `{service}`; services: {', '.join(services)}. {USAGE}")
    if action == "resolve":
        if len(args) > 1:
            raise AlertUsage(f"?? /alert resolve takes only a service. {USAGE}")
        return action, service, ""
    summary = " ".join(args[1:]).strip()
    if not summary:
        raise AlertUsage(f'?? /alert fire {service} needs a summary in quotes, e.g. "error ratio high". {USAGE}')
    return action, service, summary


def alertname_for(summary: str) -> str:
    """`error ratio high` → `ErrorRatioHigh`: an alert name as Prometheus rules spell them."""
    words = re.findall(r"[A-Za-z0-9]+", summary)
    name = "".join(w[:1].upper() + w[1:] for w in words)[:60]
    return name if name[:1].isalpha() else "ConsoleAlert" + name


def payload(alerts: list[ConsoleAlert], *, status: str, now: datetime) -> dict[str, Any]:
    """One webhook notification (version 4) for one alert group, as Alertmanager sends it."""
    first = alerts[0]
    items = [{
        "status": status, "labels": a.labels, "annotations": {"summary": a.summary},
        "startsAt": _rfc3339(a.starts_at), "endsAt": NEVER if status == "firing" else _rfc3339(now),
        "generatorURL": "", "fingerprint": a.fingerprint,
    } for a in alerts]
    common = {k: v for k, v in first.labels.items() if all(a.labels.get(k) == v for a in alerts)}
    summaries = {a.summary for a in alerts}
    return {
        "version": "4", "groupKey": first.group_key, "truncatedAlerts": 0, "status": status, "receiver": RECEIVER,
        "groupLabels": {"alertname": first.alertname, "service": first.service}, "commonLabels": common,
        "commonAnnotations": {"summary": first.summary} if len(summaries) == 1 else {},
        "externalURL": EXTERNAL_URL, "alerts": items,
    }


async def send(app_base_url: str, secret: str, body: dict[str, Any]) -> httpx.Response:
    """POST the notification to the app's Alertmanager webhook, as Alertmanager's http_config.authorization does."""
    async with httpx.AsyncClient(base_url=app_base_url, timeout=30) as client:
        return await client.post(ALERTMANAGER_PATH, json=body, headers={
            "Authorization": f"Bearer {secret}", "User-Agent": "Alertmanager/0.28.0 (switchman console)"})


def receipt_line(receipt: dict[str, Any], group: list[ConsoleAlert], status: str) -> str:
    """What the webhook did with one notification, from its answer: where the alerts went, which pages."""
    names = ", ".join(a.alertname for a in group)
    routes = sorted({r for rs in receipt.get("routes", {}).values() for r in rs}) or ["nowhere"]
    line = f"(Alertmanager → POST {ALERTMANAGER_PATH}: {names} {status} for {group[0].service}; " \
           f"routed to {', '.join(routes)}"
    for key, done in (("opened", "opened"), ("updated", "updated"), ("resolved", "resolved")):
        if receipt.get(key):
            line += f"; page {', '.join(f'#{p}' for p in receipt[key])} {done}"
    return line + ")"


def _rfc3339(instant: datetime) -> str:
    return instant.isoformat().replace("+00:00", "Z")
