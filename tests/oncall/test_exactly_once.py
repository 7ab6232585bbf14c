"""Slack's retries of `/oncall` commands and of page and swap buttons, delivered after the first
finished or while it still runs: each acts once, and every copy is answered as the first was."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import col, select

from bot.ledger.models import Decision
from bot.oncall.models import PageStatus
from bot.oncall.schedule_models import AbsenceRecord, ScheduleOverride, SwapRequest
from bot.slack.ids import ActionId
from bot.slack_sim.interactions import Delivery
from bot.slack_sim.workspace import SimMessage
from tests.contracts.slack_contract import SlackContract
from tests.oncall.paging_scenario import ENVIRON, PAGING_CONFIG, WEDNESDAY, channel_messages, dms, pages
from tests.oncall.schedule_scenario import DEV1, OPS1, OPS2, advance, schedule_scenario
from tests.oncall.schedule_scenario import channel_messages as top_level_messages
from tests.release.scenario import Scenario, delivered_three_times, scenario

ALICE, LEAD = "U0ALICE", "U01LEAD"
PAGE = 'page api-oncall "checkout returns 500s"'


def oncall(s: Scenario, user: str, text: str) -> Callable[[], Awaitable[Delivery]]:
    return lambda: s.stack.slack.slash_command(user, "/oncall", text, channel="#general")


def click(s: Scenario, user: str, message: SimMessage, action_id: str) -> Callable[[], Awaitable[Delivery]]:
    async def send() -> Delivery:
        current = s.stack.workspace.messages[(message.channel, message.ts)]
        for block in current.blocks:
            for element in block.get("elements", []):
                if element.get("action_id") == action_id:
                    return await s.stack.slack.block_action(user, current, action_id=action_id,
                                                            block_id=block.get("block_id"), value=element.get("value"))
        raise AssertionError(f"no {action_id} button on the message")

    return send


def told(s: Scenario, user: str) -> list[str]:
    return s.ephemerals(user)


@pytest.fixture
async def paging(tmp_path: Path, slack_contract: SlackContract):  # type: ignore[no-untyped-def]
    async with scenario(tmp_path, slack_contract, config=PAGING_CONFIG, start=WEDNESDAY, environ=ENVIRON) as s:
        yield s


@pytest.mark.parametrize("at_once", [False, True], ids=["after", "at-once"])
async def test_a_retried_page_opens_one_page_and_sends_two_dms(paging: Scenario, at_once: bool) -> None:
    s = paging
    await delivered_three_times(s, oncall(s, ALICE, PAGE), at_once=at_once)
    [page] = await pages(s)
    assert page.primary and page.shadow
    assert len(dms(s, page.primary)) == 1 and len(dms(s, page.shadow)) == 1
    assert len(channel_messages(s, "api-oncall")) == 1
    answers = told(s, ALICE)
    assert len(answers) == 3 and len(set(answers)) == 1 and "page #1 opened in `api-oncall`" in answers[0]


async def test_a_page_retried_after_it_was_resolved_is_not_opened_again(paging: Scenario) -> None:
    s = paging
    await s.command(ALICE, PAGE, command="/oncall")
    sent = len(s.stack.slack.sent) - 1
    await s.command(ALICE, "resolve 1", command="/oncall")
    await s.stack.slack.replay(sent, retry_num=1)
    await s.stack.settle()
    [page] = await pages(s)
    assert page.status == PageStatus.RESOLVED
    assert told(s, ALICE)[-1] == told(s, ALICE)[0]  # the retry is told what the page command was told


async def test_a_retried_ack_click_acks_once_and_escalation_stays_stopped(paging: Scenario) -> None:
    s = paging
    await s.command(ALICE, PAGE, command="/oncall")
    [page] = await pages(s)
    assert page.primary
    await delivered_three_times(s, click(s, page.primary, dms(s, page.primary)[0], ActionId.PAGE_ACK), at_once=True)
    [page] = await pages(s)
    assert (page.status, page.acked_by) == (PageStatus.ACKNOWLEDGED, page.primary)
    assert told(s, page.primary) == ["you acknowledged page #1; escalation stopped."] * 3
    await advance(s, timedelta(minutes=10))
    assert dms(s, LEAD) == []


async def test_a_retried_shadow_ack_and_resolve_each_act_once(paging: Scenario) -> None:
    s = paging
    await s.command(ALICE, PAGE, command="/oncall")
    [page] = await pages(s)
    assert page.shadow
    await delivered_three_times(s, oncall(s, page.shadow, "ack 1"), at_once=False)
    assert len(told(s, page.shadow)) == 3 and all("marked as seen" in t for t in told(s, page.shadow))
    await delivered_three_times(s, oncall(s, ALICE, "resolve 1"), at_once=True)
    assert told(s, ALICE)[-3:] == ["you resolved page #1."] * 3
    [page] = await pages(s)
    assert (page.status, page.resolved_by, page.seen_by) == (PageStatus.RESOLVED, ALICE, page.shadow)


@pytest.fixture
async def rota(tmp_path: Path, slack_contract: SlackContract):  # type: ignore[no-untyped-def]
    async with schedule_scenario(tmp_path, slack_contract) as s:
        yield s


async def overrides(s: Scenario) -> list[ScheduleOverride]:
    async with s.stack.ctx.db.session() as session:
        return list((await session.exec(select(ScheduleOverride).order_by(col(ScheduleOverride.id)))).all())


async def requests(s: Scenario) -> list[SwapRequest]:
    async with s.stack.ctx.db.session() as session:
        return list((await session.exec(select(SwapRequest))).all())


async def test_a_retried_cover_request_and_its_take_and_approve_clicks_act_once(rota: Scenario) -> None:
    s = rota
    await delivered_three_times(s, oncall(s, OPS2, "cover api-oncall 2026-11-25 2026-11-26"), at_once=True)
    [request] = await requests(s)
    posted = top_level_messages(s, "#api-oncall")
    assert len([m for m in posted if "Cover request #1" in m.text]) == 1
    assert len(told(s, OPS2)) == 3 and len(set(told(s, OPS2))) == 1

    message = posted[-1]
    await delivered_three_times(s, click(s, OPS1, message, ActionId.SWAP_TAKE), at_once=True)
    assert [r.taker for r in await requests(s)] == [OPS1]
    assert len(told(s, OPS1)) == 3 and all("You offered to take request #1" in t for t in told(s, OPS1))
    assert not any("someone else took" in t for t in told(s, OPS1))

    await delivered_three_times(s, click(s, OPS2, message, ActionId.SWAP_APPROVE), at_once=False)
    assert [r.status for r in await requests(s)] == ["approved"]
    assert told(s, OPS2)[-3:] == [f"Approved request #1: <@{OPS1}> takes over; the schedule is updated."] * 3
    first = await overrides(s)
    assert first and all(o.request_id == request.id for o in first)
    async with s.stack.ctx.db.session() as session:
        assert len((await session.exec(select(Decision).where(Decision.kind == "cover"))).all()) == 1


async def test_a_retried_decline_declines_once(rota: Scenario) -> None:
    s = rota
    await s.stack.slack.slash_command(OPS2, "/oncall", f"cover api-oncall 2026-11-25 2026-11-26 <@{OPS1}>",
                                      channel="#general")
    await s.stack.settle()
    message = top_level_messages(s, "#api-oncall")[-1]
    await delivered_three_times(s, click(s, OPS1, message, ActionId.SWAP_DECLINE), at_once=True)
    assert [(r.status, r.approver) for r in await requests(s)] == [("declined", OPS1)]
    assert told(s, OPS1) == ["You declined request #1; the schedule is unchanged."] * 3


async def test_a_retried_away_records_one_absence(rota: Scenario) -> None:
    s = rota
    await delivered_three_times(s, oncall(s, DEV1, "away 2026-11-24 2026-11-25"), at_once=False)
    async with s.stack.ctx.db.session() as session:
        assert len((await session.exec(select(AbsenceRecord))).all()) == 1
    assert all(t.startswith("Noted: you are away") for t in told(s, DEV1))
