"""`/rollback` listener and its form: parse, check what the config can tell, ack, roll back in the background."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck

from bot.commands import rollback as grammar
from bot.context import AppContext
from bot.errors import BadInput
from bot.release import service as releases
from bot.release.requests import check_target
from bot.release.rollback import request_rollback
from bot.slack import replies
from bot.slack.ids import CallbackId, Command
from bot.slack.release_blocks import short
from bot.slack.release_modals import read_rollback_modal, rollback_modal
from bot.slack.responder import DirectMessageResponder, ResponseUrlResponder, answer_errors, apologise_via, tell


def register(app: AsyncApp, ctx: AppContext) -> None:
    async def roll_back(request: grammar.RollbackRequest, user: str, key: str, responder: Any) -> None:
        rollback_id = await request_rollback(ctx, request, user=user, request_key=key, usage=grammar.USAGE)
        await tell(responder, f":leftwards_arrow_with_hook: Rollback #{rollback_id} of {request.service} "
                              f"{request.environment} started; follow it in its thread.")

    def later(work: Any, responder: Any, name: str) -> None:
        ctx.background.spawn(answer_errors(work, responder), name=name, on_failure=apologise_via(responder))

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
        await ack(**replies.ephemeral(f":hourglass_flowing_sand: Rolling back {parsed.service} "
                                      f"{parsed.environment}…"))
        responder = ResponseUrlResponder(command["response_url"])
        key = f"{command.get('team_id')}:{command.get('trigger_id')}"
        later(roll_back(parsed, command["user_id"], key, responder), responder, "rollback-request")

    async def _open_form(trigger_id: str) -> None:
        async with ctx.db.session() as session:
            recent = await releases.recent_releases(session, limit=50)
        choices = [(f"{r.service} {r.environment}: {r.ref} ({short(r.sha)}) #{r.id}",
                    f"{r.service}/{r.environment}/{r.id}") for r in recent if r.verified_at is not None]
        await ctx.slack.views_open(trigger_id=trigger_id, view=rollback_modal(choices))

    @app.view(CallbackId.ROLLBACK_MODAL)
    async def on_rollback_submit(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        request = read_rollback_modal(view.get("state", {}).get("values", {}))
        if isinstance(request, dict):
            await ack(response_action="errors", errors=request)
            return
        try:
            check_target(ctx.config, request.service, request.environment, grammar.USAGE)
        except BadInput as exc:
            await ack(response_action="errors", errors={"target": exc.message})
            return
        await ack()
        user = body["user"]["id"]
        responder = DirectMessageResponder(ctx.slack, user)
        later(roll_back(request, user, f"{body.get('team', {}).get('id')}:{view.get('id')}", responder), responder,
              "rollback-form")
