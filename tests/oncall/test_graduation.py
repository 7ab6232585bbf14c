"""Graduation: after enough shadow shifts and pages seen, one proposal to promote the developer (reverse shadow)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlmodel import col, select

from bot.ledger.models import Decision
from bot.oncall import graduation
from bot.oncall.models import Page
from bot.oncall.schedule_models import GraduationProposal
from bot.outbox import queue as outbox
from tests.contracts.slack_contract import SlackContract
from tests.oncall.schedule_scenario import (
    DEV1,
    DEV2,
    WEDNESDAY,
    advance,
    channel_messages,
    oncall,
    schedule_scenario,
)
from tests.release.scenario import Scenario

DAILY = """
rotations:
  api-oncall:
    channel: "#api-oncall"
    timezone: Europe/Berlin
    handoff: {every: day, at: "10:00"}
    primaries: [U01OPS1, U01OPS2, U01OPS3]
    shadows: [U01DEV1, U01DEV2]
    graduation: {shadow_shifts: 2, pages_seen: 1}
"""


async def add_page(s: Scenario, key: str, *, seen_by: str | None = None, acked_by: str | None = None) -> None:
    async with s.stack.ctx.db.session() as session:
        session.add(Page(rotation="api-oncall", source="test", dedup_key=key, title="disk full", status="resolved",
                         created_at=s.clock.now(), seen_by=seen_by, acked_by=acked_by))


def proposals(s: Scenario) -> list[str]:
    return [m.text for m in channel_messages(s, "#api-oncall") if "Graduation proposal" in m.text]


async def test_a_ready_shadow_is_proposed_for_primary_once(tmp_path: Path, slack_contract: SlackContract) -> None:
    async with schedule_scenario(tmp_path, slack_contract, config=DAILY, start=WEDNESDAY) as s:
        await add_page(s, "a", seen_by=DEV1)
        await advance(s, timedelta(days=2, hours=1))
        assert proposals(s) == []  # the shifts have not ended yet
        await advance(s, timedelta(days=6))
        [text] = proposals(s)
        assert f"for <@{DEV1}> in *api-oncall*" in text
        message = channel_messages(s, "#api-oncall")
        body = next(m for m in message if "Graduation proposal" in m.text).blocks[1]["text"]["text"]
        assert "reverse shadow" in body and f"<@{DEV1}> takes the pager as primary" in body
        async with s.stack.ctx.db.session() as session:
            [proposal] = (await session.exec(select(GraduationProposal))).all()
            decisions = (await session.exec(select(Decision).where(Decision.kind == "graduation")
                                            .order_by(col(Decision.seq)))).all()
        assert proposal.developer == DEV1 and proposal.shadow_shifts >= 2 and proposal.pages_seen == 1
        assert proposal.reverse_shadow in ("U01OPS1", "U01OPS2", "U01OPS3")
        assert [(d.subject, d.outcome) for d in decisions] == [(f"api-oncall/{DEV1}", "proposed")]
        async with s.stack.ctx.db.session() as session:  # the ledger row's message, through the outbox
            assert (await outbox.permalinks(session, [decisions[0].seq])).get(decisions[0].seq)

        assert await graduation.check(s.stack.ctx, "api-oncall") == []  # a later handoff proposes nobody again
        stats = await oncall(s, DEV2, "shadow-stats api-oncall")
        assert f"<@{DEV1}>" in stats and ":mortar_board: proposed for primary" in stats
        assert f"<@{DEV2}>: " in stats and "to go: 1 page(s)" in stats


async def test_a_restart_does_not_propose_again(tmp_path: Path, slack_contract: SlackContract) -> None:
    async with schedule_scenario(tmp_path, slack_contract, config=DAILY, start=WEDNESDAY) as s:
        await add_page(s, "a", acked_by=DEV2)
        await advance(s, timedelta(days=6))
        assert len(proposals(s)) == 1
        workspace = s.stack.workspace
    async with schedule_scenario(tmp_path, slack_contract, config=DAILY, workspace=workspace,
                                 start=WEDNESDAY + timedelta(days=6, minutes=5)) as again:
        await advance(again, timedelta(days=4))
        assert len(proposals(again)) == 1
