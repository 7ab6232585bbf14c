"""How far each developer is on the way to carrying the pager: shadow shifts done and pages seen.

A shadow shift counts once its slot of the rule has ended and Switchman handed it off with the
developer as shadow (so only shifts that really happened count, each slot once even when a
cover cut it in pieces). A page counts as seen by whoever acked it or saw it as the shadow.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, select

from bot.context import AppContext
from bot.oncall import handoff_runs
from bot.oncall.models import Page
from bot.oncall.roster import handoff_rule
from bot.oncall.schedule_models import GraduationProposal


@dataclass(frozen=True)
class ShadowStats:
    rotation: str
    developer: str
    shadow_shifts: int
    pages_seen: int
    proposed_at: datetime | None
    usual_primary: str | None  # the primary they shadowed most, their natural reverse shadow

    def ready(self, shifts_needed: int, pages_needed: int) -> bool:
        return self.shadow_shifts >= shifts_needed and self.pages_seen >= pages_needed


async def shadow_stats(ctx: AppContext, rotation: str) -> list[ShadowStats]:
    """One line per configured shadow (and anyone else who shadowed), in config order."""
    config = ctx.config.rotations[rotation]
    rule = handoff_rule(config)
    now = ctx.clock.now()
    async with ctx.db.session() as session:
        runs = await handoff_runs.completed_runs(session, rotation)
        pages = (await session.exec(select(Page.seen_by, Page.acked_by).where(Page.rotation == rotation))).all()
        proposals = {p.developer: p.proposed_at for p in (await session.exec(
            select(GraduationProposal).where(GraduationProposal.rotation == rotation)
            .order_by(col(GraduationProposal.id)))).all()}
    slots: dict[str, set[int]] = {}
    partners: dict[str, Counter[str]] = {}
    for run in runs:
        if run.shadow is None or run.slot_index is None:
            continue
        if rule.handoff_at(run.slot_index + 1) <= now:
            slots.setdefault(run.shadow, set()).add(run.slot_index)
        if run.primary is not None:
            partners.setdefault(run.shadow, Counter())[run.primary] += 1
    seen: Counter[str] = Counter()
    for seen_by, acked_by in pages:
        for person in {seen_by, acked_by} - {None}:
            seen[person] += 1  # type: ignore[index]
    developers = list(config.shadows) + sorted(d for d in slots if d not in config.shadows)
    return [ShadowStats(rotation, dev, len(slots.get(dev, ())), seen[dev], proposals.get(dev),
                        _most_common(partners.get(dev)) or (config.primaries[0] if config.primaries else None))
            for dev in developers]


def _most_common(counter: Counter[str] | None) -> str | None:
    return counter.most_common(1)[0][0] if counter else None
