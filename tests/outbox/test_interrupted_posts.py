"""A post whose answer was lost is looked for before it is sent again, whatever fails while looking."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.release.models import ReleaseState
from bot.slack_sim.workspace import BOT_USER_ID, Workspace
from tests.contracts.slack_contract import SlackContract
from tests.release.scenario import SANDBOX, Scenario, release_config, scenario

WEDNESDAY = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)
ENVIRON = {"SWITCHMAN_SLACK_TIMEOUT": "1s"}


def nth_call(n: int) -> Callable[[dict[str, Any]], bool]:
    counter = itertools.count()
    return lambda _: next(counter) == n


def copies(workspace: Workspace) -> Counter[int]:
    """How often each outbox row appears in Slack."""
    return Counter(int(m.metadata["event_payload"]["outbox_id"]) for m in workspace.messages.values()
                   if m.user == BOT_USER_ID and m.metadata)


async def deploy(s: Scenario) -> None:
    await s.command("U0ALICE", "api v1.0.0 to staging")
    await s.stack.settle()
    [release] = await s.releases()
    assert release.state == ReleaseState.SUCCEEDED


async def test_a_parent_whose_answer_was_lost_is_found_in_the_channel_not_posted_again(
        tmp_path: Path, slack_contract: SlackContract) -> None:
    async with scenario(tmp_path, slack_contract, config=release_config(SANDBOX), start=WEDNESDAY,
                        environ=ENVIRON) as s:
        s.stack.api.fail("chat.postMessage", match=nth_call(0), drop_response=True)  # Slack posts it; 500
        await deploy(s)
        assert max(copies(s.stack.workspace).values()) == 1
        parents = [m for m in s.stack.workspace.messages.values() if m.thread_ts is None and m.user == BOT_USER_ID]
        assert len(parents) == 1


async def test_a_reply_is_not_posted_again_when_looking_for_it_is_rate_limited(
        tmp_path: Path, slack_contract: SlackContract) -> None:
    async with scenario(tmp_path, slack_contract, config=release_config(SANDBOX), start=WEDNESDAY,
                        environ=ENVIRON) as s:
        s.stack.api.fail("chat.postMessage", match=nth_call(2), drop_response=True)  # a reply lands; 500
        s.stack.api.fail("conversations.replies", status=429, retry_after=1)  # and the look is refused once
        await deploy(s)
        assert max(copies(s.stack.workspace).values()) == 1


async def test_a_reply_is_not_posted_again_when_looking_for_it_fails(
        tmp_path: Path, slack_contract: SlackContract) -> None:
    async with scenario(tmp_path, slack_contract, config=release_config(SANDBOX), start=WEDNESDAY,
                        environ=ENVIRON) as s:
        s.stack.api.fail("chat.postMessage", match=nth_call(2), drop_response=True)
        s.stack.api.fail("conversations.replies", status=500, error="internal_error")
        await deploy(s)
        assert max(copies(s.stack.workspace).values()) == 1
