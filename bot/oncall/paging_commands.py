"""`/oncall page`, `/oncall page ID`, `/oncall ack` and `/oncall resolve`: paging from Slack. Each returns
what to tell the person who typed it."""

from __future__ import annotations

import hashlib
import secrets

from bot.commands import oncall as grammar
from bot.context import AppContext
from bot.oncall import page_report, paging

SLACK = "slack"


async def run(ctx: AppContext, command: grammar.OncallPage | grammar.OncallPageShow | grammar.OncallAck
              | grammar.OncallResolve, *, user: str, channel: str, request_key: str | None = None) -> str:
    if isinstance(command, grammar.OncallPageShow):
        return await page_report.describe(ctx, command.page_id, reader=user)
    if isinstance(command, grammar.OncallAck):
        return await paging.acknowledge(ctx, command.page_id, user, request_key=request_key)
    if isinstance(command, grammar.OncallResolve):
        return await paging.resolve(ctx, command.page_id, user, request_key=request_key)
    return await page(ctx, command, user=user, channel=channel, request_key=request_key)


async def page(ctx: AppContext, command: grammar.OncallPage, *, user: str, channel: str,
               request_key: str | None = None) -> str:
    if command.rotation not in ctx.config.rotations:
        raise paging.unknown_rotation(ctx, command.rotation, usage=grammar.USAGE)
    services = ctx.config.rotations[command.rotation].services
    # Every `/oncall page` is a new page: the person typing it means it. Its dedup key comes from
    # the request, so Slack's retries of it find the page it opened; the answer is told again from it.
    dedup_key = f"slack:{_digest(request_key) if request_key else secrets.token_hex(8)}"
    outcome = await paging.open_page(
        ctx, rotation=command.rotation, source=SLACK, dedup_key=dedup_key,
        title=command.message, details={"severity": "critical", "opened_in": channel},
        service=services[0] if len(services) == 1 else None, opened_by=user, notify_now=True,
        request_key=request_key)
    found, who = outcome.page, ctx.oncall_view.who
    if found.primary is None:
        reached = "nobody is primary on call right now" + (
            "; escalating at once" if found.next_escalation_at is not None else "; only the channel was told")
    else:
        reached = f"paged {who(found.primary)} (primary)"
        if found.shadow and found.shadow_note:
            reached += f"; not the shadow {who(found.shadow)}: {found.shadow_note}"
        elif found.shadow:
            reached += f" and {who(found.shadow)} (shadow)"
    return f":rotating_light: page #{found.id} opened in `{command.rotation}`: {reached}."


def _digest(request_key: str) -> str:
    return hashlib.sha256(request_key.encode()).hexdigest()[:32]
