"""/deploy and /rollback of api through GitLab pipelines: the fake Slack and the fake GitLab, both contract-checked.

Production is a two-stage canary (50%, then 100%). The GitLab provider is rebuilt on the
scenario's simulated time, so its retry waits (backoff, Retry-After) move the clock instead of
sleeping; only the held answer of the timeout test takes real time (200 ms, twice).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.config.models import Provider as ProviderConfig
from bot.providers.gitlab import GitLab
from bot.release.models import ReleaseKind, ReleaseState
from bot.simulated_time import SimulatedTime
from bot.slack.ids import ActionId
from tests.contracts.gitlab_contract import GitLabContract
from tests.contracts.slack_contract import SlackContract
from tests.fakes.gitlab_server import FakeGitLab, Plan
from tests.release.scenario import Scenario, release_config, scenario

TOKEN = "glpat-" + "Sc3nar1o" * 3
ALICE, BOB, CAROL = "U0ALICE", "U0BOB", "U0CAROL"
NEW, OLD = "9f" * 20, "41" * 20
GET_PIPELINE = "getApiV4ProjectsIdPipelinesPipelineId"


@pytest.fixture
def time() -> SimulatedTime:
    return SimulatedTime(datetime(2026, 11, 18, 10, 0, tzinfo=UTC))  # a Wednesday: no freeze


@pytest.fixture
async def gitlab(time: SimulatedTime) -> AsyncIterator[FakeGitLab]:
    fake = await FakeGitLab(GitLabContract.load(), clock=time.now, token=TOKEN).start()
    fake.add_ref("main", NEW)
    fake.add_commit(OLD, "Release 1.4.1")
    fake.add_commit(NEW, "Release 1.4.2")
    fake.add_ref("v1.4.1", OLD, tag=True)
    fake.add_ref("v1.4.2", NEW, tag=True)
    fake.add_commit("c1" * 20, "Faster login", "Grace Hopper")
    fake.set_comparison(OLD, NEW, ["c1" * 20, NEW], ["app/login.py"])
    for sha in (OLD, NEW):
        fake.add_pipeline(sha, "main", "success", jobs=[("build", "success", None), ("unit-tests", "success", None)])
    yield fake
    await fake.stop()
    assert fake.violations == [], f"calls GitLab would have rejected: {fake.violations}"


def config(gitlab: FakeGitLab, *, timeout: str = "5s", retries: int = 3) -> str:
    provider = f'  gl: {{kind: gitlab, api_url: "{gitlab.url}", token_env: GITLAB_TOKEN, timeout: {timeout}, ' \
               f'retries: {retries}}}'
    canary = "      production:\n        strategy: canary\n        stages: [50, 100]\n        gates:"
    return release_config(provider, provider="gl").replace("      production:\n        gates:", canary)


class Waits:
    """The provider's sleep: simulated time, with each wait remembered."""

    def __init__(self, time: SimulatedTime) -> None:
        self.time = time
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        await self.time.sleep(seconds)


def on_simulated_time(s: Scenario, time: SimulatedTime) -> Waits:
    """Rebuild the configured GitLab provider with the scenario's clock and a sleep that moves it."""
    assert s.stack.ctx.http is not None
    waits = Waits(time)
    entry: ProviderConfig = s.stack.ctx.config.providers["gl"]
    s.stack.ctx.providers["gl"] = GitLab(entry, TOKEN, s.stack.ctx.http, sleep=waits, clock=time.clock)
    return waits


async def ship_to_production(s: Scenario, ref: str) -> int:
    await s.command(ALICE, f"api {ref} to staging")
    assert (await s.releases())[-1].state == ReleaseState.SUCCEEDED
    await s.command(BOB, f"api {ref} to production")
    release = (await s.releases())[-1]
    assert release.state == ReleaseState.AWAITING_APPROVAL
    await s.press(CAROL, release, ActionId.APPROVE)
    return release.id or 0


async def test_canary_deploy_then_rollback_through_gitlab(tmp_path: Path, slack_contract: SlackContract,
                                                          gitlab: FakeGitLab, time: SimulatedTime) -> None:
    async with scenario(tmp_path, slack_contract, config=config(gitlab), time=time,
                        environ={"GITLAB_TOKEN": TOKEN}) as s:
        waits = on_simulated_time(s, time)
        first = await ship_to_production(s, "v1.4.1")
        assert (await s.release(first)).state == ReleaseState.SUCCEEDED

        # v1.4.2: the next polls get 500, 500, then 429 (from staging's pipeline on); the first production
        # stage then waits in GitLab's queue for six polls.
        gitlab.next_plans += [Plan(), Plan(["created"] + ["pending"] * 6 + ["running", "success"])]
        gitlab.inject(500, operation_id=GET_PIPELINE, times=2)
        gitlab.inject(429, operation_id=GET_PIPELINE, headers={"Retry-After": "7"}, message="429 Too Many Requests")
        second = await ship_to_production(s, "v1.4.2")
        release = await s.release(second)
        assert release.state == ReleaseState.SUCCEEDED
        thread = s.thread_text(release)
        assert ":white_check_mark: *ci_green* — pass" in thread and "Faster login" in thread
        assert "Stage 1/2 (50%): pipeline run succeeded" in thread
        assert "Stage 2/2 (100%): pipeline run succeeded" in thread
        stage_pipelines = [p for p in gitlab.created() if gitlab.variables[p]["SWITCHMAN_RELEASE_ID"] == str(second)]
        assert [gitlab.variables[p] for p in stage_pipelines] == [
            {"SWITCHMAN_ENVIRONMENT": "production", "SWITCHMAN_STRATEGY": "canary", "SWITCHMAN_STAGE": stage,
             "SWITCHMAN_RELEASE_ID": str(second), "SWITCHMAN_ROLLBACK": "false", "SWITCHMAN_SHA": NEW}
            for stage in ("50", "100")]
        slow = stage_pipelines[0]
        assert len([r for r in gitlab.calls(GET_PIPELINE) if r.path.endswith(f"/pipelines/{slow}")]) >= 8
        assert 7.0 in waits.delays and len(waits.delays) >= 3  # two backoffs and the Retry-After
        production = [d for d in gitlab.deployments if d["environment"]["name"] == "production" and d["sha"] == NEW]
        assert [gitlab.deployment_history[d["id"]] for d in production] == [["running", "success"]]

        await s.command(ALICE, 'api production --reason "login errors"', command="/rollback")
        rollback = (await s.releases())[-1]
        assert (rollback.kind, rollback.ref, rollback.rollback_of) == (ReleaseKind.ROLLBACK, "v1.4.1", second)
        assert rollback.state == ReleaseState.SUCCEEDED
        last = gitlab.created()[-1]
        assert gitlab.variables[last]["SWITCHMAN_ROLLBACK"] == "true" and gitlab.variables[last]["SWITCHMAN_SHA"] == OLD
        assert gitlab.pipelines[last]["ref"] == "v1.4.1"
        assert TOKEN not in "\n".join(s.thread_text(r) for r in await s.releases())


async def test_a_failed_pipeline_fails_the_release_and_names_the_job(
        tmp_path: Path, slack_contract: SlackContract, gitlab: FakeGitLab, time: SimulatedTime) -> None:
    gitlab.next_plans.append(Plan(["created", "running", "failed"], "deploy-api", "script_failure"))
    async with scenario(tmp_path, slack_contract, config=config(gitlab), time=time,
                        environ={"GITLAB_TOKEN": TOKEN}) as s:
        on_simulated_time(s, time)
        await s.command(ALICE, "api v1.4.2 to staging")
        release = (await s.releases())[-1]
        assert release.state == ReleaseState.FAILED
        pipeline = gitlab.created()[-1]
        assert f"pipeline {pipeline} failed: job deploy-api (stage deploy) failed: script_failure" in s.thread_text(
            release)
        assert [(d.kind, d.outcome) for d in await s.ledger(release.id)][-3:] == [("stage_result", "failed"),
                                                                                ("outcome", "failed"),
                                                                                ("report", "failed")]
        report = await s.assert_ends_with_report(release.id or 0)
        assert [(st["result"], st["verification"]) for st in report.data["stages"]] == [("failed", None)]


async def test_gitlab_not_answering_in_time_fails_the_release_with_a_message_naming_gitlab(
        tmp_path: Path, slack_contract: SlackContract, gitlab: FakeGitLab, time: SimulatedTime) -> None:
    gitlab.hold(3, operation_id=GET_PIPELINE, times=2)
    async with scenario(tmp_path, slack_contract, config=config(gitlab, timeout="200ms", retries=1), time=time,
                        environ={"GITLAB_TOKEN": TOKEN}) as s:
        on_simulated_time(s, time)
        await s.command(ALICE, "api v1.4.2 to staging")
        release = (await s.releases())[-1]
        assert release.state == ReleaseState.FAILED
        pipeline = gitlab.created()[-1]
        assert (f"GitLab could not be reached at {gitlab.url}/api/v4 after 2 tries to get the state of pipeline "
                f"{pipeline} on acme/api: no answer within 0.2s") in s.thread_text(release)
