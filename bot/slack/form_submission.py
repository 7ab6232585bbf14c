"""Accepting a release form (deploy, rollback): field errors go back beside the fields, else ack.

A submission is checked against the configuration before the ack, so a mistyped target is shown in
the form itself; what needs Slack or a CI system is checked afterwards and answered by DM.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck

from bot.commands.deploy import USAGE as DEPLOY_USAGE
from bot.commands.deploy import DeployRequest
from bot.commands.rollback import RollbackRequest
from bot.context import AppContext
from bot.errors import BadInput
from bot.release.requests import check_target
from bot.slack.request_keys import request_key
from bot.slack.responder import DirectMessageResponder


@dataclass(frozen=True)
class Submitted:
    user: str
    responder: DirectMessageResponder
    request_key: str  # one per opened form, so a resubmitted form creates nothing new


async def accept_target_form(ack: AsyncAck, ctx: AppContext, body: dict[str, Any], view: dict[str, Any],
                             form: DeployRequest | RollbackRequest | dict[str, str]) -> Submitted | None:
    if isinstance(form, dict):
        await ack(response_action="errors", errors=form)
        return None
    try:
        check_target(ctx.config, form.service, form.environment, DEPLOY_USAGE)
    except BadInput as exc:
        await ack(response_action="errors", errors={"target": exc.message})
        return None
    await ack()
    user = body["user"]["id"]
    return Submitted(user, DirectMessageResponder(ctx.slack, user), request_key(body))
