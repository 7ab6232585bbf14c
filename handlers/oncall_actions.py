"""Swap and cover request buttons: Take, Approve, Decline. Ack at once; decide in the background."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck

from bot.commands.limits import parse_button_id
from bot.context import AppContext
from bot.oncall import swap_decisions
from bot.slack.clicks import read_click
from bot.slack.ids import ActionId
from bot.slack.request_keys import answer_once, click_key, request_key
from bot.slack.responder import ResponseUrlResponder

Decide = Callable[..., Awaitable[str]]
BUTTONS: dict[ActionId, Decide] = {
    ActionId.SWAP_TAKE: swap_decisions.take,
    ActionId.SWAP_APPROVE: swap_decisions.approve,
    ActionId.SWAP_DECLINE: swap_decisions.decline,
}


def register(app: AsyncApp, ctx: AppContext) -> None:
    for action_id, decide in BUTTONS.items():
        app.action(action_id)(_listener(ctx, action_id, decide))


def _listener(ctx: AppContext, action_id: ActionId, decide: Decide) -> Callable[..., Awaitable[None]]:
    async def on_click(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        click = read_click(body)
        responder = ResponseUrlResponder(click.response_url, ctx.webhooks)
        request_id = parse_button_id(click.value, what="swap or cover request")
        user, key = click.user, request_key(body)
        answer_once(ctx, key, lambda: decide(ctx, request_id, user=user, request_key=key), responder,
                    name=str(action_id), merge_key=click_key(body))

    return on_click
