"""Page buttons: Ack and Resolve on the page's DMs and channel post (value = the page id)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck

from bot.context import AppContext
from bot.errors import BadInput
from bot.oncall import paging
from bot.slack.ids import ActionId
from bot.slack.responder import ResponseUrlResponder, answer_later, tell

PageAction = Callable[[AppContext, int, str], Awaitable[str]]


def register(app: AsyncApp, ctx: AppContext) -> None:
    def handle(body: dict[str, Any], action: PageAction, name: str) -> None:
        responder = ResponseUrlResponder(body["response_url"], ctx.webhooks)
        user = body["user"]["id"]
        raw = str(body["actions"][0].get("value", ""))

        async def work() -> None:
            if not raw.isdigit():
                raise BadInput("this button does not name a page")
            await tell(responder, await action(ctx, int(raw), user))

        answer_later(ctx.background, work(), responder, name=name)

    @app.action(ActionId.PAGE_ACK)
    async def on_ack(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        handle(body, paging.acknowledge, "page-ack")

    @app.action(ActionId.PAGE_RESOLVE)
    async def on_resolve(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        handle(body, paging.resolve, "page-resolve")
