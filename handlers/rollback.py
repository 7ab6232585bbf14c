"""`/rollback` listener and its form: parse, check what the config can tell, ack, roll back in the background."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck

from bot.commands import rollback as grammar
from bot.context import AppContext
from bot.release.access import check_rollback_right
from bot.release.drill import DrillRequest
from bot.release.requests import check_target, request_drill, request_rollback
from bot.release.rollback import rollback_choices
from bot.slack import replies
from bot.slack.form_state import refused_form, submitter
from bot.slack.form_submission import accept_target_form
from bot.slack.ids import CallbackId, Command
from bot.slack.release_blocks import short
from bot.slack.release_modals import TARGET, read_rollback_modal, rollback_modal
from bot.slack.request_keys import request_key
from bot.slack.responder import ResponseUrlResponder, answer_later, tell


def register(app: AsyncApp, ctx: AppContext) -> None:
    async def roll_back(request: grammar.RollbackRequest, user: str, key: str, responder: Any, *,
                        announce: bool = False) -> None:
        if announce:  # "Rolling back…" only once the requester is known to be allowed, so never before a refusal
            _, env = check_target(ctx.config, request.service, request.environment, grammar.USAGE)
            await check_rollback_right(ctx, request.service, env, request.environment, user)
            await tell(responder, f":hourglass_flowing_sand: Rolling back {request.service} {request.environment}…")
        rollback_id = await request_rollback(ctx, request, user=user, request_key=key, usage=grammar.USAGE)
        await tell(responder, f":leftwards_arrow_with_hook: Rollback #{rollback_id} of {request.service} "
                              f"{request.environment} started; follow it in its thread.")

    async def drill(request: DrillRequest, user: str, key: str, responder: Any) -> None:
        drill_id = await request_drill(ctx, request, user=user, request_key=key, usage=grammar.USAGE)
        await tell(responder, f":fire_extinguisher: Rollback drill #{drill_id} of {request.service} "
                              f"{request.environment} started; follow it in its thread.")

    @app.command(Command.ROLLBACK)
    async def on_rollback(ack: AsyncAck, command: dict[str, Any]) -> None:
        parsed = grammar.parse(command.get("text", ""))
        if isinstance(parsed, grammar.RollbackHelp):
            await ack(**replies.usage(grammar.USAGE))
            return
        if isinstance(parsed, grammar.RollbackModal):
            await ack()
            ctx.background.spawn(_open_form(command["trigger_id"]), name="rollback-modal")
            return
        check_target(ctx.config, parsed.service, parsed.environment, grammar.USAGE)
        await ack()
        if isinstance(parsed, grammar.DrillCommand):  # the reply comes once the drill started, or its refusal
            responder = ResponseUrlResponder(command["response_url"], ctx.webhooks)
            answer_later(ctx.background, drill(DrillRequest(parsed.service, parsed.environment), command["user_id"],
                                               request_key(command), responder), responder, name="rollback-drill")
            return
        responder = ResponseUrlResponder(command["response_url"], ctx.webhooks)
        answer_later(ctx.background, roll_back(parsed, command["user_id"], request_key(command), responder,
                                               announce=True), responder, name="rollback-request")

    async def _open_form(trigger_id: str) -> None:
        choices = [(f"{r.service} {r.environment}: {r.ref} ({short(r.sha)}) #{r.id}",
                    f"{r.service}/{r.environment}/{r.id}") for r in await rollback_choices(ctx)]
        await ctx.slack.views_open(trigger_id=trigger_id, view=rollback_modal(choices))

    @app.view(CallbackId.ROLLBACK_MODAL)
    async def on_rollback_submit(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        request = (refused_form(view, submitter(body), main_block=TARGET)
                   or read_rollback_modal(view.get("state", {}).get("values", {})))
        submitted = await accept_target_form(ack, ctx, body, view, request)
        if submitted is None or isinstance(request, dict):
            return
        answer_later(ctx.background, roll_back(request, submitted.user, submitted.request_key, submitted.responder),
                     submitted.responder, name="rollback-form")
