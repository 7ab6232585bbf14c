"""`/alert` in the console sends Alertmanager's webhook (v4) to the app's own endpoint; failures change nothing.

A checking proxy on loopback sits between the console and the real app: it checks every request
against `../shared/contracts/alertmanager/webhook_v4.md`, answers an injected failure when told to,
and otherwise forwards the request unchanged to the app's `/webhooks/alertmanager`.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from aiohttp import web

from bot.console.session import ConsoleSession
from bot.oncall.alerts import firing_alerts
from bot.settings import EXAMPLE_CONFIG, Settings
from bot.simulated_time import SettlingTime
from bot.slack_sim.stack import Stack, simulated_stack
from tests.support.local_http import serve
from tests.support.monitoring_servers import free_port

SECRET = "console-alerts-secret-0123456789abcdef"
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
NEVER = "0001-01-01T00:00:00Z"


def contract_problems(request: web.Request, body: Any) -> list[str]:
    """What in one request Alertmanager would not have sent (the webhook_v4 tables), with bearer auth."""
    problems = []
    if request.headers.get("Authorization") != f"Bearer {SECRET}":
        problems.append("Authorization is not the shared secret as a bearer token")
    if not request.headers.get("Content-Type", "").startswith("application/json"):
        problems.append("Content-Type is not application/json")
    if not isinstance(body, dict):
        return [*problems, "the body is not a JSON object"]
    kinds = {"version": str, "groupKey": str, "truncatedAlerts": int, "status": str, "receiver": str,
             "groupLabels": dict, "commonLabels": dict, "commonAnnotations": dict, "externalURL": str, "alerts": list}
    problems += [f"{key} is missing or not {kind.__name__}" for key, kind in kinds.items()
                 if not isinstance(body.get(key), kind)]
    if problems:
        return problems
    if body["version"] != "4" or body["status"] not in ("firing", "resolved"):
        problems.append(f"version {body['version']!r} / status {body['status']!r}")
    for name in ("groupLabels", "commonLabels", "commonAnnotations"):
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in body[name].items()):
            problems.append(f"{name} is not string → string")
    for alert in body["alerts"]:
        if alert.get("status") not in ("firing", "resolved") or "alertname" not in alert.get("labels", {}):
            problems.append(f"alert {alert} has no status or no alertname")
        if not RFC3339.match(str(alert.get("startsAt"))) or not RFC3339.match(str(alert.get("endsAt"))):
            problems.append("startsAt / endsAt are not RFC 3339")
        if (alert.get("endsAt") == NEVER) != (alert.get("status") == "firing"):
            problems.append("a firing alert's endsAt is 0001-01-01T00:00:00Z, a resolved one's is not")
        if not re.fullmatch(r"[0-9a-f]{16}", str(alert.get("fingerprint"))) or "generatorURL" not in alert:
            problems.append("fingerprint is not 16 hex characters, or generatorURL is missing")
    if body["status"] == "resolved" and any(a.get("status") == "firing" for a in body["alerts"]):
        problems.append("a group with a firing alert is reported resolved")
    return problems


class CheckingProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.fail_next: list[int] = []  # statuses to answer instead of forwarding, in order
        self.problems: list[str] = []
        self.bodies: list[dict[str, Any]] = []

    async def handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        body = await request.json()
        self.problems += contract_problems(request, body)
        self.bodies.append(body)
        if self.fail_next:
            return web.json_response({"status": "error", "message": "injected"}, status=self.fail_next.pop(0))
        async with httpx.AsyncClient() as client:
            answer = await client.post(self.upstream, content=raw, headers={
                "Authorization": request.headers["Authorization"], "Content-Type": "application/json"})
        return web.Response(body=answer.content, status=answer.status_code, content_type="application/json")


WEDNESDAY_MORNING = datetime(2026, 11, 18, 9, 0, tzinfo=UTC)


@asynccontextmanager
async def console(tmp_path: Path) -> AsyncIterator[tuple[ConsoleSession, Stack, CheckingProxy, list[str]]]:
    settings = Settings.from_env({"SWITCHMAN_DATABASE_URL": f"sqlite:///{tmp_path / 'switchman.db'}",
                                  "SWITCHMAN_CONFIG": str(EXAMPLE_CONFIG), "SWITCHMAN_WEBHOOK_SECRET": SECRET})
    # A Wednesday 10:00 in Berlin, inside the shadow's business hours, so the pair is paged: never the wall clock.
    time = SettlingTime(WEDNESDAY_MORNING)
    async with simulated_stack(settings, rate_limit=None, time=time) as stack:
        proxy = CheckingProxy(stack.app_url.replace("/slack/events", "/webhooks/alertmanager"))
        app = web.Application()
        app.router.add_post("/webhooks/alertmanager", proxy.handle)
        runner, host = await serve(app)
        lines: list[str] = []
        try:
            yield ConsoleSession(stack, out=lines.append, webhook_url=f"http://{host}/webhooks/alertmanager",
                                 time=time), \
                stack, proxy, lines
        finally:
            await runner.cleanup()


async def firing(stack: Stack) -> list[str]:
    async with stack.ctx.db.session() as session:
        return [a.labels["alertname"] for a in await firing_alerts(session, service="api")]


async def test_a_refused_notification_changes_nothing_and_a_delivered_one_pages_and_resolves(tmp_path: Path) -> None:
    async with console(tmp_path) as (session, stack, proxy, lines):
        proxy.fail_next = [503]
        await session.handle('/alert fire api "error ratio high"')
        assert lines[-1].startswith("!! POST /webhooks/alertmanager answered HTTP 503")
        assert lines[-1].endswith("; ErrorRatioHigh was not firing")
        assert await firing(stack) == [] and not any("Page #" in line for line in lines)
        await session.handle("/alert resolve api")  # the console did not count the refused alert as firing
        assert lines[-1].startswith("?? no alert fired from the console is firing for api")

        del lines[:]
        await session.handle('/alert fire api "error ratio high"')
        assert lines[0] == ("(Alertmanager → POST /webhooks/alertmanager: ErrorRatioHigh firing for api; "
                            "routed to rotation:api-oncall; page #1 opened)")
        # Inside the shadow's business hours: the primary and the shadow each get a DM.
        assert len([line for line in lines if line.startswith("── DM with @")]) == 2, "\n".join(lines)
        assert await firing(stack) == ["ErrorRatioHigh"]

        await session.handle("/alert resolve api")
        assert any(line.endswith("ErrorRatioHigh resolved for api; routed to rotation:api-oncall; page #1 resolved)")
                   for line in lines)
        assert await firing(stack) == []
        assert session.problems == 1  # the injected 503
    assert proxy.problems == []
    assert [b["status"] for b in proxy.bodies] == ["firing", "firing", "resolved"]
    assert proxy.bodies[1]["alerts"][0]["fingerprint"] == proxy.bodies[2]["alerts"][0]["fingerprint"]


async def test_an_unreachable_webhook_is_reported_and_the_console_goes_on(tmp_path: Path) -> None:
    async with console(tmp_path) as (session, stack, _, lines):
        session.webhook_url = f"http://127.0.0.1:{free_port()}/webhooks/alertmanager"  # nobody listens there
        assert await session.handle('/alert fire api "error ratio high"')
        assert lines[-1] == "!! POST /webhooks/alertmanager failed: ConnectError; ErrorRatioHigh was not firing"
        assert await firing(stack) == []

