"""Regression tests for the release engine's measured defects 7, 8 (dispatch) and 9.

7. An approval whose thread post fails is still recorded, with the decision it causes.
8. A stage dispatched without a stored run id is found by its run name after a restart, not
   dispatched again.
9. A click on Approve the moment the WAITING reply appears is taken (the release was already waiting).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from bot.providers.base import DeployTarget, PipelineRun
from bot.release.models import Release, ReleaseState
from bot.settings import Settings
from bot.simulated_time import SimulatedTime
from bot.slack.ids import ActionId
from bot.slack_sim.stack import simulated_stack
from bot.slack_sim.workspace import SimEvent, Workspace
from tests.contracts.github_contract import GitHubContract
from tests.contracts.slack_contract import SlackContract
from tests.fakes.github_server import FakeGitHub
from tests.release.scenario import SANDBOX, Scenario, release_config, scenario

WEDNESDAY = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)
ALICE, BOB, CAROL = "U0ALICE", "U0BOB", "U0CAROL"
TOKEN = "ghp_" + "e" * 36


@pytest.fixture
async def s(tmp_path: Path, slack_contract: SlackContract) -> AsyncIterator[Scenario]:
    async with scenario(tmp_path, slack_contract, config=release_config(SANDBOX), start=WEDNESDAY) as running:
        yield running


async def waiting_for_approval(s: Scenario) -> Release:
    await s.command(ALICE, "api v1.0.0 to staging")
    await s.command(BOB, "api v1.0.0 to production")
    release = (await s.releases())[-1]
    assert release.state == ReleaseState.AWAITING_APPROVAL
    return release


async def test_an_approval_whose_post_fails_is_recorded_with_its_decision(s: Scenario) -> None:
    release = await waiting_for_approval(s)
    s.stack.api.fail("chat.postMessage", status=500, error="internal_error",
                     match=lambda p: "approved release" in str(p.get("text", "")))
    await s.press(CAROL, release, ActionId.APPROVE)
    release = await s.release(release.id or 0)
    assert release.state == ReleaseState.SUCCEEDED
    kinds = [(d.kind, d.outcome) for d in await s.ledger(release.id)]
    assert ("approval", "approved") in kinds and ("decision", "GO") in kinds
    notes = [m.text for m in s.thread(release) if "approved release" in m.text]
    assert len(notes) == 1  # posted once Slack answered again, and only once
    await s.press(CAROL, release, ActionId.APPROVE)  # a later click is told the truth, not "already voted"
    assert any("not waiting for approval" in t for t in s.ephemerals(CAROL))


async def test_approve_clicked_the_moment_the_buttons_appear_is_taken(s: Scenario) -> None:
    clicks: list[asyncio.Task[Any]] = []

    def click_at_once(event: SimEvent) -> None:
        for block in event.blocks:
            for element in block.get("elements", []) if isinstance(block, dict) else []:
                if element.get("action_id") == ActionId.APPROVE and event.channel and event.ts:
                    message = s.stack.workspace.messages[(event.channel, event.ts)]
                    clicks.append(asyncio.get_running_loop().create_task(s.stack.slack.block_action(
                        CAROL, message, action_id=ActionId.APPROVE, block_id=block.get("block_id"),
                        value=element.get("value"))))

    s.stack.workspace.subscribers.append(click_at_once)
    await s.command(ALICE, "api v2.0.0 to staging")
    await s.command(BOB, "api v2.0.0 to production")
    await asyncio.gather(*clicks)
    await s.stack.settle()
    assert len(clicks) == 1
    assert not any("not waiting for approval" in t for t in s.ephemerals(CAROL))
    assert (await s.releases())[-1].state == ReleaseState.SUCCEEDED


async def test_a_dispatch_interrupted_before_its_run_was_stored_is_found_not_repeated(
        tmp_path: Path, slack_contract: SlackContract) -> None:
    time = SimulatedTime(WEDNESDAY)
    github = await FakeGitHub(GitHubContract.load(), clock=time.now, token=TOKEN).start()
    github.dispatch_returns_run = False  # GitHub answers 204: the run is found by its run name
    answer_run = github._get_workflow_run

    def completes_when_polled(values: dict[str, str], query: dict[str, str], body: Any) -> Any:
        github.advance_run(int(values["run_id"]), "completed", "success")
        return answer_run(values, query, body)

    github._get_workflow_run = completes_when_polled  # type: ignore[method-assign]
    sha = github.add_ref("v1.0.0", "ab" * 20)
    github.add_check_run(sha, "build")
    config = tmp_path / "switchman.yml"
    config.write_text(release_config(f'  gh: {{kind: github_actions, api_url: "{github.url}", token_env: GH_TOKEN}}',
                                     provider="gh"))
    settings = Settings.from_env({"SWITCHMAN_DATABASE_URL": f"sqlite:///{tmp_path / 'switchman.db'}",
                                  "SWITCHMAN_CONFIG": str(config), "GH_TOKEN": TOKEN})
    workspace = Workspace(clock=time.now)
    try:
        async with simulated_stack(settings, checker=slack_contract, time=time, workspace=workspace) as first:
            provider = first.ctx.providers["gh"]
            dispatch = provider.dispatch

            async def crash_after_dispatching(target: DeployTarget) -> PipelineRun:
                await dispatch(target)
                raise asyncio.CancelledError  # the process dies before it stores the run

            provider.dispatch = crash_after_dispatching  # type: ignore[method-assign]
            await first.slack.slash_command(ALICE, "/deploy", f"api {sha} to staging", channel="#api-releases")
            await first.settle()
        assert len(github.dispatches) == 1
        async with simulated_stack(settings, checker=slack_contract, time=time, workspace=workspace) as second:
            await second.settle()
            async with second.ctx.db.session() as session:
                release = (await session.exec(select(Release))).one()
            assert release.state == ReleaseState.SUCCEEDED
            assert len(github.dispatches) == 1  # found by its run name, not dispatched again
            assert release.channel_id and release.message_ts
            replies = [m.text for m in workspace.thread(release.channel_id, release.message_ts)]
            assert sum("found the run already dispatched" in t for t in replies) == 1
    finally:
        await github.stop()
    assert github.violations == []
