"""`/oncall` sub-commands about the schedule: now, next, me, schedule, swap, cover, away, shadow-stats,
calendar. Each takes the parsed command and who asked, and returns what to tell them."""

from __future__ import annotations

from bot.commands import oncall as grammar
from bot.context import AppContext
from bot.errors import Blocked


async def run(ctx: AppContext, command: grammar.OncallCommand, *, user: str, channel: str) -> str:
    raise Blocked(f"`/oncall {type(command).__name__.removeprefix('Oncall').lower()}` is understood but not "
                  "available in this Switchman build yet. Nothing was changed.")
