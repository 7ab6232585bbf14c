"""Earned-trust buttons: Join as pair on a release waiting for one, Approve / Not yet on a rights proposal."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck

from bot.commands.limits import parse_button_id
from bot.context import AppContext
from bot.release import pairing, trust
from bot.slack.clicks import read_click
from bot.slack.ids import ActionId
from bot.slack.request_keys import answer_once, click_key, request_key
from bot.slack.responder import ResponseUrlResponder


def register(app: AsyncApp, ctx: AppContext) -> None:
    def answer(body: dict[str, Any], what: str, act: Callable[[int, str, str], Awaitable[str]], name: str) -> None:
        click = read_click(body)
        responder = ResponseUrlResponder(click.response_url, ctx.webhooks)
        item_id, user, key = parse_button_id(click.value, what=what), click.user, request_key(body)
        answer_once(ctx, key, lambda: act(item_id, user, key), responder, name=name, merge_key=click_key(body))

    @app.action(ActionId.JOIN_PAIR)
    async def on_join(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        answer(body, "release", lambda rid, user, key: pairing.join(ctx, rid, user=user, request_key=key),
               "release-pair")

    @app.action(ActionId.TRUST_APPROVE)
    async def on_approve(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        answer(body, "proposal", lambda pid, user, key: trust.decide_proposal(
            ctx, pid, user=user, approve=True, request_key=key), "trust-approve")

    @app.action(ActionId.TRUST_NOT_YET)
    async def on_not_yet(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        answer(body, "proposal", lambda pid, user, key: trust.decide_proposal(
            ctx, pid, user=user, approve=False, request_key=key), "trust-not-yet")
