"""`/oncall page`, `/oncall ack` and `/oncall resolve`: paging from Slack. Each returns what to tell
the person who typed it."""

from __future__ import annotations

from bot.commands import oncall as grammar
from bot.context import AppContext
from bot.errors import Blocked


async def run(ctx: AppContext, command: grammar.OncallPage | grammar.OncallAck | grammar.OncallResolve, *,
              user: str, channel: str) -> str:
    raise Blocked(f"`/oncall {type(command).__name__.removeprefix('Oncall').lower()}` is understood but not "
                  "available in this Switchman build yet. Nothing was changed.")
