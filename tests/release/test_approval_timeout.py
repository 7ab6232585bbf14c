"""Time-boxed reviews (§4 `approval_timeout`): an approval nobody gives in time is escalated to the on-call
primary, once, on simulated time, across a restart of Switchman."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.ledger.models import Decision
from bot.release.models import ReleaseState
from bot.settings import Settings
from bot.simulated_time import SimulatedTime
from bot.slack.ids import ActionId
from bot.slack_sim.stack import simulated_stack
from bot.slack_sim.workspace import Workspace
from tests.contracts.slack_contract import SlackContract
from tests.release.scenario import Scenario

WEDNESDAY = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)
ALICE, CAROL, OPS = "U0ALICE", "U0CAROL", "U01OPS1"
CONFIG = """
providers:
  sandbox: {kind: sandbox, run_duration: 30s}
services:
  api:
    channel: "#api-releases"
    provider: sandbox
    repo: acme/api
    workflow: deploy.yml
    environments:
      production:
        gates: [ci_green, {approval: {count: 1, group: "@sre"}}]
        approval_timeout: 30m
rotations:
  api-oncall:
    channel: "#api-oncall"
    timezone: Europe/Berlin
    handoff: {every: week, day: monday, at: "10:00"}
    primaries: [U01OPS1]
    services: [api]
"""


def settings_in(tmp_path: Path) -> Settings:
    path = tmp_path / "switchman.yml"
    path.write_text(CONFIG)
    return Settings.from_env({"SWITCHMAN_DATABASE_URL": f"sqlite:///{tmp_path / 'switchman.db'}",
                              "SWITCHMAN_CONFIG": str(path)})


def dms(workspace: Workspace, user: str) -> list[str]:
    return [m.text for m in workspace.channel_history(workspace.im_with(user).id)]


async def escalations(s: Scenario) -> list[Decision]:
    return [d for d in await s.ledger() if d.kind == "escalation"]


async def test_an_unanswered_approval_is_escalated_once_to_the_primary_across_a_restart(
        tmp_path: Path, slack_contract: SlackContract) -> None:
    settings, time, workspace = settings_in(tmp_path), SimulatedTime(WEDNESDAY), Workspace()
    async with simulated_stack(settings, checker=slack_contract, time=time, workspace=workspace) as first:
        s = Scenario(first, time.clock, time)
        await s.command(ALICE, "api v1.0.0 to production")
        release = (await s.releases())[-1]
        assert release.state == ReleaseState.AWAITING_APPROVAL
        await time.advance(timedelta(minutes=20))
        await first.settle()
        assert await escalations(s) == [] and dms(workspace, OPS) == []
        assert first.api.violations == []
    # Switchman restarts 20 minutes into the wait; the timer is planned again from the release row.
    async with simulated_stack(settings, checker=slack_contract, time=time, workspace=workspace) as second:
        s = Scenario(second, time.clock, time)
        await time.advance(timedelta(minutes=9))
        await second.settle()
        assert await escalations(s) == []
        await time.advance(timedelta(minutes=2))
        await second.settle()
        [row] = await escalations(s)
        assert (row.outcome, row.actor, row.release_id) == ("escalated", "switchman", release.id)
        assert row.evidence["to"] == OPS and row.evidence["waited_seconds"] == 30 * 60
        assert row.evidence["timeout"] == "30m" and "needs 1 more approval from @sre" in row.evidence["waiting_for"][0]
        # Due 30m after the wait began: that is when the GO/NO-GO decision said WAITING (ci_green may poll a
        # few simulated seconds first), not when the command came.
        waiting_since = datetime.fromisoformat(str((await s.release(release.id or 0)).detail["waiting_since"]))
        assert WEDNESDAY <= waiting_since < WEDNESDAY + timedelta(minutes=1)
        assert row.decided_at == waiting_since + timedelta(minutes=30)
        release = await s.release(release.id or 0)
        assert f"Nobody answered within 30m: <@{OPS}>, as on-call primary of api-oncall" in s.thread_text(release)
        [dm] = dms(workspace, OPS)
        assert "has waited 30m for needs 1 more approval" in dm and "the thread" in dm

        await time.advance(timedelta(hours=2))  # still waiting: escalated once, not again
        await second.settle()
        assert len(await escalations(s)) == 1 and len(dms(workspace, OPS)) == 1
        await s.press(CAROL, release, ActionId.APPROVE)
        assert (await s.release(release.id or 0)).state == ReleaseState.SUCCEEDED
        assert second.api.violations == []


async def test_an_approval_given_in_time_is_not_escalated(tmp_path: Path, slack_contract: SlackContract) -> None:
    time, workspace = SimulatedTime(WEDNESDAY), Workspace()
    async with simulated_stack(settings_in(tmp_path), checker=slack_contract, time=time, workspace=workspace) as stack:
        s = Scenario(stack, time.clock, time)
        await s.command(ALICE, "api v1.0.0 to production")
        release = (await s.releases())[-1]
        await time.advance(timedelta(minutes=29))
        await s.press(CAROL, release, ActionId.APPROVE)
        await time.advance(timedelta(hours=1))
        await stack.settle()
        assert (await s.release(release.id or 0)).state == ReleaseState.SUCCEEDED
        assert await escalations(s) == [] and dms(workspace, OPS) == []
