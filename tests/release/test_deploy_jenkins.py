"""/deploy and /rollback of a service Jenkins deploys, GitHub's CI gates it: both fakes contract-checked.

The service names `provider: jk` (Jenkins runs the deploy job `team/deploy-api`) and `ci: gh`
(GitHub resolves refs, reports CI and compares commits). Production is a two-stage canary.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import select

from bot.providers.jenkins import Jenkins
from bot.release.models import Release, ReleaseKind, ReleaseState
from bot.settings import Settings
from bot.simulated_time import SimulatedTime
from bot.slack.ids import ActionId
from bot.slack_sim.stack import simulated_stack
from bot.slack_sim.workspace import Workspace
from tests.contracts.github_contract import GitHubContract
from tests.contracts.slack_contract import SlackContract
from tests.fakes.github_server import FakeGitHub
from tests.fakes.jenkins_server import FakeJenkins
from tests.release.scenario import Scenario, release_config, scenario
from tests.release.test_resume import crash

GITHUB_TOKEN = "ghp_" + "s" * 36
JENKINS_USER, JENKINS_TOKEN = "switchman-bot", "11" + "e0d5c3b9a7f1" * 3
ALICE, BOB, CAROL = "U0ALICE", "U0BOB", "U0CAROL"
ENVIRON = {"GITHUB_TOKEN": GITHUB_TOKEN, "JENKINS_TOKEN": JENKINS_TOKEN}


@pytest.fixture
def time() -> SimulatedTime:
    return SimulatedTime(datetime(2026, 11, 18, 10, 0, tzinfo=UTC))  # a Wednesday: no freeze


@pytest.fixture
async def github(time: SimulatedTime) -> AsyncIterator[FakeGitHub]:
    fake = await FakeGitHub(GitHubContract.load(), clock=time.now, token=GITHUB_TOKEN).start()
    yield fake
    await fake.stop()
    assert fake.violations == [], f"calls GitHub would have rejected: {fake.violations}"


@pytest.fixture
async def jenkins(time: SimulatedTime) -> AsyncIterator[FakeJenkins]:
    fake = await FakeJenkins(clock=time.now, user=JENKINS_USER, token=JENKINS_TOKEN).start()
    yield fake
    await fake.stop()
    assert fake.violations == [], f"calls Jenkins would have rejected: {fake.violations}"


def config(github: FakeGitHub, jenkins: FakeJenkins, *, jenkins_extra: str = "") -> str:
    providers = (f'  gh: {{kind: github_actions, api_url: "{github.url}", token_env: GITHUB_TOKEN}}\n'
                 f'  jk: {{kind: jenkins, url: "{jenkins.url}", user: {JENKINS_USER}, '
                 f'token_env: JENKINS_TOKEN{jenkins_extra}}}')
    text = release_config(providers, provider="jk")
    text = text.replace("    provider: jk\n", "    provider: jk\n    ci: gh\n    job: team/deploy-api\n")
    canary = "      production:\n        strategy: canary\n        stages: [50, 100]\n"
    return text.replace("      production:\n", canary)


def green(github: FakeGitHub, ref: str, sha: str) -> str:
    github.add_ref(ref, sha)
    for check in ("build", "unit-tests"):
        github.add_check_run(sha, check)
    return sha


def simulated_retries(s: Scenario) -> None:
    """Retry waits on simulated time too (the registry builds providers with asyncio.sleep)."""
    provider = s.stack.ctx.providers["jk"]
    assert isinstance(provider, Jenkins)
    provider.http._sleep = s.time.sleep


async def release_to_production(s: Scenario, ref: str) -> int:
    await s.command(ALICE, f"api {ref} to staging")
    assert (await s.releases())[-1].state == ReleaseState.SUCCEEDED
    await s.command(BOB, f"api {ref} to production")
    release = (await s.releases())[-1]
    assert release.state == ReleaseState.AWAITING_APPROVAL
    await s.press(CAROL, release, ActionId.APPROVE)
    return release.id or 0


async def test_canary_through_jenkins_rides_out_a_slow_queue_429_and_500s_then_rolls_back(
        tmp_path: Path, slack_contract: SlackContract, github: FakeGitHub, jenkins: FakeJenkins,
        time: SimulatedTime, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="bot.providers.http")
    old, new = green(github, "v1.4.1", "41" * 20), green(github, "v1.4.2", "42" * 20)
    github.set_comparison(old, new, [("42" * 20, "Faster checkout", "bob", "2026-11-17T09:00:00Z")], ["api/cart.py"])
    github.set_behind(new, old, behind_by=1)  # the rollback's preview
    async with scenario(tmp_path, slack_contract, config=config(github, jenkins), time=time, environ=ENVIRON) as s:
        simulated_retries(s)
        first = await release_to_production(s, "v1.4.1")
        assert (await s.release(first)).state == ReleaseState.SUCCEEDED

        await s.command(ALICE, "api v1.4.2 to staging")
        jenkins.queue_polls = 4  # queued for Switchman's first four looks: 2 + 4 + 8 s of polling
        jenkins.why = "Waiting for next available executor on ‘deploy’"
        jenkins.inject(429, kind="build", headers={"Retry-After": "20"})
        jenkins.inject(500, kind="build_info", times=2)
        await s.command(BOB, "api v1.4.2 to production")
        release = (await s.releases())[-1]
        await s.press(CAROL, release, ActionId.APPROVE)

        release = await s.release(release.id or 0)
        assert release.state == ReleaseState.SUCCEEDED
        thread = s.thread_text(release)
        # While the build waits, the thread says why (once), and again in the stage's result.
        waiting = [m.text for m in s.thread(release) if "not started yet" in m.text]
        assert waiting == [f":hourglass: Stage {n}: not started yet — waiting in the Jenkins queue: "
                           "Waiting for next available executor on ‘deploy’" for n in ("1/2 (50%)", "2/2 (100%)")]
        assert ("Stage 1/2 (50%): pipeline run succeeded — build #5 succeeded — waited in the Jenkins queue: "
                "Waiting for next available executor on ‘deploy’") in thread
        assert "Stage 2/2 (100%): pipeline run succeeded — build #6 succeeded" in thread
        production = [b.params for b in jenkins.all_builds() if b.params["SWITCHMAN_RELEASE_ID"] == str(release.id)]
        assert production == [{"SWITCHMAN_ENVIRONMENT": "production", "SWITCHMAN_STRATEGY": "canary",
                               "SWITCHMAN_STAGE": stage, "SWITCHMAN_RELEASE_ID": str(release.id),
                               "SWITCHMAN_ROLLBACK": "false", "SWITCHMAN_SHA": new, "SWITCHMAN_REF": "v1.4.2"}
                              for stage in ("50", "100")]
        assert len(jenkins.calls("build")) == 7  # 6 builds, one POST answered 429 and repeated
        retried = [(r.__dict__["operation"], r.__dict__["outcome"], r.__dict__["delay_s"]) for r in caplog.records
                   if r.getMessage() == "provider request retried"]
        assert retried[0] == ("start job team/deploy-api for production at v1.4.2", "429 Too Many Requests", 20)
        assert [outcome for _, outcome, _ in retried[1:]] == ["500 Internal Server Error"] * 2
        assert [(d.kind, d.actor, d.outcome) for d in await s.ledger(release.id) if d.kind == "stage_result"] == [
            ("stage_result", "pipeline:5", "succeeded"), ("stage_result", "pipeline:6", "succeeded")]

        await s.command(ALICE, 'api production --reason "checkout errors"', command="/rollback")
        rollback = (await s.releases())[-1]
        assert (rollback.kind, rollback.ref, rollback.state) == (ReleaseKind.ROLLBACK, "v1.4.1",
                                                                 ReleaseState.SUCCEEDED)
        last = jenkins.all_builds()[-1].params
        assert (last["SWITCHMAN_ROLLBACK"], last["SWITCHMAN_REF"], last["SWITCHMAN_SHA"], last["SWITCHMAN_STAGE"]) \
            == ("true", "v1.4.1", old, "100")
        assert "pipeline run succeeded — build #7 succeeded" in s.thread_text(rollback)
        everything = "\n".join(s.thread_text(r) for r in await s.releases())
        assert JENKINS_TOKEN not in everything and GITHUB_TOKEN not in everything


async def test_a_failed_jenkins_build_fails_the_release(tmp_path: Path, slack_contract: SlackContract,
                                                        github: FakeGitHub, jenkins: FakeJenkins,
                                                        time: SimulatedTime) -> None:
    green(github, "v1.4.2", "42" * 20)
    jenkins.results = ["SUCCESS", "FAILURE"]  # staging deploys, the first production stage fails
    async with scenario(tmp_path, slack_contract, config=config(github, jenkins), time=time, environ=ENVIRON) as s:
        release = await s.release(await release_to_production(s, "v1.4.2"))
        assert release.state == ReleaseState.FAILED
        thread = s.thread_text(release)
        assert ":x: Stage 1/2 (50%): pipeline run failed — build #2 failed" in thread
        assert "failed" in s.parent(release).text
        assert len(jenkins.all_builds()) == 2  # stage 2 never started


async def test_jenkins_not_answering_fails_the_release_with_a_message_naming_jenkins(
        tmp_path: Path, slack_contract: SlackContract, github: FakeGitHub, jenkins: FakeJenkins,
        time: SimulatedTime) -> None:
    green(github, "v1.4.2", "42" * 20)
    jenkins.build_polls = 3
    async with scenario(tmp_path, slack_contract, time=time, environ=ENVIRON,
                        config=config(github, jenkins, jenkins_extra=", timeout: 300ms, retries: 1")) as s:
        simulated_retries(s)
        await s.command(ALICE, "api v1.4.2 to staging")
        jenkins.hold(4, kind="build_info")  # the look after the POST, then the first poll, each tried twice
        await s.command(BOB, "api v1.4.2 to production")
        release = (await s.releases())[-1]
        await s.press(CAROL, release, ActionId.APPROVE)
        release = await s.release(release.id or 0)
        assert release.state == ReleaseState.FAILED
        assert (f"Stage 1/2 (50%): Jenkins could not be reached at {jenkins.url} after 2 tries to get build #2 "
                "of job team/deploy-api: no answer within 0.3s") in s.thread_text(release)


async def test_a_restart_during_a_dispatch_follows_the_queued_build_instead_of_starting_another(
        tmp_path: Path, slack_contract: SlackContract, github: FakeGitHub, jenkins: FakeJenkins,
        time: SimulatedTime) -> None:
    green(github, "v1.4.2", "42" * 20)
    jenkins.queue_polls = 2
    jenkins.hold(1, kind="queue_item")  # Jenkins queued the build; Switchman dies while looking at the item
    (tmp_path / "switchman.yml").write_text(config(github, jenkins))
    settings = Settings.from_env({"SWITCHMAN_DATABASE_URL": f"sqlite:///{tmp_path / 'switchman.db'}",
                                  "SWITCHMAN_CONFIG": str(tmp_path / "switchman.yml"), **ENVIRON})
    workspace = Workspace()
    async with simulated_stack(settings, checker=slack_contract, time=time, workspace=workspace) as first:
        await first.slack.slash_command(ALICE, "/deploy", "api v1.4.2 to staging", channel="#api-releases")
        await asyncio.wait_for(jenkins.holding.wait(), 30)
        await crash(first)
    async with simulated_stack(settings, checker=slack_contract, time=time, workspace=workspace) as second:
        await second.settle()
        async with second.ctx.db.session() as session:
            release = (await session.exec(select(Release))).one()
        assert release.state == ReleaseState.SUCCEEDED
        assert len(jenkins.calls("build")) == 1 and len(jenkins.all_builds()) == 1  # started once
        assert len(jenkins.calls("queue")) == 1  # found in the queue by its SWITCHMAN_* parameters
        assert release.channel_id and release.message_ts
        thread = "\n".join(m.text for m in workspace.thread(release.channel_id, release.message_ts))
        assert ("Rollout: found the run already dispatched for rolling rollout of `v1.4.2` to staging — "
                f"<{jenkins.url}/queue/item/101/|run queue:101>") in thread
        assert "Rollout: pipeline run succeeded — build #1 succeeded — waited in the Jenkins queue" in thread
        assert second.api.violations == []
