"""`/rollback drill` and the `rollback_tested` gate, through signed requests to the real Bolt app.

A drill rolls staging back to the previous verified release and forward again, verifying each
step in one thread; the production gate `rollback_tested` fails before it (saying how to run one),
passes after it (with the drill's thread as evidence) and fails again once the window has passed.
A drill whose rollback fails verification says so and rolls forward to the verified release; one
whose roll-forward fails rolls back to the release it just verified. Drills stay out of the metrics.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web
from sqlmodel import col, select

from bot.evidence import metrics
from bot.release.models import EnvironmentState, GateResult, Release, ReleaseKind, ReleaseState
from bot.settings import Settings
from bot.simulated_time import SimulatedTime
from bot.slack_sim.stack import Stack, simulated_stack
from bot.slack_sim.workspace import Workspace
from tests.contracts.slack_contract import SlackContract
from tests.release.scenario import SANDBOX, Scenario, scenario, texts
from tests.support.local_http import serve

ALICE, CAROL = "U0ALICE", "U0CAROL"
WEDNESDAY = datetime(2026, 11, 18, 10, tzinfo=UTC)


class Health:
    def __init__(self) -> None:
        self.status = 200
        self.url = ""


@pytest.fixture
async def health() -> AsyncIterator[Health]:
    endpoint = Health()

    async def answer(_: web.Request) -> web.Response:
        return web.json_response({"ok": endpoint.status == 200}, status=endpoint.status)

    app = web.Application()
    app.router.add_get("/healthz", answer)
    runner, address = await serve(app)
    endpoint.url = f"http://{address}/healthz"
    yield endpoint
    await runner.cleanup()


def config(health_url: str) -> str:
    return f"""
providers:
{SANDBOX}
services:
  api:
    channel: "#api-releases"
    provider: sandbox
    repo: acme/api
    workflow: deploy.yml
    rollback_workflow: rollback.yml
    environments:
      staging:
        bake: 5m
        gates: [ci_green]
        verify:
          - {{http: {{url: "{health_url}", status: 200}}}}
        auto_rollback: true
        deployers: ["@api-devs"]
      production:
        bake: 5m
        gates: [ci_green, {{rollback_tested: {{within: 30d, in: staging}}}}]
        verify:
          - {{http: {{url: "{health_url}", status: 200}}}}
        auto_rollback: true
        deployers: ["@api-devs"]
"""


async def deploy(s: Scenario, ref: str, environment: str) -> int:
    await s.command(ALICE, f"api {ref} to {environment}")
    release = (await s.releases())[-1]
    await s.time.advance(timedelta(minutes=5))
    await s.stack.settle()
    return release.id or 0


async def drill(s: Scenario, environment: str, *, before_each_bake: list[int] | None = None,
                health: Health | None = None) -> int:
    """`/rollback drill api ENV`; `before_each_bake` sets the health status for the back and forward steps."""
    statuses = before_each_bake or [200, 200]
    if health is not None:
        health.status = statuses[0]
    await s.command(ALICE, f"drill api {environment}", command="/rollback")
    drill_release = (await s.releases())[-1]
    assert drill_release.kind == ReleaseKind.DRILL
    await s.time.advance(timedelta(minutes=5))
    await s.stack.settle()
    if health is not None:
        health.status = statuses[1]
    await s.time.advance(timedelta(minutes=5))
    await s.stack.settle()
    return drill_release.id or 0


async def gate_result(s: Scenario, release_id: int, gate: str) -> GateResult:
    async with s.stack.ctx.db.session() as session:
        rows = (await session.exec(select(GateResult).where(GateResult.release_id == release_id,
                                                            GateResult.gate == gate))).all()
    assert rows, f"no {gate} verdict for release #{release_id}"
    return rows[-1]


async def runs_now(s: Scenario, environment: str) -> EnvironmentState:
    async with s.stack.ctx.db.session() as session:
        state = await session.get(EnvironmentState, ("api", environment))
    assert state is not None
    return state


async def test_rollback_tested_fails_without_a_drill_and_passes_after_one(
        tmp_path: Path, slack_contract: SlackContract, health: Health) -> None:
    async with scenario(tmp_path, slack_contract, config=config(health.url), start=WEDNESDAY) as s:
        first = await deploy(s, "v1.0.0", "staging")
        second = await deploy(s, "v1.1.0", "staging")
        assert (await s.release(second)).state == ReleaseState.SUCCEEDED

        blocked = await deploy(s, "v1.1.0", "production")
        assert (await s.release(blocked)).state == ReleaseState.BLOCKED
        verdict = await gate_result(s, blocked, "rollback_tested")
        assert verdict.verdict == "fail"
        assert "never had a successful rollback drill or rollback in staging" in verdict.evidence
        assert "`/rollback drill api staging`" in verdict.evidence

        drill_id = await drill(s, "staging")
        done = await s.release(drill_id)
        assert done.state == ReleaseState.SUCCEEDED, s.thread_text(done)
        thread = s.thread_text(done)
        back = thread.index("Drill step 1/2 (roll back to `v1.0.0`): dispatched")
        back_ok = thread.index("Drill step 1/2 (roll back to `v1.0.0`): `v1.0.0` runs and passed verification")
        forward = thread.index("Drill step 2/2 (roll forward to `v1.1.0`): dispatched")
        forward_ok = thread.index("Drill step 2/2 (roll forward to `v1.1.0`): `v1.1.0` runs and passed verification")
        assert back < back_ok < forward < forward_ok
        assert thread.count(f"*http {health.url}* — pass") == 2  # verified after each step
        assert "drill passed: rolled back to `v1.0.0` and forward to `v1.1.0`, each verified" in thread
        drills = [(d.kind, d.outcome) for d in await s.ledger(drill_id) if d.kind == "drill"]
        assert drills == [("drill", "started"), ("drill", "back:passed"), ("drill", "forward:passed")]
        assert (await s.ledger(drill_id))[-2].evidence["drill"] is True  # the outcome is marked as a drill
        report = await s.assert_ends_with_report(drill_id)
        assert [st["label"] for st in report.data["stages"]] == [
            "Drill step 1/2 (roll back to `v1.0.0`)", "Drill step 2/2 (roll forward to `v1.1.0`)"]
        assert [st["verification"] for st in report.data["stages"]] == ["passed", "passed"]
        state = await runs_now(s, "staging")
        assert (state.current_ref, state.current_release_id) == ("v1.1.0", second)  # forward again
        assert first != second

        passed = await deploy(s, "v1.1.0", "production")
        assert (await s.release(passed)).state == ReleaseState.SUCCEEDED
        verdict = await gate_result(s, passed, "rollback_tested")
        assert verdict.verdict == "pass"
        assert f"rollback drill #{drill_id} of api succeeded in staging" in verdict.evidence
        assert verdict.link == (done.detail or {}).get("permalink") and verdict.link  # the drill's thread

        await s.time.advance(timedelta(days=31))
        await s.stack.settle()
        stale = await deploy(s, "v1.1.0", "production")
        verdict = await gate_result(s, stale, "rollback_tested")
        assert verdict.verdict == "fail" and f"was #{drill_id} on" in verdict.evidence
        assert "more than 30 days ago" in verdict.evidence and "`/rollback drill api staging`" in verdict.evidence


async def test_a_drill_whose_rollback_fails_verification_rolls_forward_and_says_so(
        tmp_path: Path, slack_contract: SlackContract, health: Health) -> None:
    async with scenario(tmp_path, slack_contract, config=config(health.url), start=WEDNESDAY) as s:
        await deploy(s, "v1.0.0", "staging")
        second = await deploy(s, "v1.1.0", "staging")
        drill_id = await drill(s, "staging", before_each_bake=[503, 200], health=health)
        done = await s.release(drill_id)
        assert done.state == ReleaseState.FAILED
        thread = s.thread_text(done)
        assert "Drill step 1/2 (roll back to `v1.0.0`): `v1.0.0` failed verification" in thread
        assert "rolling forward to `v1.1.0`, which ran verified before the drill" in thread
        assert "Drill step 2/2 (roll forward to `v1.1.0`): `v1.1.0` runs and passed verification" in thread
        assert "drill failed: the rollback to `v1.0.0` failed verification" in thread
        state = await runs_now(s, "staging")
        assert (state.current_ref, state.current_release_id) == ("v1.1.0", second)  # left on the verified release
        assert state.quarantined_sha is None


async def test_a_drill_whose_roll_forward_fails_rolls_back_to_the_release_it_verified(
        tmp_path: Path, slack_contract: SlackContract, health: Health) -> None:
    async with scenario(tmp_path, slack_contract, config=config(health.url), start=WEDNESDAY) as s:
        first = await deploy(s, "v1.0.0", "staging")
        await deploy(s, "v1.1.0", "staging")
        drill_id = await drill(s, "staging", before_each_bake=[200, 503], health=health)
        health.status = 200
        await s.stack.settle()
        done = await s.release(drill_id)
        thread = s.thread_text(done)
        assert "Drill step 2/2 (roll forward to `v1.1.0`): `v1.1.0` failed verification" in thread
        assert "rolling back to `v1.0.0`, verified a moment ago in this drill" in thread
        rollback = (await s.releases())[-1]
        assert (rollback.kind, rollback.rollback_of, rollback.ref) == (ReleaseKind.ROLLBACK, drill_id, "v1.0.0")
        assert rollback.state == ReleaseState.SUCCEEDED
        state = await runs_now(s, "staging")
        assert state.current_ref == "v1.0.0" and state.current_release_id == rollback.id
        assert first


async def test_drills_stay_out_of_the_failure_and_rollback_metrics(
        tmp_path: Path, slack_contract: SlackContract, health: Health) -> None:
    async with scenario(tmp_path, slack_contract, config=config(health.url), start=WEDNESDAY) as s:
        for ref in ("v1.0.0", "v1.1.0"):
            await deploy(s, ref, "staging")
        await drill(s, "staging")
        await drill(s, "staging", before_each_bake=[503, 200], health=health)
        # production is the last environment: drill there (its gate needs the staging drill above)
        await deploy(s, "v1.0.0", "production")
        await deploy(s, "v1.1.0", "production")
        before = await metrics.for_service(s.stack.ctx.db, s.stack.ctx.config, service="api", now=s.clock.now())
        await drill(s, "production", before_each_bake=[503, 200], health=health)
        await drill(s, "production")
        after = await metrics.for_service(s.stack.ctx.db, s.stack.ctx.config, service="api", now=s.clock.now())
        kinds = [r.kind for r in await s.releases() if r.environment == "production"]
        assert kinds.count(ReleaseKind.DRILL) == 2
        for figures in (before.delivery, after.delivery):
            assert (figures.deploys, figures.failed_changes, figures.rollbacks) == (2, 0, 0)
            assert figures.change_failure_rate == 0 and figures.time_to_restore.count == 0
        assert after.delivery == before.delivery


@pytest.mark.parametrize(("text", "expected"), [
    ("drill", "expected `/rollback drill SERVICE ENV`"),
    ("drill api", "expected `/rollback drill SERVICE ENV`"),
    ("drill api staging production", "expected `/rollback drill SERVICE ENV`"),
    ("drill api staging --reason x", "unknown option --reason"),
    ("drill api nowhere", "`api` has no environment `nowhere`"),
    ("drill nosuch staging", "there is no service `nosuch`"),
])
async def test_a_bad_drill_request_gets_the_usage_and_starts_nothing(
        tmp_path: Path, slack_contract: SlackContract, health: Health, text: str, expected: str) -> None:
    async with scenario(tmp_path, slack_contract, config=config(health.url), start=WEDNESDAY) as s:
        await s.command(ALICE, text, command="/rollback")
        [answer] = [e for e in s.stack.workspace.events if e.kind == "ephemeral" and e.user == ALICE]
        assert expected in answer.text  # one line saying what was wrong, with the usage under it
        assert "`/rollback help` for the full usage" in texts(answer.blocks)
        assert await s.releases() == []


async def test_a_drill_needs_two_verified_releases_and_a_quiet_environment(
        tmp_path: Path, slack_contract: SlackContract, health: Health) -> None:
    async with scenario(tmp_path, slack_contract, config=config(health.url), start=WEDNESDAY) as s:
        await s.command(ALICE, "drill api staging", command="/rollback")
        assert "nothing has been released to staging through Switchman" in "\n".join(s.ephemerals(ALICE))
        await deploy(s, "v1.0.0", "staging")
        await s.command(ALICE, "drill api staging", command="/rollback")
        assert "no earlier verified release of api in staging" in "\n".join(s.ephemerals(ALICE))
        await s.command(ALICE, "api v1.1.0 to staging")  # baking: in flight
        await s.command(ALICE, "drill api staging", command="/rollback")
        assert "a drill needs a quiet environment" in "\n".join(s.ephemerals(ALICE))
        assert [r.kind for r in await s.releases()] == [ReleaseKind.DEPLOY, ReleaseKind.DEPLOY]


async def test_a_drill_survives_a_restart_during_its_rollback_bake(
        tmp_path: Path, slack_contract: SlackContract, health: Health) -> None:
    path = tmp_path / "switchman.yml"
    path.write_text(config(health.url))
    settings = Settings.from_env({"SWITCHMAN_DATABASE_URL": f"sqlite:///{tmp_path / 'switchman.db'}",
                                  "SWITCHMAN_CONFIG": str(path)})
    workspace, time = Workspace(), SimulatedTime(WEDNESDAY)

    async def command(stack: Stack, text: str, name: str = "/deploy") -> None:
        await stack.slack.slash_command(ALICE, name, text, channel="#api-releases")
        await stack.settle()
        await time.advance(timedelta(minutes=5))
        await stack.settle()

    async with simulated_stack(settings, checker=slack_contract, time=time, workspace=workspace) as first:
        await command(first, "api v1.0.0 to staging")
        await command(first, "api v1.1.0 to staging")
        await first.slack.slash_command(ALICE, "/rollback", "drill api staging", channel="#api-releases")
        await first.settle()  # the rollback step is out and baking: the process stops here
        async with first.ctx.db.session() as session:
            drill_release = (await session.exec(select(Release).order_by(col(Release.id).desc()))).first()
        assert drill_release is not None and drill_release.kind == ReleaseKind.DRILL
        assert (drill_release.state, drill_release.stage_index) == (ReleaseState.VERIFYING, 0)
    async with simulated_stack(settings, checker=slack_contract, time=time, workspace=workspace) as second:
        await second.settle()
        for _ in range(2):
            await time.advance(timedelta(minutes=5))
            await second.settle()
        async with second.ctx.db.session() as session:
            done = await session.get(Release, drill_release.id)
        assert done is not None and done.state == ReleaseState.SUCCEEDED
        assert done.channel_id and done.message_ts
        replies = [m.text for m in workspace.thread(done.channel_id, done.message_ts)]
        for step in ("Drill step 1/2 (roll back to `v1.0.0`)", "Drill step 2/2 (roll forward to `v1.1.0`)"):
            assert sum(t.startswith(f":truck: {step}: dispatched") for t in replies) == 1, replies  # not twice
            assert sum(f"{step}: `" in t and "passed verification" in t for t in replies) == 1, replies
        assert second.api.violations == []
