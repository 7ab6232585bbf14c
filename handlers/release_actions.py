"""Release buttons and modals: Approve, Reject, Override (and its form), and the `/deploy` form."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck

from bot.commands.limits import parse_button_id
from bot.context import AppContext
from bot.errors import BadInput
from bot.release import actions, gating
from bot.slack.clicks import read_click
from bot.slack.deploy_requests import submit_request
from bot.slack.form_state import refused_form, submitter
from bot.slack.form_submission import accept_target_form
from bot.slack.ids import ActionId, CallbackId
from bot.slack.release_modals import GATES, TARGET, override_modal, read_deploy_modal, read_override_modal
from bot.slack.request_keys import answer_once, click_key, request_key
from bot.slack.responder import DirectMessageResponder, ResponseUrlResponder, answer_in_lane, answer_later, tell


def register(app: AsyncApp, ctx: AppContext) -> None:
    async def _vote(body: dict[str, Any], approve: bool) -> None:
        click = read_click(body)
        responder = ResponseUrlResponder(click.response_url, ctx.webhooks)
        release_id, user, key = _release_id(click.value), click.user, request_key(body)
        answer_once(ctx, key, lambda: actions.vote(ctx, release_id, user=user, approve=approve, request_key=key),
                    responder, name="release-vote", merge_key=click_key(body))

    @app.action(ActionId.APPROVE)
    async def on_approve(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        await _vote(body, True)

    @app.action(ActionId.REJECT)
    async def on_reject(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        await _vote(body, False)

    async def _answer(body: dict[str, Any], action: Any, name: str) -> None:
        click = read_click(body)
        responder = ResponseUrlResponder(click.response_url, ctx.webhooks)
        release_id, user = _release_id(click.value), click.user

        async def work() -> str:
            answer: str = await action(ctx, release_id, user=user)
            await tell(responder, answer)
            return answer

        answer_in_lane(ctx.lane, work, responder, name=name, merge_key=click_key(body))

    # Past a paused verification: Promote (no data) and Continue (failed) carry on; Abort and Roll back
    # stop and roll back. Each acks, then answers the clicker in the background.
    paused_buttons = {ActionId.PROMOTE: actions.promote, ActionId.CONTINUE: actions.promote,
                      ActionId.ABORT: actions.abort, ActionId.ROLL_BACK: actions.abort}
    for action_id, action in paused_buttons.items():
        def listener(action: Any = action, name: str = f"release-{action_id.value}") -> Any:
            async def on_click(ack: AsyncAck, body: dict[str, Any]) -> None:
                await ack()
                await _answer(body, action, name)

            return on_click

        app.action(action_id)(listener())

    @app.action(ActionId.OVERRIDE)
    async def on_override(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        click = read_click(body)
        release_id = _release_id(click.value)
        responder = ResponseUrlResponder(click.response_url, ctx.webhooks)
        trigger_id = click.trigger_id
        if trigger_id is None:
            raise BadInput("this click cannot open the Override form; click the button again")

        async def work() -> None:
            async with ctx.db.session() as session:
                standings = await gating.standings(session, release_id)
            gates = [s.gate for s in standings if s.verdict.blocks and s.overridable and not s.overridden]
            if not gates:
                raise BadInput(f"release #{release_id} has no failing gate that may be overridden")
            await ctx.slack.views_open(trigger_id=trigger_id, view=override_modal(release_id, gates))

        answer_in_lane(ctx.lane, work, responder, name="override-modal", merge_key=click_key(body))

    @app.view(CallbackId.OVERRIDE_MODAL)
    async def on_override_submit(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        user = submitter(body)
        form = refused_form(view, user, main_block=GATES) or read_override_modal(view)
        if isinstance(form, dict):
            await ack(response_action="errors", errors=form)
            return
        await ack()
        assert user is not None  # refused_form said so
        key = request_key(body)
        responder = DirectMessageResponder(ctx.slack, user)
        answer_once(ctx, key, lambda: actions.override(ctx, form.release_id, user=user, gates=form.gates,
                                                       reason=form.reason, request_key=key),
                    responder, name="override")

    @app.view(CallbackId.DEPLOY_MODAL)
    async def on_deploy_submit(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        request = (refused_form(view, submitter(body), main_block=TARGET)
                   or read_deploy_modal(view.get("state", {}).get("values", {})))
        submitted = await accept_target_form(ack, ctx, body, view, request)
        if submitted is None or isinstance(request, dict):
            return
        answer_later(ctx.background, submit_request(ctx, request, user=submitted.user,
                                                    request_key=submitted.request_key,
                                                    responder=submitted.responder),
                     submitted.responder, name="deploy-form")


def _release_id(value: object) -> int:
    return parse_button_id(value, what="release")
