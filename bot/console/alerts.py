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


class NotDelivered(RuntimeError):
    """The webhook did not take the notification (refused, or unreachable): nothing changed in the app."""


@dataclass
class AlertDesk:
    """The alerts the console has fired (and the app has taken) and not yet resolved, by service."""

    firing: dict[str, list[ConsoleAlert]] = field(default_factory=dict)

    def firing_for(self, service: str) -> list[ConsoleAlert]:
        return list(self.firing.get(service, []))

    def delivered(self, alert: ConsoleAlert, status: str) -> None:
        """Record what the app took: a firing alert replaces one of the same name, a resolved one leaves."""
        alerts = [a for a in self.firing.get(alert.service, []) if a.alertname != alert.alertname]
        self.firing[alert.service] = alerts + ([alert] if status == "firing" else [])


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


async def deliver(url: str, secret: str, alert: ConsoleAlert, *, status: str, now: datetime) -> str:
    """POST one notification to the app's Alertmanager webhook (the bearer token as Alertmanager's
    http_config.authorization sends it); what the app did with it, or NotDelivered."""
    try:
        async with httpx.AsyncClient(timeout=30) as client:
            response = await client.post(url, json=payload([alert], status=status, now=now), headers={
                "Authorization": f"Bearer {secret}", "User-Agent": "Alertmanager/0.28.0 (switchman console)"})
    except httpx.HTTPError as exc:
        raise NotDelivered(f"POST {ALERTMANAGER_PATH} failed: {type(exc).__name__}; {alert.alertname} was not "
                           f"{status}") from None
    if response.status_code != 200:
        raise NotDelivered(f"POST {ALERTMANAGER_PATH} answered HTTP {response.status_code}: {response.text[:200]}; "
                           f"{alert.alertname} was not {status}")
    return receipt_line(response.json(), [alert], status)


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
