"""A firing alert, sent through a real Alertmanager to Switchman's webhook, stops a baking release."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from bot.oncall.alerts import firing_alerts
from bot.release.models import ReleaseKind, ReleaseState
from tests.contracts.slack_contract import SlackContract
from tests.release.scenario import SANDBOX, Scenario, scenario
from tests.support.monitoring_servers import alertmanager

SECRET = "alertmanager-shared-secret-0123456789"

CONFIG = f"""
providers:
{SANDBOX}
services:
  api:
    channel: "#api-releases"
    provider: sandbox
    repo: acme/api
    environments:
      production:
        bake: 5m
        gates: [ci_green]
        auto_rollback: true
"""


async def switchman_received_the_alert(s: Scenario, within: float = 30) -> None:
    async with asyncio.timeout(within):
        while True:
            async with s.stack.ctx.db.session() as session:
                if await firing_alerts(session, service="api"):
                    return
            await asyncio.sleep(0.1)  # Alertmanager delivers after its group_wait; poll until it has


async def test_an_alert_fired_during_the_bake_stops_the_release_and_rolls_it_back(
        tmp_path: Path, slack_contract: SlackContract) -> None:
    async with scenario(tmp_path, slack_contract, config=CONFIG, start=datetime(2026, 11, 18, 10, tzinfo=UTC),
                        environ={"SWITCHMAN_WEBHOOK_SECRET": SECRET}) as s:
        await s.command("U0ALICE", "api v1.0.0 to production")
        await s.time.advance(timedelta(minutes=5))
        await s.stack.settle()
        await s.command("U0ALICE", "api v1.1.0 to production")
        baking = (await s.releases())[-1]
        assert baking.state == ReleaseState.VERIFYING

        webhook = s.stack.app_url.replace("/slack/events", "/webhooks/alertmanager")
        async with alertmanager(tmp_path, webhook_url=webhook, bearer=SECRET) as am, httpx.AsyncClient() as client:
            now = datetime.now(UTC).isoformat()  # Alertmanager itself runs on real time
            posted = await client.post(f"{am.url}/api/v2/alerts", json=[{
                "labels": {"alertname": "CheckoutErrors", "service": "api", "severity": "critical"},
                "annotations": {"summary": "checkout error ratio above 5%"}, "startsAt": now}])
            assert posted.status_code == 200
            await switchman_received_the_alert(s)

        await s.time.advance(timedelta(minutes=5))  # the bake ends: verification sees the alert
        await s.stack.settle()
        bad = await s.release(baking.id or 0)
        assert bad.state == ReleaseState.ROLLED_BACK
        thread = s.thread_text(bad)
        assert "*alertmanager* — fail" in thread and "CheckoutErrors" in thread
        rollback = (await s.releases())[-1]
        assert (rollback.kind, rollback.ref, rollback.state) == (ReleaseKind.ROLLBACK, "v1.0.0",
                                                                 ReleaseState.SUCCEEDED)
