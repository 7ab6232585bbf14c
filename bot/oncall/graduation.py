"""Graduation (§6): when a shadow has done enough, propose promoting them to primary, once.

Checked at each handoff. The thresholds are the rotation's `graduation: {shadow_shifts,
pages_seen}`. The proposal is the "reverse shadow" step: the developer takes the pager as
primary with an ops engineer (the primary they shadowed most) as their shadow. The unique
(rotation, developer) row is claimed before posting, so two handoffs racing propose once; the
proposal is posted in the rotation's channel and recorded in the ledger.
"""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import IntegrityError

from bot.context import AppContext
from bot.ledger import service as ledger
from bot.ledger.models import DecisionKind
from bot.oncall.rotation_records import remember_channel
from bot.oncall.schedule_models import GraduationProposal
from bot.oncall.shadow_stats import ShadowStats, shadow_stats
from bot.slack import oncall_blocks, oncall_posts

log = logging.getLogger(__name__)


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
    message = oncall_blocks.graduation(proposal, config.graduation.shadow_shifts, config.graduation.pages_seen)
    link = None
    try:
        posted = await oncall_posts.post(ctx.slack, config.channel, message)
    except SlackApiError as exc:
        log.warning("could not post a graduation proposal", extra={"error": exc.response.get("error")})
    else:
        proposal.channel_id, proposal.message_ts = posted.channel, posted.ts
        link = await oncall_posts.permalink(ctx.slack, posted.channel, posted.ts)
        await remember_channel(ctx, stats.rotation, posted.channel)
    async with ctx.db.session() as session:
        session.add(proposal)
        await ledger.record(session, kind=DecisionKind.GRADUATION, actor="switchman", decided_at=proposal.proposed_at,
                            subject=f"{stats.rotation}/{stats.developer}", outcome="proposed", permalink=link,
                            evidence={"rotation": stats.rotation, "developer": stats.developer,
                                      "shadow_shifts": stats.shadow_shifts, "pages_seen": stats.pages_seen,
                                      "reverse_shadow": stats.usual_primary,
                                      "thresholds": config.graduation.model_dump()})
    return True
