"""A schedule test bed: two rotations, and stacks that share one database and one workspace (replicas)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.settings import Settings
from bot.simulated_time import SimulatedTime
from bot.slack_sim.stack import simulated_stack
from bot.slack_sim.workspace import SimEvent, SimMessage, Workspace
from tests.contracts.slack_contract import SlackContract
from tests.release.scenario import Scenario

OPS1, OPS2, OPS3 = "U01OPS1", "U01OPS2", "U01OPS3"
DEV1, DEV2, DEV3, DEV4 = "U01DEV1", "U01DEV2", "U01DEV3", "U01DEV4"
BOB = "U0BOB"  # in the seeded cast, America/Chicago, in no rotation
PUBLIC_URL = "https://switchman.example.com"
# Wednesday 11:00 in Berlin; api-oncall hands off next on Monday 23 Nov at 10:00 Berlin (09:00 UTC).
WEDNESDAY = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)
NEXT_HANDOFF = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

SCHEDULE_CONFIG = """
rotations:
  api-oncall:
    channel: "#api-oncall"
    timezone: Europe/Berlin
    handoff: {every: week, day: monday, at: "10:00"}
    primaries: [U01OPS1, U01OPS2]
    shadows: [U01DEV1, U01DEV2, U01DEV3]
    usergroups: {primary: "@api-oncall", shadow: "@api-oncall-shadow"}
    graduation: {shadow_shifts: 2, pages_seen: 1}
    reminder_before: 1h
  web-oncall:
    channel: "#web-oncall"
    timezone: America/Chicago
    handoff: {every: day, at: "09:00"}
    primaries: [U01OPS3]
    shadows: [U01DEV4]
"""


@asynccontextmanager
async def schedule_scenario(tmp_path: Path, contract: SlackContract, *, config: str = SCHEDULE_CONFIG,
                            start: datetime = WEDNESDAY, workspace: Workspace | None = None
                            ) -> AsyncIterator[Scenario]:
    """The stack on its own simulated time. Two calls with the same tmp_path and workspace are two
    replicas (or a process before and after a restart) on one database and one Slack workspace."""
    path = tmp_path / "switchman.yml"
    path.write_text(config)
    settings = Settings.from_env({"SWITCHMAN_DATABASE_URL": f"sqlite:///{tmp_path / 'switchman.db'}",
                                  "SWITCHMAN_CONFIG": str(path), "SWITCHMAN_PUBLIC_URL": PUBLIC_URL})
    time = SimulatedTime(start)
    async with simulated_stack(settings, checker=contract, time=time, workspace=workspace) as stack:
        yield Scenario(stack, time.clock, time)
        await stack.settle()
        assert stack.api.violations == [], f"calls Slack would have rejected: {stack.api.violations}"
        assert stack.ctx.background.failures == 0, "a background task failed"


async def advance(s: Scenario, delta: timedelta) -> None:
    """Let `delta` of simulated time pass as a running Switchman lives it: the messages each job queues
    go out (the outbox sends them in the background) before the next job is due."""
    target = s.clock.now() + delta
    while True:
        due = [j.at for j in s.stack.ctx.scheduler.jobs() if j.at <= target]
        step = min(due) if due else target
        await s.time.advance(max(step - s.clock.now(), timedelta(0)))
        await s.stack.settle()
        if not due or s.clock.now() >= target:
            return


async def oncall(s: Scenario, user: str, text: str, *, channel: str = "#general") -> str:
    """Type `/oncall text` as `user` in `channel`; the ephemeral answer it got."""
    before = len(s.ephemerals(user))
    await s.stack.slack.slash_command(user, "/oncall", text, channel=channel)
    await s.stack.settle()
    answers = s.ephemerals(user)[before:]
    assert answers, f"no answer to /oncall {text}"
    return "\n".join(answers)


def channel_messages(s: Scenario, channel: str) -> list[SimMessage]:
    found = s.stack.workspace.channel_by_name(channel)
    assert found is not None
    return sorted((m for m in s.stack.workspace.messages.values() if m.channel == found.id and not m.thread_ts),
                  key=lambda m: m.ts)


def direct_messages(s: Scenario, user: str) -> list[str]:
    im = s.stack.workspace.im_with(user).id
    return [e.text for e in s.stack.workspace.events if e.kind == "message" and e.channel == im]


def group_members(s: Scenario, handle: str) -> list[str]:
    group = s.stack.workspace.usergroup(handle)
    assert group is not None
    return group.users


def group_updates(s: Scenario) -> list[SimEvent]:
    return [e for e in s.stack.workspace.events if e.kind == "usergroup"]


async def press(s: Scenario, user: str, message: SimMessage, action_id: str, *,
                stale: list[dict[str, Any]] | None = None) -> None:
    """Press a button of a channel message as `user` (a signed block action), and wait for the answer.

    `stale` presses a button from blocks the message had earlier, as a click racing an update does.
    """
    current = s.stack.workspace.messages[(message.channel, message.ts)]
    for block in stale if stale is not None else current.blocks:
        for element in block.get("elements", []):
            if element.get("action_id") == action_id:
                await s.stack.slack.block_action(user, current, action_id=action_id, block_id=block.get("block_id"),
                                                 value=element.get("value"))
                await s.stack.settle()
                return
    raise AssertionError(f"no {action_id} button on the message")
