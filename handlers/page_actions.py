"""Page buttons: Ack and Resolve on the page's DMs and channel post (value = the page id)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck

from bot.commands.limits import parse_button_id
from bot.context import AppContext
from bot.oncall import paging
from bot.slack.clicks import read_click
from bot.slack.ids import ActionId
from bot.slack.request_keys import answer_once, click_key, request_key
from bot.slack.responder import ResponseUrlResponder

PageAction = Callable[..., Awaitable[str]]  # (ctx, page id, user, *, request_key)


def register(app: AsyncApp, ctx: AppContext) -> None:
    def handle(body: dict[str, Any], action: PageAction, name: str) -> None:
        click = read_click(body)
        responder = ResponseUrlResponder(click.response_url, ctx.webhooks)
        user, key = click.user, request_key(body)
        page_id = parse_button_id(click.value, what="page")

        async def act() -> str:
            return await action(ctx, page_id, user, request_key=key)

        answer_once(ctx, key, act, responder, name=name, merge_key=click_key(body))

    @app.action(ActionId.PAGE_ACK)
    async def on_ack(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        handle(body, paging.acknowledge, "page-ack")

    @app.action(ActionId.PAGE_RESOLVE)
    async def on_resolve(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        handle(body, paging.resolve, "page-resolve")
