"""/deploy and /rollback of a service Argo CD deploys and GitHub Actions checks, through signed Slack requests.

Three fakes, each contract-checked: Slack, GitHub (the service's `ci:`: refs, check runs, the change
preview) and Argo CD (the application of each environment). Production is a two-stage canary
([50, 100]): Argo CD syncs the whole application once, and the thread says a traffic split needs
Argo Rollouts.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.providers.base import DeployTarget, PipelineRun
from bot.release.models import Release, ReleaseKind, ReleaseState
from bot.settings import Settings
from bot.simulated_time import SimulatedTime
from bot.slack.ids import ActionId
from bot.slack_sim.stack import simulated_stack
from bot.slack_sim.workspace import Workspace
from tests.contracts.argocd_contract import ArgoCDContract
from tests.contracts.github_contract import GitHubContract
from tests.contracts.slack_contract import SlackContract
from tests.fakes.argocd_server import FakeArgoCD
from tests.fakes.github_server import FakeGitHub
from tests.release.scenario import Scenario, scenario

GITHUB_TOKEN = "ghp_" + "g" * 36
ARGOCD_TOKEN = "eyJhbGciOiJIUzI1NiJ9." + "U3dpdGNobWFuQXJnbw" * 3
ENVIRON = {"GITHUB_TOKEN": GITHUB_TOKEN, "ARGOCD_TOKEN": ARGOCD_TOKEN}
ALICE, BOB, CAROL = "U0ALICE", "U0BOB", "U0CAROL"
APP = "api-production"
BEFORE, OLD, NEW = "11" * 20, "41" * 20, "42" * 20


@pytest.fixture
def time() -> SimulatedTime:
    return SimulatedTime(datetime(2026, 11, 18, 10, 0, tzinfo=UTC))  # a Wednesday


@pytest.fixture
async def github(time: SimulatedTime) -> AsyncIterator[FakeGitHub]:
    fake = await FakeGitHub(GitHubContract.load(), clock=time.now, token=GITHUB_TOKEN).start()
    for ref, sha in (("v1.4.1", OLD), ("v1.4.2", NEW)):
        fake.add_ref(ref, sha)
        fake.add_check_run(sha, "build")
        fake.add_check_run(sha, "unit-tests")
    fake.set_comparison(OLD, NEW, [(NEW, "Faster checkout", "alice", "Alice")], ["api/checkout.py"])
    fake.set_behind(NEW, OLD, behind_by=1)  # what a rollback to v1.4.1 previews
    yield fake
    await fake.stop()
    assert fake.violations == [], f"calls GitHub would have rejected: {fake.violations}"


@pytest.fixture
async def argocd(time: SimulatedTime) -> AsyncIterator[FakeArgoCD]:
    fake = await FakeArgoCD(ArgoCDContract.load(), clock=time.now, token=ARGOCD_TOKEN).start()
    fake.add_app(APP, project="payments", revision=BEFORE)
    yield fake
    await fake.stop()
    assert fake.violations == [], f"calls Argo CD would have rejected: {fake.violations}"


def config(github: FakeGitHub, argocd: FakeArgoCD, *, timeout: str = "10s", retries: int = 3) -> str:
    return f"""
providers:
  gh: {{kind: github_actions, api_url: "{github.url}", token_env: GITHUB_TOKEN}}
  argo: {{kind: argocd, api_url: "{argocd.url}", token_env: ARGOCD_TOKEN, project: payments,
          timeout: {timeout}, retries: {retries}}}
services:
  api:
    channel: "#api-releases"
    provider: argo
    ci: gh
    repo: acme/api
    environments:
      production:
        application: {APP}
        strategy: canary
        stages: [50, 100]
        bake: 5m
        gates: [ci_green, not_locked, no_concurrent_deploy, {{approval: {{count: 1, group: "@sre"}}}}]
        deployers: ["@api-devs"]
        overriders: ["@sre"]
"""


async def ship(s: Scenario, ref: str) -> Release:
    """`/deploy api <ref> to production`, approved by Carol, both stages baked."""
    await s.command(BOB, f"api {ref} to production")
    release = (await s.releases())[-1]
    if release.state == ReleaseState.AWAITING_APPROVAL:
        await s.press(CAROL, release, ActionId.APPROVE)
        for _ in range(2):
            await s.time.advance(timedelta(minutes=5))
            await s.stack.settle()
    return await s.release(release.id or 0)


async def test_canary_deploy_gates_on_github_and_syncs_argo_cd_then_rolls_back(
        tmp_path: Path, slack_contract: SlackContract, github: FakeGitHub, argocd: FakeArgoCD,
        time: SimulatedTime) -> None:
    argocd.tips[APP] = NEW  # the application follows main, whose tip is v1.4.2
    async with scenario(tmp_path, slack_contract, config=config(github, argocd), time=time, environ=ENVIRON) as s:
        first = await ship(s, "v1.4.1")
        assert first.state == ReleaseState.SUCCEEDED

        release = await ship(s, "v1.4.2")
        assert release.state == ReleaseState.SUCCEEDED
        thread = s.thread_text(release)
        assert ":white_check_mark: *ci_green* — pass" in thread and f"CI passed for `{NEW[:10]}`" in thread
        assert github.calls("checks/list-for-ref")  # the gate asked GitHub, not Argo CD
        assert "Faster checkout" in thread  # the change preview came from GitHub too
        assert [b["revision"] for b in argocd.syncs] == [OLD, NEW]  # one sync per release, not per stage
        assert argocd.syncs[-1]["infos"] == [{"name": "switchman-release", "value": str(release.id)},
                                             {"name": "switchman-stage", "value": "50"}]
        assert "stage 50% is not a traffic split (that needs Argo Rollouts)" in thread
        assert f"already synced to {NEW[:7]} by an earlier stage of this release" in thread
        assert f"Argo CD synced {NEW[:7]}; sync Synced, health Healthy" in thread
        assert argocd.apps[APP]["status"]["sync"]["revision"] == NEW

        await s.command(ALICE, "api production", command="/rollback")
        rollback = (await s.releases())[-1]
        assert rollback.kind == ReleaseKind.ROLLBACK and rollback.sha == OLD
        assert (await s.release(rollback.id or 0)).state == ReleaseState.SUCCEEDED
        entry = next(h for h in argocd.apps[APP]["status"]["history"] if h["revision"] == OLD)
        assert argocd.rollbacks == [{"name": APP, "project": "payments", "id": entry["id"], "prune": False}]
        assert argocd.apps[APP]["status"]["sync"]["status"] == "OutOfSync"  # compared with main's tip
        assert f"rolled back to Argo CD history entry {entry['id']} ({OLD[:7]})" in s.thread_text(rollback)
        assert f"Argo CD synced {OLD[:7]}; health Healthy (Argo CD compares {APP} with main at {NEW[:7]}, so it " \
               f"shows OutOfSync)" in s.thread_text(rollback)
        assert (await s.release(release.id or 0)).state == ReleaseState.ROLLED_BACK


async def test_a_failing_check_on_github_is_no_go_and_nothing_is_synced(
        tmp_path: Path, slack_contract: SlackContract, github: FakeGitHub, argocd: FakeArgoCD,
        time: SimulatedTime) -> None:
    github.add_check_run(NEW, "integration", conclusion="failure")
    async with scenario(tmp_path, slack_contract, config=config(github, argocd), time=time, environ=ENVIRON) as s:
        await s.command(BOB, "api v1.4.2 to production")
        release = (await s.releases())[-1]
        assert release.state == ReleaseState.BLOCKED
        thread = s.thread_text(release)
        assert ":x: *ci_green* — fail" in thread and "integration" in thread and "NO-GO" in thread
        assert argocd.syncs == [] and argocd.calls("ApplicationService_Sync") == []


async def test_a_slow_sync_is_followed_until_healthy(tmp_path: Path, slack_contract: SlackContract,
                                                     github: FakeGitHub, argocd: FakeArgoCD,
                                                     time: SimulatedTime) -> None:
    argocd.script(APP, running_polls=6, progressing_polls=3)
    async with scenario(tmp_path, slack_contract, config=config(github, argocd), time=time, environ=ENVIRON) as s:
        release = await ship(s, "v1.4.2")
        assert release.state == ReleaseState.SUCCEEDED
        reads = argocd.calls("ApplicationService_Get")
        assert len(reads) >= 1 + 6 + 3 + 1  # the dispatch's read, Running six times, Progressing three, Healthy
        assert len(argocd.syncs) == 1


async def test_a_failed_sync_fails_the_release_with_argo_cds_message(
        tmp_path: Path, slack_contract: SlackContract, github: FakeGitHub, argocd: FakeArgoCD,
        time: SimulatedTime) -> None:
    message = 'one or more objects failed to apply, reason: Deployment.apps "api" is invalid'
    argocd.script(APP, running_polls=2, outcome="Failed", message=message)
    async with scenario(tmp_path, slack_contract, config=config(github, argocd), time=time, environ=ENVIRON) as s:
        release = await ship(s, "v1.4.2")
        assert release.state == ReleaseState.FAILED
        thread = s.thread_text(release)
        assert "Stage 1/2 (50%): pipeline run failed — Argo CD sync Failed" in thread
        assert message.replace('"', "&quot;") in thread or message in thread
        assert len(argocd.syncs) == 1


async def test_rate_limits_and_a_burst_of_500s_are_ridden_out(tmp_path: Path, slack_contract: SlackContract,
                                                              github: FakeGitHub, argocd: FakeArgoCD,
                                                              time: SimulatedTime) -> None:
    argocd.inject(429, operation_id="ApplicationService_Sync", headers={"Retry-After": "30"}, message="slow down")
    argocd.inject(500, operation_id="ApplicationService_Get", times=3)
    async with scenario(tmp_path, slack_contract, config=config(github, argocd), time=time, environ=ENVIRON) as s:
        release = await ship(s, "v1.4.2")
        assert release.state == ReleaseState.SUCCEEDED
        sync_calls = argocd.calls("ApplicationService_Sync")
        assert len(sync_calls) == 2 and len(argocd.syncs) == 1  # refused once with 429, then accepted
        assert all(i.remaining == 0 for i in argocd.injections)


async def test_an_argo_cd_that_does_not_answer_fails_the_release_naming_it(
        tmp_path: Path, slack_contract: SlackContract, github: FakeGitHub, argocd: FakeArgoCD,
        time: SimulatedTime) -> None:
    argocd.inject(200, operation_id="ApplicationService_Get", times=2, hold=True)
    cfg = config(github, argocd, timeout="200ms", retries=1)
    async with scenario(tmp_path, slack_contract, config=cfg, time=time, environ=ENVIRON) as s:
        release = await ship(s, "v1.4.2")
        assert release.state == ReleaseState.FAILED
        thread = s.thread_text(release)
        assert f"Argo CD could not be reached at {argocd.url} after 2 tries to read application {APP}: " \
               f"no answer within 0.2s" in thread
        assert argocd.held == 2 and argocd.syncs == []
        assert ARGOCD_TOKEN not in thread


async def test_rollback_under_auto_sync_is_refused_with_what_to_do(
        tmp_path: Path, slack_contract: SlackContract, github: FakeGitHub, argocd: FakeArgoCD,
        time: SimulatedTime) -> None:
    async with scenario(tmp_path, slack_contract, config=config(github, argocd), time=time, environ=ENVIRON) as s:
        assert (await ship(s, "v1.4.1")).state == ReleaseState.SUCCEEDED
        release = await ship(s, "v1.4.2")
        assert release.state == ReleaseState.SUCCEEDED
        argocd.set_automated(APP, True)  # someone switched auto-sync on in Argo CD

        await s.command(ALICE, "api production", command="/rollback")
        rollback = await s.release((await s.releases())[-1].id or 0)
        assert rollback.kind == ReleaseKind.ROLLBACK and rollback.state == ReleaseState.FAILED
        thread = s.thread_text(rollback)
        assert f"Argo CD refuses to roll back application {APP} while automated sync is on" in thread
        assert f"argocd app set {APP} --sync-policy none" in thread and "revert the change in git" in thread
        assert argocd.rollbacks == [] and argocd.apps[APP]["status"]["sync"]["revision"] == NEW


async def test_a_restart_that_interrupted_the_sync_finds_it_and_does_not_sync_twice(
        tmp_path: Path, slack_contract: SlackContract, github: FakeGitHub, argocd: FakeArgoCD,
        time: SimulatedTime) -> None:
    path = tmp_path / "switchman.yml"
    path.write_text(config(github, argocd))
    settings = Settings.from_env({"SWITCHMAN_DATABASE_URL": f"sqlite:///{tmp_path / 'switchman.db'}",
                                  "SWITCHMAN_CONFIG": str(path), **ENVIRON})
    workspace = Workspace(clock=time.now)
    async with simulated_stack(settings, checker=slack_contract, time=time, workspace=workspace) as first:
        provider = first.ctx.providers["argo"]
        dispatch = provider.dispatch

        async def crash_after_syncing(target: DeployTarget) -> PipelineRun:
            await dispatch(target)
            raise asyncio.CancelledError  # the process dies before it stores the run

        provider.dispatch = crash_after_syncing  # type: ignore[method-assign]
        s = Scenario(first, time.clock, time)
        await s.command(BOB, "api v1.4.2 to production")
        await s.press(CAROL, (await s.releases())[-1], ActionId.APPROVE)
    assert len(argocd.syncs) == 1
    async with simulated_stack(settings, checker=slack_contract, time=time, workspace=workspace) as second:
        s = Scenario(second, time.clock, time)
        await second.settle()
        for _ in range(2):
            await s.time.advance(timedelta(minutes=5))
            await second.settle()
        release = (await s.releases())[-1]
        assert release.state == ReleaseState.SUCCEEDED
        assert len(argocd.syncs) == 1  # the interrupted sync was found by its release marker, not repeated
        found = [m.text for m in s.thread(release) if "Stage 1/2 (50%): found the run already dispatched" in m.text]
        assert len(found) == 1
        assert second.api.violations == []
