"""Risk-adaptive controls in a scenario (§4 "Risk"), through signed requests to the real Bolt app.

A change carrying a migration (the sandbox's compare lists one for a ref naming "migration") is
high risk: its thread says so with the rule that fired, it needs a second approval and runs as a
canary with the longer bake; a low-risk change afterwards needs the usual one approval and rolls
out in one stage. The levels reach the post-release reports and the failure rate by risk level.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web

from bot.evidence import metrics
from bot.release.models import ReleaseState
from bot.slack.ids import ActionId
from tests.contracts.slack_contract import SlackContract
from tests.release.scenario import SANDBOX, Scenario, scenario
from tests.support.local_http import serve

ALICE, BOB, CAROL = "U0ALICE", "U0BOB", "U0CAROL"
WEDNESDAY = datetime(2026, 11, 18, 10, tzinfo=UTC)


@pytest.fixture
async def health_url() -> AsyncIterator[str]:
    async def answer(_: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_get("/healthz", answer)
    runner, address = await serve(app)
    yield f"http://{address}/healthz"
    await runner.cleanup()


def config(health_url: str) -> str:
    return f"""
providers:
{SANDBOX}
risk_rules:
  migrations: {{globs: ["migrations/**", "**/*.sql"], level: high}}
  commits: {{medium: 5, high: 20}}
services:
  api:
    channel: "#api-releases"
    provider: sandbox
    repo: acme/api
    workflow: deploy.yml
    environments:
      production:
        bake: 5m
        gates: [ci_green, {{approval: {{count: 1, group: "@sre"}}}}]
        verify:
          - {{http: {{url: "{health_url}", status: 200}}}}
        auto_rollback: true
        deployers: ["@api-devs"]
        risk:
          high: {{approvals: 2, strategy: canary, stages: [50, 100], bake: 10m}}
"""


async def request(s: Scenario, ref: str) -> int:
    await s.command(ALICE, f"api {ref} to production")
    return (await s.releases())[-1].id or 0


async def bake(s: Scenario, minutes: int, times: int) -> None:
    for _ in range(times):
        await s.time.advance(timedelta(minutes=minutes))
        await s.stack.settle()


async def test_a_high_risk_change_needs_the_extra_approval_and_runs_as_a_canary(
        tmp_path: Path, slack_contract: SlackContract, health_url: str) -> None:
    async with scenario(tmp_path, slack_contract, config=config(health_url), start=WEDNESDAY) as s:
        first = await request(s, "v1.0.0")
        await s.press(CAROL, await s.release(first), ActionId.APPROVE)
        await bake(s, 5, 1)
        first_release = await s.release(first)
        assert first_release.state == ReleaseState.SUCCEEDED and first_release.strategy == "rolling"
        assert "*Risk: medium* — the first release here through Switchman" in s.thread_text(first_release)

        risky = await request(s, "v1.1.0-migration")
        release = await s.release(risky)
        thread = s.thread_text(release)
        assert "*Risk: high* — 1 migration: `migrations/0042_add_index.sql`" in thread
        assert ("A high-risk change here requires 2 approvals from @sre, the canary strategy (50% → 100%), "
                "a bake of 10m after each stage.") in thread
        assert release.strategy == "canary"
        risk_rows = [d for d in await s.ledger(risky) if d.kind == "risk"]
        assert [d.outcome for d in risk_rows] == ["high"]
        assert [f["rule"] for f in risk_rows[0].evidence["fired"]] == ["migrations"]

        await s.press(CAROL, release, ActionId.APPROVE)
        release = await s.release(risky)
        assert release.state == ReleaseState.AWAITING_APPROVAL  # one approval is not enough at high risk
        assert "needs 1 more approval from @sre" in s.thread_text(release)
        await s.press(BOB, release, ActionId.APPROVE)
        await bake(s, 5, 1)
        release = await s.release(risky)
        assert release.state == ReleaseState.VERIFYING  # a 10m bake, not the environment's 5m
        await bake(s, 5, 1)
        await bake(s, 10, 1)
        release = await s.release(risky)
        assert release.state == ReleaseState.SUCCEEDED
        thread = s.thread_text(release)
        assert "Stage 1/2 (50%): baking for 10m" in thread and "Stage 2/2 (100%): baking for 10m" in thread
        report = await s.assert_ends_with_report(risky)
        assert report.risk == "high" and "1 migration: `migrations/0042_add_index.sql`" in report.text

        calm = await request(s, "v1.2.0")
        release = await s.release(calm)
        assert "*Risk: low* — no risk rule fired" in s.thread_text(release)
        await s.press(CAROL, release, ActionId.APPROVE)
        await bake(s, 5, 1)
        release = await s.release(calm)
        assert (release.state, release.strategy) == (ReleaseState.SUCCEEDED, "rolling")
        assert (await s.assert_ends_with_report(calm)).risk == "low"

        figures = (await metrics.for_service(s.stack.ctx.db, s.stack.ctx.config, service="api",
                                             now=s.clock.now())).delivery
        assert {level: (f.failed, f.reached_rollout) for level, f in figures.failure_by_risk.items()} == {
            "low": (0, 1), "medium": (0, 1), "high": (0, 1)}
