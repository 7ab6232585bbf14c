"""`/deploy` listener: parse, ack inline, hand release work to the background."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck

from bot.commands import deploy as grammar
from bot.context import AppContext
from bot.slack import replies
from bot.slack.ids import Command


def register(app: AsyncApp, ctx: AppContext) -> None:
    @app.command(Command.DEPLOY)
    async def on_deploy(ack: AsyncAck, command: dict[str, Any]) -> None:
        parsed = grammar.parse(command.get("text", ""))
        if isinstance(parsed, grammar.DeployHelp):
            await ack(**replies.usage(grammar.USAGE))
            return
        await ack(**replies.not_built(Command.DEPLOY, command.get("text", "").strip() or "(form)"))
