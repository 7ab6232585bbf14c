"""`/oncall` schedule commands end to end: signed slash commands and buttons against the simulated Slack."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import col, select

from bot.ledger.models import Decision
from bot.oncall.roster import current_shift, schedule
from bot.oncall.schedule_models import ScheduleOverride, SwapRequest
from bot.slack.ids import ActionId
from tests.contracts.slack_contract import SlackContract
from tests.oncall.schedule_scenario import (
    BOB,
    DEV1,
    DEV2,
    DEV3,
    DEV4,
    NEXT_HANDOFF,
    OPS1,
    OPS2,
    OPS3,
    PUBLIC_URL,
    advance,
    channel_messages,
    group_members,
    oncall,
    press,
    schedule_scenario,
)
from tests.release.scenario import Scenario


@pytest.fixture
async def s(tmp_path: Path, slack_contract: SlackContract):  # type: ignore[no-untyped-def]
    async with schedule_scenario(tmp_path, slack_contract) as running:
        yield running


async def test_oncall_shows_both_roles_with_the_shift_end_in_the_viewers_zone(s: Scenario) -> None:
    berlin = await oncall(s, OPS1, "")  # ops1 is only in api-oncall, and lives in Berlin
    assert f"*api-oncall*: primary <@{OPS1}>, shadow <@{DEV1}> — until Mon 23 Nov 10:00 CET" in berlin
    assert "web-oncall" not in berlin
    chicago = await oncall(s, BOB, "")  # bob is in no rotation: every rotation, in Chicago time
    assert f"*api-oncall*: primary <@{OPS1}>, shadow <@{DEV1}> — until Mon 23 Nov 03:00 CST" in chicago
    assert f"*web-oncall*: primary <@{OPS3}>, shadow <@{DEV4}> — until Wed 18 Nov 09:00 CST" in chicago


async def test_oncall_in_a_rotation_channel_shows_that_rotation(s: Scenario) -> None:
    await advance(s, timedelta(hours=6))  # web-oncall hands off in #web-oncall at 09:00 Chicago
    answer = await oncall(s, BOB, "", channel="#web-oncall")
    assert "*web-oncall*" in answer and "api-oncall" not in answer


async def test_rotation_next_and_me(s: Scenario) -> None:
    one = await oncall(s, BOB, "api-oncall")
    assert f"next: primary <@{OPS2}>, shadow <@{DEV2}> — Mon 23 Nov 03:00 CST → Mon 30 Nov 03:00 CST" in one
    upcoming = await oncall(s, DEV2, "next api-oncall")
    assert f"*api-oncall* from Mon 23 Nov 10:00 CET: primary <@{OPS2}>, shadow <@{DEV2}>" in upcoming
    mine = await oncall(s, DEV1, "me")
    assert f"*api-oncall* shadow: now → Mon 23 Nov 10:00 CET, with <@{OPS1}>" in mine
    assert "*api-oncall* primary" not in mine  # dev1 is no primary
    ops = await oncall(s, OPS2, "me")
    assert f"*api-oncall* primary: Mon 23 Nov 10:00 CET → Mon 30 Nov 10:00 CET, with <@{DEV2}>" in ops
    unknown = await oncall(s, BOB, "schedule payments")
    assert "there is no rotation called `payments`" in unknown


async def test_schedule_marks_the_shift_across_a_dst_change_and_weights_hours(tmp_path: Path,
                                                                              slack_contract: SlackContract) -> None:
    # Wednesday 14 October 2026; Berlin leaves summer time on Sunday 25 October.
    async with schedule_scenario(tmp_path, slack_contract, start=datetime(2026, 10, 14, 10, tzinfo=UTC)) as s:
        answer = await oncall(s, OPS1, "schedule api-oncall --weeks 3")
    lines = answer.splitlines()
    [dst] = [line for line in lines if "DST change" in line]
    assert dst.startswith("• Mon 19 Oct 10:00 CEST → Mon 26 Oct 10:00 CET")
    assert dst.endswith(":clock1: _DST change: 169 h_")
    assert sum("DST change" in line for line in lines) == 1
    assert "*Hours* (off-hours count 1.5×):" in answer
    hours = [line for line in lines if "(weighted" in line]
    assert len(hours) == 5 and all("h (weighted" in line for line in hours)


async def test_a_shadow_swaps_only_with_a_shadow_through_take(s: Scenario) -> None:
    refused = await oncall(s, DEV2, f"swap api-oncall <@{OPS1}> 2026-11-24")
    assert "a shadow swaps only with a shadow" in refused
    asked = await oncall(s, DEV2, f"swap api-oncall <@{DEV3}> 2026-11-24")
    assert "Posted swap request #1 in #api-oncall" in asked
    request = channel_messages(s, "#api-oncall")[-1]
    assert "Swap request #1" in request.text
    assert {e["action_id"] for b in request.blocks for e in b.get("elements", []) if "action_id" in e} >= {
        ActionId.SWAP_TAKE, ActionId.SWAP_APPROVE}

    await press(s, OPS1, request, ActionId.SWAP_TAKE)  # a primary: wrong role, and not the one asked
    await press(s, DEV1, request, ActionId.SWAP_TAKE)  # a shadow, but not the one asked
    await press(s, DEV2, request, ActionId.SWAP_TAKE)  # the requester
    assert any("only they can take it" in t for t in s.ephemerals(OPS1))
    assert any("only they can take it" in t for t in s.ephemerals(DEV1))
    assert any("someone else has to take it" in t for t in s.ephemerals(DEV2))
    assert await _overrides(s) == []

    before = list(request.blocks)
    await press(s, DEV3, request, ActionId.SWAP_TAKE)
    assert any("Approved request #1" in t for t in s.ephemerals(DEV3))
    assert "Approved by" in str(s.stack.workspace.messages[(request.channel, request.ts)].blocks)
    week_of_23 = await current_shift(s.stack.ctx, "api-oncall", NEXT_HANDOFF + timedelta(days=1))
    week_of_30 = await current_shift(s.stack.ctx, "api-oncall", NEXT_HANDOFF + timedelta(weeks=1, days=1))
    assert week_of_23 is not None and (week_of_23.primary, week_of_23.shadow) == (OPS2, DEV3)
    assert week_of_30 is not None and (week_of_30.primary, week_of_30.shadow) == (OPS1, DEV2)
    assert [(o.person, o.role) for o in await _overrides(s)] == [(DEV3, "shadow"), (DEV2, "shadow")]
    [swap] = [d for d in await _ledger(s) if d.kind == "swap"]
    assert (swap.actor, swap.outcome) == (DEV3, "approved") and swap.permalink

    await press(s, DEV3, request, ActionId.SWAP_TAKE, stale=before)  # a double click changes nothing
    await press(s, OPS1, request, ActionId.SWAP_APPROVE, stale=before)
    assert any("already approved" in t for t in s.ephemerals(OPS1))
    assert len(await _overrides(s)) == 2


async def test_an_open_cover_is_taken_then_approved_by_the_other_party(s: Scenario) -> None:
    asked = await oncall(s, OPS2, "cover api-oncall 2026-11-25 2026-11-26")
    assert "Posted cover request #1" in asked
    request = channel_messages(s, "#api-oncall")[-1]
    await press(s, DEV1, request, ActionId.SWAP_TAKE)  # a shadow cannot take a primary shift
    assert any("a primary swaps only with a primary" in t for t in s.ephemerals(DEV1))
    await press(s, OPS1, request, ActionId.SWAP_TAKE)
    await press(s, OPS1, request, ActionId.SWAP_APPROVE)  # who took it cannot approve it
    await press(s, DEV2, request, ActionId.SWAP_APPROVE)  # neither the other party nor a primary
    assert any("so <@U01OPS2> or a primary of api-oncall approves it, not you" in t for t in s.ephemerals(OPS1))
    assert any("can approve request #1" in t for t in s.ephemerals(DEV2))
    assert await _overrides(s) == []
    await press(s, OPS2, request, ActionId.SWAP_APPROVE)
    berlin_wednesday = datetime(2026, 11, 24, 23, tzinfo=UTC)  # Wed 25 Nov 00:00 in Berlin
    pieces = await schedule(s.stack.ctx, "api-oncall", NEXT_HANDOFF, NEXT_HANDOFF + timedelta(weeks=1))
    assert [(p.start, p.primary) for p in pieces] == [
        (NEXT_HANDOFF, OPS2), (berlin_wednesday, OPS1), (berlin_wednesday + timedelta(days=2), OPS2)]
    assert all(p.shadow == DEV2 for p in pieces)
    [cover] = [d for d in await _ledger(s) if d.kind == "cover"]
    assert cover.actor == OPS2
    await advance(s, timedelta(seconds=1))  # a change next week hands nothing off now
    assert not any("handoff" in m.text for m in channel_messages(s, "#api-oncall"))


async def test_a_declined_request_changes_nothing(s: Scenario) -> None:
    await oncall(s, OPS2, f"cover api-oncall 2026-11-25 2026-11-26 <@{OPS1}>")
    request = channel_messages(s, "#api-oncall")[-1]
    before = list(request.blocks)
    await press(s, DEV1, request, ActionId.SWAP_DECLINE)  # not a party, not a primary
    assert any("can decline request #1" in t for t in s.ephemerals(DEV1))
    await press(s, OPS1, request, ActionId.SWAP_DECLINE)
    await press(s, OPS1, request, ActionId.SWAP_TAKE, stale=before)
    assert any("already declined" in t for t in s.ephemerals(OPS1))
    assert await _overrides(s) == []
    async with s.stack.ctx.db.session() as session:
        [row] = (await session.exec(select(SwapRequest))).all()
    assert (row.status, row.approver) == ("declined", OPS1)


async def test_away_passes_the_shift_down_the_list(s: Scenario) -> None:
    answer = await oncall(s, DEV2, "away 2026-11-24 2026-11-27")
    assert "Noted: you are away" in answer
    assert f"api-oncall: your shadow shift Mon 23 Nov 10:00 CET → Mon 30 Nov 10:00 CET now goes to <@{DEV3}>" \
        in answer
    shift = await current_shift(s.stack.ctx, "api-oncall", NEXT_HANDOFF + timedelta(hours=1))
    assert shift is not None and (shift.primary, shift.shadow) == (OPS2, DEV3)
    nothing = await oncall(s, DEV2, "away 2026-12-01 2026-12-02")
    assert "You hold no on-call shift then" in nothing
    over = await oncall(s, DEV2, "away 2026-11-01 2026-11-02")
    assert "already over" in over


async def test_calendar_answers_the_private_feed_url(s: Scenario) -> None:
    first = await oncall(s, DEV1, "calendar api-oncall")
    again = await oncall(s, OPS1, "calendar api-oncall")
    url = first.split("\n")[-1]
    assert url.startswith(f"{PUBLIC_URL}/calendar/api-oncall/") and url.endswith(".ics")
    assert url in again  # the secret is made once and kept


async def _overrides(s: Scenario) -> list[ScheduleOverride]:
    async with s.stack.ctx.db.session() as session:
        return list((await session.exec(select(ScheduleOverride).order_by(col(ScheduleOverride.id)))).all())


async def _ledger(s: Scenario) -> list[Decision]:
    async with s.stack.ctx.db.session() as session:
        return list((await session.exec(select(Decision).order_by(col(Decision.seq)))).all())


async def test_swapping_the_current_shift_hands_off_at_once(s: Scenario) -> None:
    await oncall(s, DEV1, f"swap api-oncall <@{DEV2}> 2026-11-18")  # dev1 shadows this week
    await press(s, DEV2, channel_messages(s, "#api-oncall")[-1], ActionId.SWAP_TAKE)
    await advance(s, timedelta(seconds=1))
    [handoff] = [m for m in channel_messages(s, "#api-oncall") if "handoff" in m.text]
    assert f"primary <@{OPS1}>, shadow <@{DEV2}>" in handoff.text
    assert f"Outgoing: primary <@{OPS1}>, shadow <@{DEV1}>" in handoff.blocks[0]["text"]["text"]
    assert group_members(s, "@api-oncall-shadow") == [DEV2]
    assert group_members(s, "@api-oncall") == [OPS1]


async def test_a_swap_is_refused_when_the_schedule_moved_since_it_was_asked(s: Scenario) -> None:
    await oncall(s, DEV2, f"swap api-oncall <@{DEV3}> 2026-11-24")  # for dev3's week from 30 Nov
    await oncall(s, DEV3, "away 2026-12-01 2026-12-01")
    await press(s, DEV3, channel_messages(s, "#api-oncall")[-1], ActionId.SWAP_TAKE)
    assert any("the schedule changed since the request" in t for t in s.ephemerals(DEV3))
    assert await _overrides(s) == []


async def test_a_person_slack_does_not_know_gets_an_answer_in_utc_not_an_apology(s: Scenario) -> None:
    stranger = "U0STRANGER"  # not in the workspace: users.info answers user_not_found

    answer = await oncall(s, stranger, "")

    assert "Something went wrong" not in answer
    assert f"*api-oncall*: primary <@{OPS1}>, shadow <@{DEV1}> — until Mon 23 Nov 09:00 UTC" in answer
