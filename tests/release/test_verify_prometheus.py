"""Canary verification against a real Prometheus scraping a metrics endpoint the test controls."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from aiohttp import web

from bot.release.models import ReleaseKind, ReleaseState
from tests.contracts.slack_contract import SlackContract
from tests.release.scenario import SANDBOX, Scenario, scenario
from tests.support.local_http import serve
from tests.support.monitoring_servers import Running, prometheus

QUERY = 'app_error_ratio{job="api"}'


class ErrorRatio:
    """The service's /metrics: one gauge whose value the test sets."""

    def __init__(self) -> None:
        self.value = 0.001
        self.address = ""

    async def start(self) -> web.AppRunner:
        async def metrics(_: web.Request) -> web.Response:
            body = f"# TYPE app_error_ratio gauge\napp_error_ratio{{service=\"api\"}} {self.value}\n"
            return web.Response(text=body, content_type="text/plain")

        app = web.Application()
        app.router.add_get("/metrics", metrics)
        runner, self.address = await serve(app)
        return runner


@pytest.fixture
async def ratio() -> AsyncIterator[ErrorRatio]:
    endpoint = ErrorRatio()
    runner = await endpoint.start()
    yield endpoint
    await runner.cleanup()


@pytest.fixture
async def prom(tmp_path: Path, ratio: ErrorRatio) -> AsyncIterator[Running]:
    async with prometheus(tmp_path, targets=[ratio.address]) as running:
        yield running


async def prometheus_sees(prom: Running, value: float, within: float = 30) -> None:
    """Wait (with a deadline) until Prometheus has scraped the value the test set."""
    async with httpx.AsyncClient() as client, asyncio.timeout(within):
        while True:
            body = (await client.get(f"{prom.url}/api/v1/query", params={"query": QUERY})).json()
            result = body.get("data", {}).get("result", [])
            if result and float(result[0]["value"][1]) == value:
                return
            await asyncio.sleep(0.2)  # the next scrape is at most a second away


def config(prom_url: str) -> str:
    return f"""
providers:
{SANDBOX}
services:
  api:
    channel: "#api-releases"
    provider: sandbox
    repo: acme/api
    environments:
      production:
        strategy: canary
        stages: [10, 50, 100]
        bake: 2m
        gates: [ci_green]
        verify:
          - {{prometheus: {{url: "{prom_url}", query: '{QUERY}', max: 0.01}}}}
        auto_rollback: true
"""


async def bake_all_stages(s: Scenario, stages: int = 3) -> None:
    for _ in range(stages):
        await s.time.advance(timedelta(minutes=2))
        await s.stack.settle()


async def test_a_healthy_canary_is_promoted_and_a_breaching_one_stopped_and_rolled_back(
        tmp_path: Path, slack_contract: SlackContract, ratio: ErrorRatio, prom: Running) -> None:
    await prometheus_sees(prom, 0.001)
    async with scenario(tmp_path, slack_contract, config=config(prom.url),
                        start=datetime(2026, 11, 18, 10, tzinfo=UTC)) as s:
        await s.command("U0ALICE", "api v1.0.0 to production")
        await bake_all_stages(s)
        good = (await s.releases())[-1]
        assert good.state == ReleaseState.SUCCEEDED
        thread = s.thread_text(good)
        assert thread.count(f"*prometheus {QUERY}* — pass") == 3
        assert "= 0.001, within ≤ 0.01" in thread

        ratio.value = 0.2
        await prometheus_sees(prom, 0.2)
        await s.command("U0ALICE", "api v1.1.0 to production")
        await bake_all_stages(s, 1)

        bad = next(r for r in await s.releases() if r.ref == "v1.1.0")
        assert bad.state == ReleaseState.ROLLED_BACK and bad.stage_index == 0  # stopped at 10 %
        bad_thread = s.thread_text(bad)
        assert f"*prometheus {QUERY}* — fail" in bad_thread and "= 0.2, outside ≤ 0.01" in bad_thread
        assert "Stage 2/3" not in bad_thread
        rollback = (await s.releases())[-1]
        assert (rollback.kind, rollback.ref, rollback.state) == (ReleaseKind.ROLLBACK, "v1.0.0",
                                                                 ReleaseState.SUCCEEDED)
        assert "= 0.2, outside ≤ 0.01" in s.thread_text(rollback)
