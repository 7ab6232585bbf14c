"""Who is on call: a rotation's configured rule turned into shifts, looked up by instant.

This is the single place other domains (the `oncall_present` gate, the App Home, paging) ask
"who carries the pager now?". It computes from the rotation's configuration; swaps, covers and
absences recorded through `/oncall` are layered on here as they arrive.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.config.models import Rotation
from bot.context import AppContext
from bot.oncall.handoff_rule import HandoffRule
from bot.oncall.shifts import Shift, generate_shifts


def handoff_rule(rotation: Rotation) -> HandoffRule:
    handoff = rotation.handoff
    return HandoffRule(every=handoff.every, timezone=rotation.timezone, at=handoff.at, day=handoff.day,
                       interval=handoff.interval)


def shift_at(rotation: Rotation, instant: datetime) -> Shift | None:
    """The shift containing `instant` (None only if the rule yields no shift there)."""
    shifts = generate_shifts(handoff_rule(rotation), rotation.primaries, rotation.shadows, instant,
                             instant + timedelta(seconds=1))
    return next((s for s in shifts if s.start <= instant < s.end), None)


def upcoming_shifts(rotation: Rotation, start: datetime, end: datetime) -> list[Shift]:
    return generate_shifts(handoff_rule(rotation), rotation.primaries, rotation.shadows, start, end)


async def current_shift(ctx: AppContext, rotation: str, at: datetime) -> Shift | None:
    """Who holds the pager in `rotation` at `at`: the one question every other domain asks."""
    return shift_at(ctx.config.rotations[rotation], at)
