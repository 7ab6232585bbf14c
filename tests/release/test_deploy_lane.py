"""`/deploy SERVICE to ENV` hands its request to the bounded interaction lane (decision 0009).

A burst of deploy requests used to be one background task each, without bound, on the loop that acks;
in the lane a request past its queue is refused with "busy" and creates nothing, and a re-delivery of a
request still in the lane is merged into it.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from bot.interaction_lane import InteractionLane
from bot.slack.responder import BUSY
from tests.contracts.slack_contract import SlackContract
from tests.release.scenario import SANDBOX, Scenario, release_config, scenario

WEDNESDAY = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)
ALICE = "U0ALICE"


def full_lane(s: Scenario) -> tuple[InteractionLane, asyncio.Event]:
    """A lane of one worker and no queue, its worker held by someone else's click until the event is set."""
    lane = InteractionLane(s.stack.ctx.background, workers=1, queue_limit=0)
    s.stack.ctx.lane = lane
    held = asyncio.Event()

    async def other_work() -> None:
        await held.wait()

    lane.submit(other_work, name="someone else's click")
    return lane, held


async def test_a_deploy_request_past_a_full_lane_is_told_busy_and_creates_nothing(
        tmp_path: Path, slack_contract: SlackContract) -> None:
    async with scenario(tmp_path, slack_contract, config=release_config(SANDBOX), start=WEDNESDAY) as s:
        lane, held = full_lane(s)
        refused = await s.stack.slack.slash_command(ALICE, "/deploy", "api v1.0.0 to staging", channel="#api-releases")
        held.set()
        await s.stack.settle()

        assert refused.status == 200
        assert refused.json()["text"] == BUSY  # told in the ack itself: no response_url post for a refusal
        assert s.ephemerals(ALICE) == [BUSY]
        assert await s.releases() == []
        assert (lane.counts.refused, lane.counts.unanswered, lane.counts.started) == (1, 0, 1)

        await s.command(ALICE, "api v1.0.0 to staging")  # the lane has room again: the same request now goes through

        assert [r.ref for r in await s.releases()] == ["v1.0.0"]
        assert any("Release #1 started" in t for t in s.ephemerals(ALICE))


async def test_an_oncall_command_past_a_full_lane_is_told_busy_in_its_ack_and_changes_nothing(
        tmp_path: Path, slack_contract: SlackContract) -> None:
    async with scenario(tmp_path, slack_contract, config=release_config(SANDBOX), start=WEDNESDAY) as s:
        lane, held = full_lane(s)
        refused = await s.stack.slack.slash_command(ALICE, "/oncall", "", channel="#api-releases")
        held.set()
        await s.stack.settle()

        assert refused.status == 200 and refused.json()["text"] == BUSY
        assert s.ephemerals(ALICE) == [BUSY]
        assert (lane.counts.refused, lane.counts.started) == (1, 1)  # the refused command never started


async def test_a_redelivered_deploy_request_is_merged_and_acts_once(tmp_path: Path, slack_contract: SlackContract
                                                                    ) -> None:
    async with scenario(tmp_path, slack_contract, config=release_config(SANDBOX), start=WEDNESDAY) as s:
        lane = InteractionLane(s.stack.ctx.background, workers=1, queue_limit=4)
        s.stack.ctx.lane = lane
        held = asyncio.Event()

        async def other_work() -> None:
            await held.wait()

        lane.submit(other_work, name="someone else's click")  # keeps the request queued while Slack retries it
        first = await s.stack.slack.slash_command(ALICE, "/deploy", "api v1.0.0 to staging", channel="#api-releases")
        retry = await s.stack.slack.replay(retry_num=1)
        held.set()
        await s.stack.settle()

        assert (first.status, retry.status) == (200, 200)
        assert lane.counts.merged == 1
        assert [r.ref for r in await s.releases()] == ["v1.0.0"]
        assert sum("Release #1 started" in t for t in s.ephemerals(ALICE)) == 1
