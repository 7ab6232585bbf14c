"""Promote past an inconclusive verification when the environment names no `overriders`: its approvers decide.

Through the real wire: signed button clicks to the real Bolt app, the fake Slack checking every call.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.release.models import Release, ReleaseState
from bot.slack.ids import ActionId
from tests.contracts.slack_contract import SlackContract
from tests.release.scenario import Scenario, scenario
from tests.release.test_rollback import WEDNESDAY, Health, config

ALICE, BOB, CAROL, DAVE = "U0ALICE", "U0BOB", "U0CAROL", "U0DAVE"  # carol and bob are in @sre, the approvers


def without_overriders(text: str, *, approval: bool = True) -> str:
    text = text.replace('        overriders: ["@sre"]\n', "")
    if not approval:
        text = text.replace(', {approval: {count: 1, group: "@sre"}}', "")
    assert "overriders" not in text
    return text


def no_data_config(health: Health, *, approval: bool = True) -> str:
    no_data = "\n          - {http: {url: \"" + health.url + "\", json_field: latency_ms}}"
    return without_overriders(config(health.url, extra_check=no_data), approval=approval)


@pytest.fixture
async def health() -> AsyncIterator[Health]:
    endpoint = Health()
    runner = await endpoint.start()
    yield endpoint
    await runner.cleanup()


async def paused_release(s: Scenario, requester: str, *, approver: str | None = CAROL) -> Release:
    await s.command(requester, "api v1.0.0 to production")
    release = (await s.releases())[-1]
    if approver is not None:
        await s.press(approver, release, ActionId.APPROVE)
    await s.time.advance(timedelta(minutes=5))
    await s.stack.settle()
    release = await s.release(release.id or 0)
    assert release.state == ReleaseState.PAUSED
    assert "*Rollout paused.* Verification is inconclusive" in s.thread_text(release)
    return release


async def test_an_approver_promotes_when_no_overriders_are_configured(tmp_path: Path, slack_contract: SlackContract,
                                                                      health: Health) -> None:
    async with scenario(tmp_path, slack_contract, config=no_data_config(health), start=WEDNESDAY) as s:
        release = await paused_release(s, ALICE)

        for outsider in (DAVE, ALICE):  # a deployer who is no approver; the requester, no approver either
            await s.press(outsider, release, ActionId.PROMOTE)
            assert any("only production's approvers (@sre) can promote past a verification; no overriders are "
                       "configured there" in t for t in s.ephemerals(outsider))
        assert (await s.release(release.id or 0)).state == ReleaseState.PAUSED

        await s.press(CAROL, release, ActionId.PROMOTE)

        release = await s.release(release.id or 0)
        assert (release.state, release.stage_index) == (ReleaseState.VERIFYING, 1)  # baking stage 2
        promoted = [d for d in await s.ledger(release.id) if d.kind == "override"]
        assert [(d.outcome, d.actor) for d in promoted] == [("promoted", CAROL)]
        assert f"<@{CAROL}> promoted past the" in s.thread_text(release)


async def test_an_approver_cannot_promote_their_own_release(tmp_path: Path, slack_contract: SlackContract,
                                                            health: Health) -> None:
    async with scenario(tmp_path, slack_contract, config=no_data_config(health), start=WEDNESDAY) as s:
        release = await paused_release(s, BOB)  # bob deploys (@api-devs) and approves (@sre)

        await s.press(BOB, release, ActionId.PROMOTE)

        assert any(f"you requested release #{release.id}, so as an approver you cannot promote it" in t
                   for t in s.ephemerals(BOB))
        assert (await s.release(release.id or 0)).state == ReleaseState.PAUSED


async def test_with_neither_overriders_nor_approvers_the_refusal_says_none_are_configured(
        tmp_path: Path, slack_contract: SlackContract, health: Health) -> None:
    async with scenario(tmp_path, slack_contract, config=no_data_config(health, approval=False),
                        start=WEDNESDAY) as s:
        release = await paused_release(s, ALICE, approver=None)

        await s.press(CAROL, release, ActionId.PROMOTE)

        assert any("no one can promote past a verification in production: it has no overriders and no approval "
                   "gate configured" in t for t in s.ephemerals(CAROL))
        assert (await s.release(release.id or 0)).state == ReleaseState.PAUSED
