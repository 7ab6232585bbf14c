"""Answers to "who is on call?": `/oncall`, `/oncall ROTATION`, `next`, `me` and `schedule`.

Every instant is shown on the asker's own wall clock (their Slack time zone), since the reply
is theirs alone. Hours per person weight off-hours as `fairness.weighted_hours` does, in each
person's own zone.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from bot.context import AppContext
from bot.oncall.display import hours, local_span, local_time, mention
from bot.oncall.fairness import OFF_HOURS_WEIGHT, weighted_hours
from bot.oncall.lookup import role_in
from bot.oncall.roster import TICK, schedule
from bot.oncall.shifts import Shift

ME_HORIZON = timedelta(weeks=26)
ME_STEP = timedelta(weeks=4)
REPLY_BUDGET = 2700  # characters of shift lines, leaving room for the totals in one 3000-character section


def _pair(shift: Shift) -> str:
    return f"primary {mention(shift.primary)}, shadow {mention(shift.shadow)}"


async def now_answer(ctx: AppContext, names: list[str], *, user: str, with_next: bool = False) -> str:
    zone = await ctx.directory.time_zone(user)
    at = ctx.clock.now()
    lines = []
    for name in names:
        pieces = await schedule(ctx, name, at, at + TICK)
        shift = pieces[0]
        lines.append(f"*{name}*: {_pair(shift)} — until {local_time(shift.end, zone)}")
        if with_next:
            upcoming = (await schedule(ctx, name, shift.end, shift.end + TICK))[0]
            lines.append(f"    next: {_pair(upcoming)} — {local_span(upcoming.start, upcoming.end, zone)}")
    return "\n".join(["*On call now* (times in your zone, " + zone + "):", *lines])


async def next_answer(ctx: AppContext, names: list[str], *, user: str) -> str:
    zone = await ctx.directory.time_zone(user)
    at = ctx.clock.now()
    lines = []
    for name in names:
        current = (await schedule(ctx, name, at, at + TICK))[0]
        upcoming = (await schedule(ctx, name, current.end, current.end + TICK))[0]
        lines.append(f"*{name}* from {local_time(upcoming.start, zone)}: {_pair(upcoming)} — until "
                     f"{local_time(upcoming.end, zone)}")
    return "\n".join(["*Next on call* (times in your zone, " + zone + "):", *lines])


async def me_answer(ctx: AppContext, *, user: str) -> str:
    """The asker's next shift in each role of each rotation (the current one if they are on call now)."""
    zone = await ctx.directory.time_zone(user)
    at = ctx.clock.now()
    lines = []
    for name, rotation in ctx.config.rotations.items():
        roles = [r for r, people in (("primary", rotation.primaries), ("shadow", rotation.shadows)) if user in people]
        found: dict[str, Shift] = {}
        window = at
        while window < at + ME_HORIZON and len(found) < 2:
            for piece in await schedule(ctx, name, window, window + ME_STEP):
                held = role_in(piece, user)
                if held is not None and held not in found and piece.end > at:
                    found[held] = piece
            window += ME_STEP
        for role in ("primary", "shadow"):
            shift = found.get(role)
            if shift is not None:
                partner = shift.shadow if role == "primary" else shift.primary
                when = "now" if shift.start <= at else local_time(shift.start, zone)
                lines.append(f"• *{name}* {role}: {when} → {local_time(shift.end, zone)}, with "
                             f"{mention(partner)}")
            elif role in roles:
                lines.append(f"• *{name}* {role}: none in the next {ME_HORIZON.days // 7} weeks")
    if not lines:
        return f"You have no on-call shifts in the next {ME_HORIZON.days // 7} weeks."
    return "\n".join([f"*Your next shifts* (times in your zone, {zone}):", *lines])


def dst_note(shift: Shift) -> str:
    return f" :clock1: _DST change: {hours(shift.hours)}_" if shift.dst_change else ""


async def schedule_answer(ctx: AppContext, name: str, weeks: int, *, user: str) -> str:
    zone = await ctx.directory.time_zone(user)
    at = ctx.clock.now()
    shifts = await schedule(ctx, name, at, at + timedelta(weeks=weeks))
    header = f"*{name}* — the next {weeks} week{'s' if weeks != 1 else ''} (times in your zone, {zone}):"
    lines: list[str] = []
    used = 0
    for index, shift in enumerate(shifts):
        line = f"• {local_span(shift.start, shift.end, zone)} · {_pair(shift)}{dst_note(shift)}"
        if used + len(line) > REPLY_BUDGET - 400:
            lines.append(f"• … and {len(shifts) - index} more shifts; ask for fewer `--weeks` to see them")
            break
        lines.append(line)
        used += len(line) + 1
    totals = await hours_per_person(ctx, shifts)
    summary = [f"*Hours* (off-hours count {OFF_HOURS_WEIGHT:g}×):"] + [
        f"• {mention(person)}: {hours(plain)} (weighted {hours(weighted)})" for person, (plain, weighted) in totals]
    return "\n".join([header, *lines, *summary])


async def hours_per_person(ctx: AppContext, shifts: list[Shift]) -> list[tuple[str, tuple[float, float]]]:
    """Real and weighted hours on call per person (both roles), most loaded first."""
    totals: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for shift in shifts:
        for person in {shift.primary, shift.shadow} - {None}:
            assert person is not None
            totals[person][0] += shift.hours
            totals[person][1] += weighted_hours(shift, await ctx.directory.time_zone(person))
    return sorted(((p, (t[0], t[1])) for p, t in totals.items()), key=lambda item: (-item[1][1], item[0]))
