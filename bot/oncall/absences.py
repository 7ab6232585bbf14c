"""`/oncall away FROM TO`: declare an absence; every rotation the person is in regenerates around it.

Dates are days on the requester's own wall clock (from Slack), FROM through TO inclusive. The
roster skips an absent person in any shift the absence touches and passes the role down the
list (`shifts.generate_shifts`); swaps and covers they agreed to still stand, and the reply says
so. Handoff jobs are re-planned, so a change to the current shift hands off at once. The absence
is stored with its Slack `request_key` claimed, so a retried `/oncall away` records one.
"""

from __future__ import annotations

from datetime import timedelta

from bot.commands import oncall as grammar
from bot.context import AppContext
from bot.errors import BadInput
from bot.oncall import handoffs
from bot.oncall.display import local_span, mention
from bot.oncall.lookup import day_start, holder, member_of, role_in
from bot.oncall.roster import schedule
from bot.oncall.schedule_models import AbsenceRecord
from bot.oncall.shifts import Shift
from bot.storage import handled_requests as handled

LONGEST = timedelta(days=366)


async def declare_away(ctx: AppContext, command: grammar.OncallAway, *, user: str,
                       request_key: str | None = None) -> str:
    zone = await ctx.directory.time_zone(user)
    start, end = day_start(command.start, zone), day_start(command.end + timedelta(days=1), zone)
    now = ctx.clock.now()
    if end <= now:
        raise BadInput(f"{command.start} to {command.end} is already over; name days still to come")
    if end - start > LONGEST:
        raise BadInput("an absence can last at most a year; declare longer ones in parts")
    rotations = [name for name, r in ctx.config.rotations.items() if member_of(r, user)]
    window = (max(start, now), end)
    before = {name: await schedule(ctx, name, *window) for name in rotations}
    lines = [f"Noted: you are away {local_span(start, end, zone)}."]
    async with ctx.db.session() as session:
        claim = await handled.claim(session, key=request_key, kind="oncall-away", now=now)
        if claim.repeat:
            return claim.earlier
        session.add(AbsenceRecord(person=user, start=start, end=end, created_at=now))
        claim.answer(lines[0])  # a repeat says this much; the schedule changes were told the first time
    for name in rotations:
        after = await schedule(ctx, name, *window)
        lines += _changes(name, user, before[name], after, zone)
        await handoffs.plan_rotation(ctx, name)
    if len(lines) == 1:
        lines.append("You hold no on-call shift then, so no schedule changed.")
    return "\n".join(lines)


def _changes(name: str, user: str, before: list[Shift], after: list[Shift], zone: str) -> list[str]:
    lines: list[str] = []
    for shift in before:
        role = role_in(shift, user)
        if role is None:
            continue
        now_held = next((p for p in after if p.start <= shift.start < p.end), None)
        successor = holder(now_held, role) if now_held is not None else None
        span = local_span(shift.start, shift.end, zone)
        if successor == user:
            lines.append(f"• {name}: you still hold the {role} shift {span} (a swap or cover you agreed to); "
                         f"ask someone to take it with `/oncall cover {name} FROM TO`.")
        elif successor is None:
            lines.append(f"• {name}: your {role} shift {span} now has nobody; the rotation has a gap there.")
        else:
            lines.append(f"• {name}: your {role} shift {span} now goes to {mention(successor)}.")
    return lines
