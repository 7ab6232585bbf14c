"""A page against a Slack that fails, through the real wire (signed webhook in, the fake Web API out).

A DM that answers 429, 500 or times out is sent again by the outbox and lands exactly once; one
Slack posted but answered 500 for, or posted as the client timed out, is found by its metadata
and not posted again. A person Slack
refuses for good (a deactivated account) misses their DM, and only that: the primary, the channel,
the edits of an ack and the escalation still go out.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from bot.oncall.models import PageStatus
from bot.oncall.roster import current_shift
from bot.outbox.models import OutboxMessage, OutboxState
from bot.slack.ids import ActionId
from tests.contracts.slack_contract import SlackContract
from tests.oncall.paging_scenario import (
    ENVIRON,
    PAGING_CONFIG,
    WEDNESDAY,
    alertmanager_payload,
    bearer,
    buttons,
    channel_messages,
    dms,
    notifications,
    pages,
    post,
    press,
    text_of,
)
from tests.oncall.schedule_scenario import advance
from tests.release.scenario import Scenario, scenario

LEAD = "U01LEAD"
TIMEOUT = {"SWITCHMAN_SLACK_TIMEOUT": "1s"}
FAILURES: dict[str, dict[str, Any]] = {
    "429": {"status": 429, "retry_after": 2},
    "500": {"status": 500, "error": "internal_error"},
    "500-after-posting": {"status": 500, "drop_response": True},
    # The client gives up after 1 s: before Slack did anything, or after it posted the message.
    "timeout": {"status": 503, "delay": 1.5},
    "timeout-after-posting": {"drop_response": True, "delay": 1.5},
}
REFUSALS = [("conversations.open", "user_not_found"), ("chat.postMessage", "account_inactive")]


async def pair(s: Scenario) -> tuple[str, str]:
    shift = await current_shift(s.stack.ctx, "api-oncall", s.clock.now())
    assert shift is not None and shift.primary and shift.shadow
    return shift.primary, shift.shadow


async def outbox_row(s: Scenario, anchor: str) -> OutboxMessage:
    async with s.stack.ctx.db.session() as session:
        return (await session.exec(select(OutboxMessage).where(OutboxMessage.anchor == anchor))).one()


@pytest.mark.parametrize("failure", sorted(FAILURES))
async def test_a_page_dm_slack_fails_to_take_is_delivered_exactly_once(tmp_path: Path, slack_contract: SlackContract,
                                                                      failure: str) -> None:
    async with scenario(tmp_path, slack_contract, config=PAGING_CONFIG, start=WEDNESDAY,
                        environ={**ENVIRON, **TIMEOUT}) as s:
        primary, shadow = await pair(s)
        im = s.stack.workspace.im_with(primary).id
        s.stack.api.fail("chat.postMessage", match=lambda params: params.get("channel") == im, **FAILURES[failure])
        status, answer = await post(s, "/webhooks/alertmanager", alertmanager_payload(), headers=bearer())
        assert status == 200 and answer["opened"] == [1]

        [dm] = dms(s, primary)
        assert "Page #1: HighErrorRate" in text_of(dm) and "You are the primary" in text_of(dm)
        assert len(dms(s, shadow)) == 1 and len(channel_messages(s, "api-oncall")) == 1
        row = await outbox_row(s, f"page:1:dm:{primary}")
        assert (row.state, row.attempts, row.sent_ts) == (OutboxState.SENT, 2, dm.ts)
        [told] = [n for n in await notifications(s) if n.user == primary]
        assert (told.role, told.channel, told.ts) == ("primary", im, dm.ts)

        await press(s, primary, dm, ActionId.PAGE_ACK)  # the ack edits that very message
        assert (await pages(s))[0].status == PageStatus.ACKNOWLEDGED
        [dm] = dms(s, primary)
        assert buttons(dm) == [ActionId.PAGE_RESOLVE] and "acknowledged by" in text_of(dm)


@pytest.mark.parametrize(("method", "error"), REFUSALS)
async def test_a_shadow_slack_refuses_misses_their_dm_and_nothing_else(tmp_path: Path, slack_contract: SlackContract,
                                                                       method: str, error: str) -> None:
    async with scenario(tmp_path, slack_contract, config=PAGING_CONFIG, start=WEDNESDAY, environ=ENVIRON) as s:
        primary, shadow = await pair(s)
        im = s.stack.workspace.im_with(shadow).id

        def to_shadow(params: dict[str, Any]) -> bool:
            return shadow in str(params.get("users", "")) or params.get("channel") == im

        s.stack.api.fail(method, error=error, match=to_shadow)
        await post(s, "/webhooks/alertmanager", alertmanager_payload(), headers=bearer())

        assert dms(s, shadow) == []
        assert len(dms(s, primary)) == 1 and len(channel_messages(s, "api-oncall")) == 1
        row = await outbox_row(s, f"page:1:dm:{shadow}")
        assert (row.state, row.last_error) == (OutboxState.FAILED, error)
        assert {n.role for n in await notifications(s)} == {"primary", "channel"}

        # Escalation and the primary's ack still reach everyone else; the shadow's edit is never attempted.
        await advance(s, timedelta(minutes=5))
        assert len(dms(s, LEAD)) == 1
        await press(s, primary, dms(s, primary)[0], ActionId.PAGE_ACK)
        for message in (*dms(s, primary), *dms(s, LEAD), channel_messages(s, "api-oncall")[0]):
            assert buttons(message) == [ActionId.PAGE_RESOLVE]
        assert not [c for c in s.stack.api.calls_of("chat.update") if c.params.get("channel") == im]
        async with s.stack.ctx.db.session() as session:
            pending = (await session.exec(select(OutboxMessage).where(OutboxMessage.state == OutboxState.PENDING))
                       ).all()
        assert pending == []
