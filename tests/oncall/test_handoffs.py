"""Handoffs on simulated time: the post, the DMs, the user groups, the reminder, and doing it once."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from bot.oncall import handoffs
from bot.oncall.schedule_models import HandoffRun
from bot.outbox.models import OutboxMessage, OutboxState
from bot.slack_sim.workspace import Workspace
from tests.contracts.slack_contract import SlackContract
from tests.oncall.schedule_scenario import (
    DEV1,
    DEV2,
    NEXT_HANDOFF,
    OPS1,
    OPS2,
    WEDNESDAY,
    advance,
    channel_messages,
    direct_messages,
    group_members,
    group_updates,
    schedule_scenario,
)
from tests.release.scenario import Scenario


def handoff_posts(s: Scenario) -> list[str]:
    return [m.text for m in channel_messages(s, "#api-oncall") if "handoff" in m.text]


async def test_a_handoff_posts_dms_the_incoming_pair_and_syncs_the_user_groups(
        tmp_path: Path, slack_contract: SlackContract) -> None:
    async with schedule_scenario(tmp_path, slack_contract) as s:
        await advance(s, NEXT_HANDOFF - WEDNESDAY - timedelta(minutes=30))
        assert handoff_posts(s) == []
        reminders = direct_messages(s, OPS2) + direct_messages(s, DEV2)
        assert len(reminders) == 2 and all("Reminder: your *api-oncall* shift" in r for r in reminders)
        assert direct_messages(s, OPS1) == []  # ops1 is on call already; nothing to remind

        await advance(s, timedelta(minutes=31))
        [post] = handoff_posts(s)
        assert f"primary <@{OPS2}>, shadow <@{DEV2}>" in post
        message = channel_messages(s, "#api-oncall")[-1]
        body = message.blocks[0]["text"]["text"]
        assert f"Outgoing: primary <@{OPS1}>, shadow <@{DEV1}>" in body and "Open pages: none" in body
        assert any("You are now on call for *api-oncall* as primary" in t for t in direct_messages(s, OPS2))
        assert any("You are now on call for *api-oncall* as shadow" in t for t in direct_messages(s, DEV2))
        assert group_members(s, "@api-oncall") == [OPS2]
        assert group_members(s, "@api-oncall-shadow") == [DEV2]
        [job] = [j for j in s.stack.ctx.scheduler.jobs() if j.id == "handoff-api-oncall"]
        assert job.at == NEXT_HANDOFF + timedelta(weeks=1)


async def test_a_handoff_fired_twice_posts_once(tmp_path: Path, slack_contract: SlackContract) -> None:
    async with schedule_scenario(tmp_path, slack_contract) as s:
        await advance(s, NEXT_HANDOFF - WEDNESDAY)
        updates = len(group_updates(s))
        await handoffs.run_handoff(s.stack.ctx, rotation="api-oncall", shift_start=NEXT_HANDOFF.isoformat())
        await handoffs.run_handoff(s.stack.ctx, rotation="api-oncall", shift_start=NEXT_HANDOFF.isoformat())
        assert len(handoff_posts(s)) == 1
        assert len(group_updates(s)) == updates
        async with s.stack.ctx.db.session() as session:
            runs = (await session.exec(select(HandoffRun).where(HandoffRun.shift_start == NEXT_HANDOFF))).all()
        assert len(runs) == 1 and runs[0].completed_at is not None and runs[0].message_ts is not None


async def test_two_replicas_on_one_database_hand_off_once(tmp_path: Path, slack_contract: SlackContract) -> None:
    workspace = Workspace()
    async with schedule_scenario(tmp_path, slack_contract, workspace=workspace) as first, \
            schedule_scenario(tmp_path, slack_contract, workspace=workspace) as second:
        # Both planned the same handoff at start; both clocks reach it.
        assert any(j.id == "handoff-api-oncall" and j.at == NEXT_HANDOFF for j in second.stack.ctx.scheduler.jobs())
        await advance(first, NEXT_HANDOFF - WEDNESDAY)
        await advance(second, NEXT_HANDOFF - WEDNESDAY)
        assert len(handoff_posts(first)) == 1
        assert group_members(first, "@api-oncall") == [OPS2]
        assert group_members(first, "@api-oncall-shadow") == [DEV2]
        # The replica that lost moves on to the next handoff too.
        [job] = [j for j in second.stack.ctx.scheduler.jobs() if j.id == "handoff-api-oncall"]
        assert job.at == NEXT_HANDOFF + timedelta(weeks=1)


async def test_a_restart_after_the_handoff_does_not_post_again(tmp_path: Path, slack_contract: SlackContract) -> None:
    workspace = Workspace()
    async with schedule_scenario(tmp_path, slack_contract, workspace=workspace) as before:
        await advance(before, NEXT_HANDOFF - WEDNESDAY + timedelta(seconds=5))
        assert len(handoff_posts(before)) == 1
    async with schedule_scenario(tmp_path, slack_contract, workspace=workspace,
                                 start=NEXT_HANDOFF + timedelta(minutes=1)) as after:
        await advance(after, timedelta(hours=1))
        assert len(handoff_posts(after)) == 1
        assert group_members(after, "@api-oncall") == [OPS2]


async def test_a_process_down_at_the_handoff_catches_up_at_start(tmp_path: Path, slack_contract: SlackContract) -> None:
    workspace = Workspace()
    async with schedule_scenario(tmp_path, slack_contract, workspace=workspace) as before:
        await advance(before, NEXT_HANDOFF - WEDNESDAY)
        assert len(handoff_posts(before)) == 1
    # Down from Tuesday until two hours after the following Monday's handoff.
    async with schedule_scenario(tmp_path, slack_contract, workspace=workspace,
                                 start=NEXT_HANDOFF + timedelta(weeks=1, hours=2)) as after:
        await advance(after, timedelta(seconds=1))
        posts = handoff_posts(after)
        assert len(posts) == 2
        assert f"primary <@{OPS1}>, shadow <@U01DEV3>" in posts[-1]
        assert group_members(after, "@api-oncall") == [OPS1]


@pytest.mark.parametrize("failure", [
    {"error": "service_unavailable", "times": 3},
    {"status": 500, "error": "internal_error", "times": 2},
    {"status": 429, "retry_after": 30},
], ids=["unavailable", "500", "429"])
async def test_slack_down_at_the_handoff_is_retried_and_posted_once(tmp_path: Path, slack_contract: SlackContract,
                                                                    failure: dict[str, Any]) -> None:
    async with schedule_scenario(tmp_path, slack_contract) as s:
        await advance(s, NEXT_HANDOFF - WEDNESDAY - timedelta(seconds=1))
        s.stack.api.fail("chat.postMessage", match=lambda params: params.get("channel") == "#api-oncall", **failure)
        # The handoff is recorded at once; the outbox retries its post until Slack answers.
        await advance(s, timedelta(seconds=1))
        assert len(handoff_posts(s)) == 1
        assert group_members(s, "@api-oncall") == [OPS2]
        assert any("You are now on call" in t for t in direct_messages(s, OPS2))
        async with s.stack.ctx.db.session() as session:
            [run] = (await session.exec(select(HandoffRun).where(HandoffRun.shift_start == NEXT_HANDOFF))).all()
            [row] = (await session.exec(select(OutboxMessage).where(OutboxMessage.anchor == f"handoff:{run.id}"))).all()
        assert row.state == OutboxState.SENT and row.attempts == failure.get("times", 1) + 1
        assert (run.channel_id, run.message_ts) == (row.sent_channel, row.sent_ts)


async def test_a_handoff_dm_slack_posted_but_answered_500_is_not_sent_again(tmp_path: Path,
                                                                           slack_contract: SlackContract) -> None:
    async with schedule_scenario(tmp_path, slack_contract) as s:
        await advance(s, NEXT_HANDOFF - WEDNESDAY - timedelta(seconds=1))
        im = s.stack.workspace.im_with(OPS2).id
        s.stack.api.fail("chat.postMessage", status=500, drop_response=True,
                         match=lambda params: params.get("channel") == im and "now on call" in params.get("text", ""))
        await advance(s, timedelta(seconds=1))
        assert len([t for t in direct_messages(s, OPS2) if "You are now on call" in t]) == 1
        assert len(handoff_posts(s)) == 1
        assert len(s.stack.api.calls_of("conversations.history")) >= 1  # it looked before posting again
