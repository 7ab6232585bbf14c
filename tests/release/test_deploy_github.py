"""/deploy api <sha> to production against the fake Slack and the fake GitHub, both contract-checked."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.release.models import ReleaseState
from bot.simulated_time import SimulatedTime
from bot.slack.ids import ActionId
from tests.contracts.github_contract import GitHubContract
from tests.contracts.slack_contract import SlackContract
from tests.fakes.github_server import FakeGitHub
from tests.release.scenario import release_config, scenario
from tests.support.monitoring_servers import free_port

TOKEN = "ghp_" + "s" * 36
ALICE, BOB, CAROL = "U0ALICE", "U0BOB", "U0CAROL"


@pytest.fixture
def time() -> SimulatedTime:
    return SimulatedTime(datetime(2026, 11, 18, 10, 0, tzinfo=UTC))  # a Wednesday: no freeze


@pytest.fixture
async def github(time: SimulatedTime) -> AsyncIterator[FakeGitHub]:
    fake = await FakeGitHub(GitHubContract.load(), clock=time.now, token=TOKEN).start()
    runs_polled: list[tuple[int, str]] = []
    answer_run = fake._get_workflow_run

    def run_progresses_as_it_is_polled(values: dict[str, str], query: dict[str, str], body: Any) -> Any:
        # GitHub moves the run on between polls: queued → in_progress → completed/success.
        run_id = int(values["run_id"])
        status = fake.runs[run_id]["status"] if run_id in fake.runs else None
        runs_polled.append((run_id, str(status)))
        if status == "queued":
            fake.advance_run(run_id, "in_progress")
        elif status == "in_progress":
            fake.advance_run(run_id, "completed", "success")
        return answer_run(values, query, body)

    fake._get_workflow_run = run_progresses_as_it_is_polled  # type: ignore[method-assign]
    fake.runs_polled = runs_polled  # type: ignore[attr-defined]
    yield fake
    await fake.stop()
    assert fake.violations == [], f"calls GitHub would have rejected: {fake.violations}"


async def test_deploy_to_production_through_github_actions(tmp_path: Path, slack_contract: SlackContract,
                                                           github: FakeGitHub, time: SimulatedTime) -> None:
    sha = github.add_ref("v1.4.2", "9f" * 20)
    for check in ("build", "unit-tests", "lint"):
        github.add_check_run(sha, check)
    github.add_status(sha, "ci/legacy", "success")
    provider = f'  gh: {{kind: github_actions, api_url: "{github.url}", token_env: GITHUB_TOKEN}}'
    config = release_config(provider, provider="gh")
    async with scenario(tmp_path, slack_contract, config=config, time=time, environ={"GITHUB_TOKEN": TOKEN}) as s:
        await s.command(ALICE, f"api {sha} to staging")
        staging = (await s.releases())[-1]
        assert staging.state == ReleaseState.SUCCEEDED

        await s.command(BOB, f'api {sha} to production --reason "release 1.4.2"')
        release = (await s.releases())[-1]
        assert release.state == ReleaseState.AWAITING_APPROVAL
        thread = s.thread_text(release)
        assert ":white_check_mark: *ci_green* — pass" in thread and f"CI passed for `{sha[:10]}`" in thread
        assert ":white_check_mark: *promoted_from* — pass" in thread
        assert ":hourglass: *approval* — waiting" in thread
        assert github.dispatches and len(github.dispatches) == 1  # staging only, so far

        await s.press(BOB, release, ActionId.APPROVE)
        assert any("you requested release #2, so you cannot approve it" in t for t in s.ephemerals(BOB))
        await s.press(CAROL, release, ActionId.APPROVE)

        release = await s.release(release.id or 0)
        assert release.state == ReleaseState.SUCCEEDED
        parent = s.parent(release)
        assert "succeeded" in parent.text and parent.edits >= 2  # edited when it changes, never re-posted
        production_dispatch = github.dispatches[-1]
        # A commit was asked for: the workflow runs from the environment's branch and gets the commit.
        assert production_dispatch["ref"] == "main"
        assert production_dispatch["inputs"] == {"environment": "production", "strategy": "rolling", "stage": "100",
                                                 "release_id": str(release.id), "rollback": "false", "sha": sha}
        run_id = int(release.provider_run_id or 0)
        assert [status for polled, status in github.runs_polled if polled == run_id] == ["queued", "in_progress"]
        statuses = [st["state"] for d in github.deployments if d["environment"] == "production"
                    for st in github.deployment_statuses.get(d["id"], [])]
        assert statuses[0] == "in_progress" and statuses[-1] == "success"

        decisions = [(d.kind, d.actor, d.outcome) for d in await s.ledger(release.id) if d.kind != "risk"]
        gate_rows = decisions[:8]
        assert {kind for kind, _, _ in gate_rows} == {"gate_verdict"}
        assert {actor for _, actor, _ in gate_rows} == {
            "gate:ci_green", "gate:not_locked", "gate:no_concurrent_deploy", "gate:promoted_from",
            "gate:approval", "gate:freeze_window", "gate:oncall_present", "gate:not_quarantined"}
        assert decisions[8:] == [("decision", "switchman", "WAITING"), ("approval", CAROL, "approved"),
                                 ("decision", CAROL, "GO"), ("stage_result", "pipeline:1009", "succeeded"),
                                 ("outcome", "switchman", "succeeded"), ("report", "switchman", "succeeded")]
        await s.assert_ends_with_report(release.id or 0)
        assert [d.seq for d in await s.ledger(release.id)] == sorted(d.seq for d in await s.ledger(release.id))


async def test_a_queued_release_of_an_older_commit_is_skipped_as_superseded(
        tmp_path: Path, slack_contract: SlackContract, github: FakeGitHub, time: SimulatedTime) -> None:
    older, newer = github.add_ref("v1.4.1", "41" * 20), github.add_ref("v1.4.2", "42" * 20)
    for sha in (older, newer):
        github.add_check_run(sha, "build")
    github.set_behind(newer, older, behind_by=2)  # v1.4.1 is an ancestor of v1.4.2
    provider = f'  gh: {{kind: github_actions, api_url: "{github.url}", token_env: GITHUB_TOKEN}}'
    config = release_config(provider, provider="gh")
    async with scenario(tmp_path, slack_contract, config=config, time=time, environ={"GITHUB_TOKEN": TOKEN}) as s:
        for ref in ("v1.4.1", "v1.4.2"):
            await s.command(ALICE, f"api {ref} to staging")
        await s.command(BOB, "api v1.4.2 to production")
        await s.command(ALICE, "api v1.4.1 to production")  # asked for later, so queued behind v1.4.2
        current, stale = (await s.releases())[-2:]
        assert stale.state == ReleaseState.QUEUED

        await s.press(CAROL, current, ActionId.APPROVE)
        assert (await s.release(current.id or 0)).state == ReleaseState.SUCCEEDED
        stale = await s.release(stale.id or 0)
        assert stale.state == ReleaseState.SUPERSEDED
        assert f"its commit `{older[:10]}` is an ancestor of what runs in production (`{newer[:10]}`" in s.thread_text(
            stale)
        assert [(d.kind, d.outcome) for d in await s.ledger(stale.id)] == [("outcome", "superseded")]
        assert [d["inputs"]["sha"] for d in github.dispatches if d["inputs"]["environment"] == "production"] == [newer]


async def test_github_not_answering_is_not_called_a_missing_ref(tmp_path: Path, slack_contract: SlackContract,
                                                                 github: FakeGitHub, time: SimulatedTime) -> None:
    """GitHub down: the requester hears that GitHub did not answer, not that the ref does not exist."""
    sha = github.add_ref("v3", "3c" * 20)
    github.add_check_run(sha, "build")
    down = f"http://127.0.0.1:{free_port()}"
    provider = f'  gh: {{kind: github_actions, api_url: "{down}", token_env: GITHUB_TOKEN, retries: 1}}'
    async with scenario(tmp_path, slack_contract, config=release_config(provider, provider="gh"), time=time,
                        environ={"GITHUB_TOKEN": TOKEN}) as s:
        await s.command(ALICE, "api v3 to staging")

        said = s.ephemerals(ALICE)[-1]
        assert ("I could not look up `v3` for api, so nothing was started: GitHub could not be "
                f"reached at {down} after 2 tries") in said
        assert "Try again once it answers" in said and "could not find" not in said
        assert await s.releases() == []


async def test_a_ref_github_does_not_have_is_called_missing(tmp_path: Path, slack_contract: SlackContract,
                                                            github: FakeGitHub, time: SimulatedTime) -> None:
    provider = f'  gh: {{kind: github_actions, api_url: "{github.url}", token_env: GITHUB_TOKEN}}'
    async with scenario(tmp_path, slack_contract, config=release_config(provider, provider="gh"), time=time,
                        environ={"GITHUB_TOKEN": TOKEN}) as s:
        await s.command(ALICE, "api v9 to staging")

        assert "I could not find `v9` for api: ref v9 not found in acme/api" in s.ephemerals(ALICE)[-1]
        assert await s.releases() == []
