"""Graduation (§6): when a shadow has done enough, propose promoting them to primary, once.

Checked at each handoff. The thresholds are the rotation's `graduation: {shadow_shifts,
pages_seen}`. The proposal is the "reverse shadow" step: the developer takes the pager as
primary with an ops engineer (the primary they shadowed most) as their shadow. The unique
(rotation, developer) row, the ledger row and the post in the rotation's channel (queued in the
outbox, which links the ledger row to the post's permalink) are one transaction, so two handoffs
racing propose once.
"""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from bot.context import AppContext
from bot.ledger import service as ledger
from bot.ledger.models import DecisionKind
from bot.oncall.rotation_records import channel_thread
from bot.oncall.schedule_models import GraduationProposal
from bot.oncall.shadow_stats import ShadowStats, shadow_stats
from bot.outbox import queue as outbox

PREFIX = "graduation:"  # the proposal's post is anchored `graduation:<proposal id>`


async def check(ctx: AppContext, rotation: str) -> list[str]:
    """Propose every developer of `rotation` who is ready and not yet proposed; returns who was proposed."""
    config = ctx.config.rotations[rotation]
    needed = config.graduation
    proposed: list[str] = []
    for stats in await shadow_stats(ctx, rotation):
        if stats.proposed_at is not None or stats.developer in config.primaries:
            continue
        if stats.ready(needed.shadow_shifts, needed.pages_seen) and await _propose(ctx, stats):
            proposed.append(stats.developer)
    return proposed


async def _propose(ctx: AppContext, stats: ShadowStats) -> bool:
    config = ctx.config.rotations[stats.rotation]
    proposal = GraduationProposal(rotation=stats.rotation, developer=stats.developer,
                                  reverse_shadow=stats.usual_primary, shadow_shifts=stats.shadow_shifts,
                                  pages_seen=stats.pages_seen, proposed_at=ctx.clock.now())
    async with ctx.db.session() as session:
        try:
            async with session.begin_nested():
                session.add(proposal)
        except IntegrityError:  # proposed already, by a handoff running elsewhere
            return False
        row = await ledger.record(session, kind=DecisionKind.GRADUATION, actor="switchman",
                                  decided_at=proposal.proposed_at, subject=f"{stats.rotation}/{stats.developer}",
                                  outcome="proposed",
                                  evidence={"rotation": stats.rotation, "developer": stats.developer,
                                            "shadow_shifts": stats.shadow_shifts, "pages_seen": stats.pages_seen,
                                            "reverse_shadow": stats.usual_primary,
                                            "thresholds": config.graduation.model_dump()})
        message = ctx.oncall_view.graduation(proposal, config.graduation.shadow_shifts, config.graduation.pages_seen)
        outbox.post(session, thread=channel_thread(stats.rotation), anchor=f"{PREFIX}{proposal.id}",
                    channel=config.channel, message=message, now=ctx.clock.now(), decision_seq=row.seq)
    return True
