"""A double click on Approve, through signed requests and the simulated Slack: two deliveries with
different trigger ids, one vote, and the clicker answered without an apology (decision 0009)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlmodel import select

from bot.release.models import Approval, ReleaseState
from bot.slack.ids import ActionId
from tests.contracts.slack_contract import SlackContract
from tests.release.scenario import SANDBOX, release_config, scenario
from tests.release.test_exactly_once import ALICE, BOB, CAROL, WEDNESDAY, button


async def test_a_double_click_on_approve_is_one_vote_and_is_answered(tmp_path: Path,
                                                                     slack_contract: SlackContract) -> None:
    async with scenario(tmp_path, slack_contract, config=release_config(SANDBOX), start=WEDNESDAY) as s:
        await s.command(ALICE, "api v1.4.2 to staging")
        await s.command(BOB, "api v1.4.2 to production")
        release = (await s.releases())[-1]
        assert release.state == ReleaseState.AWAITING_APPROVAL
        press = button(s, CAROL, release, ActionId.APPROVE)

        first, second = await asyncio.gather(press(), press())
        await s.stack.settle()

        assert (first.status, second.status) == (200, 200)
        async with s.stack.ctx.db.session() as session:
            assert len((await session.exec(select(Approval))).all()) == 1
        assert (await s.release(release.id or 0)).state == ReleaseState.SUCCEEDED
        told = s.ephemerals(CAROL)
        assert len(told) == 2 and all("approved" in text for text in told), told
        assert not any("went wrong" in text.lower() or "correlation" in text.lower() for text in told)
        lane = s.stack.ctx.lane
        assert lane.counts.started + lane.counts.merged >= 2 and lane.counts.refused == 0
