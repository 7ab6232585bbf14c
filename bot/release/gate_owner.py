"""Gate owners (§4): the user group a gate names as `owner` is mentioned in the thread when that gate fails."""

from __future__ import annotations

import logging

from bot.context import AppContext
from bot.release.models import Verdict

log = logging.getLogger(__name__)


async def group_mention(ctx: AppContext, group: str) -> str:
    """`@sre` as a mention Slack notifies (`<!subteam^S…>`), or the handle as written when Slack cannot tell."""
    try:
        group_id = await ctx.directory.usergroup_id(group)
    except Exception as exc:  # a mention is a courtesy: Slack being unreachable must not stop the release
        log.warning("could not look up a user group to mention it", extra={"group": group, "error": str(exc)})
        group_id = None
    return f"<!subteam^{group_id}>" if group_id and group_id.startswith("S") else group


async def mention(ctx: AppContext, owner: str | None, verdict: Verdict) -> str:
    """What to add to a gate's reply: a line mentioning its owner when it failed (or errored), else nothing."""
    if owner is None or not verdict.blocks:
        return ""
    return f"\n:bell: Owner {await group_mention(ctx, owner)}: this gate {verdict.value}ed; please take a look."
