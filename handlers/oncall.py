"""`/oncall` listener: parse, ack inline, hand the work to the on-call domain in the background."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck

from bot.commands import oncall as grammar
from bot.context import AppContext
from bot.oncall import commands, paging_commands
from bot.slack import replies
from bot.slack.ids import Command
from bot.slack.request_keys import ack_once, request_key
from bot.slack.responder import ResponseUrlResponder


def register(app: AsyncApp, ctx: AppContext) -> None:
    @app.command(Command.ONCALL)
    async def on_oncall(ack: AsyncAck, command: dict[str, Any]) -> None:
        parsed = grammar.parse(command.get("text", ""))
        if isinstance(parsed, grammar.OncallHelp):
            await ack(**replies.usage(grammar.USAGE))
            return
        responder = ResponseUrlResponder(command["response_url"], ctx.webhooks)
        user, channel, key = command["user_id"], command.get("channel_id", ""), request_key(command)

        async def act() -> str:
            if isinstance(parsed, grammar.OncallPage | grammar.OncallPageShow | grammar.OncallAck
                          | grammar.OncallResolve):
                return await paging_commands.run(ctx, parsed, user=user, channel=channel, request_key=key)
            return await commands.run(ctx, parsed, user=user, channel=channel, request_key=key)

        await ack_once(ack, ctx, key, act, responder, name="oncall")  # acks empty, or "busy" when the lane is full
