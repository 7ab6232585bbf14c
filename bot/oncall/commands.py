"""`/oncall` sub-commands about the schedule: now, next, me, schedule, swap, cover, away, shadow-stats,
calendar. Each takes the parsed command and who asked, and returns what to tell them."""

from __future__ import annotations

from bot.commands import oncall as grammar
from bot.context import AppContext
from bot.errors import Blocked
from bot.oncall import absences, schedule_replies, swap_requests
from bot.oncall.display import local_time, mention
from bot.oncall.lookup import member_of, rotation_named
from bot.oncall.rotation_records import calendar_secret, rotations_in_channel
from bot.oncall.shadow_stats import shadow_stats


async def run(ctx: AppContext, command: grammar.OncallCommand, *, user: str, channel: str,
              request_key: str | None = None) -> str:
    match command:
        case grammar.OncallHelp():
            return grammar.USAGE
        case grammar.OncallNow(rotation=None):
            names = await rotations_for(ctx, user=user, channel=channel)
            return await schedule_replies.now_answer(ctx, names, user=user)
        case grammar.OncallNow(rotation=str(name)):
            rotation_named(ctx.config, name)
            return await schedule_replies.now_answer(ctx, [name], user=user, with_next=True)
        case grammar.OncallNext(rotation=name):
            names = [name] if name else await rotations_for(ctx, user=user, channel=channel)
            for each in names:
                rotation_named(ctx.config, each)
            return await schedule_replies.next_answer(ctx, names, user=user)
        case grammar.OncallMe():
            return await schedule_replies.me_answer(ctx, user=user)
        case grammar.OncallSchedule(rotation=name, weeks=weeks):
            rotation_named(ctx.config, name)
            return await schedule_replies.schedule_answer(ctx, name, weeks, user=user)
        case grammar.OncallSwap():
            return await swap_requests.request_swap(ctx, command, user=user, request_key=request_key)
        case grammar.OncallCover():
            return await swap_requests.request_cover(ctx, command, user=user, request_key=request_key)
        case grammar.OncallAway():
            return await absences.declare_away(ctx, command, user=user, request_key=request_key)
        case grammar.OncallShadowStats(rotation=name):
            return await shadow_stats_answer(ctx, name, user=user)
        case grammar.OncallCalendar(rotation=name):
            return await calendar_answer(ctx, name)
    raise Blocked(f"`/oncall {type(command).__name__.removeprefix('Oncall').lower()}` is answered elsewhere")


async def rotations_for(ctx: AppContext, *, user: str, channel: str) -> list[str]:
    """This channel's rotations, else the asker's, else all of them."""
    if not ctx.config.rotations:
        raise Blocked("no rotations are configured; add one under `rotations:` in switchman.yml")
    here = await rotations_in_channel(ctx, channel) if channel else []
    if here:
        return here
    mine = [name for name, r in ctx.config.rotations.items() if member_of(r, user)]
    return mine or list(ctx.config.rotations)


async def shadow_stats_answer(ctx: AppContext, name: str | None, *, user: str) -> str:
    if name is not None:
        rotation_named(ctx.config, name)
    names = [name] if name else [n for n, r in ctx.config.rotations.items() if r.shadows]
    if not names:
        return "No rotation has shadows."
    zone = await ctx.directory.time_zone(user)
    lines: list[str] = []
    for each in names:
        needed = ctx.config.rotations[each].graduation
        lines.append(f"*{each}* — graduation after {needed.shadow_shifts} shadow shifts and "
                     f"{needed.pages_seen} pages seen:")
        for stats in await shadow_stats(ctx, each):
            if stats.proposed_at is not None:
                status = f":mortar_board: proposed for primary {local_time(stats.proposed_at, zone)}"
            elif stats.ready(needed.shadow_shifts, needed.pages_seen):
                status = ":mortar_board: ready to graduate"
            else:
                shifts_left = max(0, needed.shadow_shifts - stats.shadow_shifts)
                pages_left = max(0, needed.pages_seen - stats.pages_seen)
                status = "to go: " + ", ".join(
                    part for part in (f"{shifts_left} shift(s)" if shifts_left else "",
                                      f"{pages_left} page(s)" if pages_left else "") if part)
            lines.append(f"• {mention(stats.developer)}: {stats.shadow_shifts} shadow shift(s), "
                         f"{stats.pages_seen} page(s) seen — {status}")
    return "\n".join(lines)


async def calendar_answer(ctx: AppContext, name: str) -> str:
    rotation_named(ctx.config, name)
    url = f"{ctx.settings.public_url.rstrip('/')}/calendar/{name}/{await calendar_secret(ctx, name)}.ics"
    return (f"Subscribe to *{name}* in your calendar app with this private URL (anyone who has it can read "
            f"the schedule, so keep it to yourself):\n{url}")
