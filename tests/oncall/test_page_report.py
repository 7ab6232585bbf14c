"""`/oncall page ID` through signed requests: a page's state and its notifications, and clear answers to bad ids."""

from __future__ import annotations

from pathlib import Path

from tests.contracts.slack_contract import SlackContract
from tests.oncall.paging_scenario import ENVIRON, PAGING_CONFIG, WEDNESDAY, pagerduty_event, pages, post
from tests.oncall.schedule_scenario import oncall
from tests.oncall.test_paging import pair
from tests.release.scenario import scenario


async def test_a_page_without_people_rules_shows_its_slack_messages(tmp_path: Path,
                                                                    slack_contract: SlackContract) -> None:
    async with scenario(tmp_path, slack_contract, config=PAGING_CONFIG, start=WEDNESDAY, environ=ENVIRON) as s:
        primary, shadow = await pair(s)
        await post(s, "/webhooks/events", pagerduty_event())
        await s.command(shadow, "ack 1", command="/oncall")
        answer = await oncall(s, "U0ALICE", "page #1")
        assert "*Page #1* in `api-oncall`: Disk on db-1 is 95% full" in answer
        assert "Status: *triggered* · opened Wed 18 Nov 11:00 CET by events" in answer
        assert f"Primary <@{primary}> · shadow <@{shadow}>" in answer and f"Seen by <@{shadow}>" in answer
        assert "• Slack: the channel post, Wed 18 Nov 11:00 CET" in answer
        assert f"• Slack DM to <@{primary}> (primary)" in answer and f"• Slack DM to <@{shadow}> (shadow)" in answer
        assert "SMS" not in answer
        assert len(await pages(s)) == 1


async def test_bad_page_ids_are_answered_with_the_usage(tmp_path: Path, slack_contract: SlackContract) -> None:
    async with scenario(tmp_path, slack_contract, config=PAGING_CONFIG, start=WEDNESDAY, environ=ENVIRON) as s:
        assert "page #99 does not exist" in await oncall(s, "U0ALICE", "page 99")
        assert "is not a page id" in await oncall(s, "U0ALICE", "page 0")
        answer = await oncall(s, "U0ALICE", "page api-oncall")
        assert 'expected `/oncall page ROTATION "message"` or `/oncall page ID`' in answer
        assert await pages(s) == []
