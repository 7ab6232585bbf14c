"""Submitting a deploy request from Slack and telling the requester what became of it, in the order it happens:
"Requesting…" only once the requester is known to be allowed (a refusal is the only answer to a refused request)."""

from __future__ import annotations

from bot.commands import deploy as grammar
from bot.context import AppContext
from bot.release.access import authorize_deploy
from bot.release.requests import check_target, request_release
from bot.slack.responder import Responder, tell


async def submit_request(ctx: AppContext, request: grammar.DeployRequest, *, user: str, request_key: str,
                         responder: Responder, announce: bool = False) -> None:
    """With `announce` (a slash command, whose ack said nothing), "Requesting…" first, once allowed."""
    if announce:
        _, env = check_target(ctx.config, request.service, request.environment, grammar.USAGE)
        await authorize_deploy(ctx, request.service, env, request.environment, user)  # paired (trust:) is allowed
        await tell(responder, requesting(request))
    accepted = await request_release(ctx, request, user=user, request_key=request_key, usage=grammar.USAGE)
    if accepted.duplicate:
        return  # a retried delivery of a request we already acted on
    if accepted.position is not None:
        behind = ", ".join(f"<@{u}>" for u in accepted.ahead_by)
        await tell(responder, f":clock3: {request.environment} is busy: release #{accepted.release_id} is "
                              f"#{accepted.position} in line, behind {behind}. It starts by itself when its turn "
                              "comes.")
    else:
        await tell(responder, f":rocket: Release #{accepted.release_id} started; follow it in its thread.")


def requesting(request: grammar.DeployRequest) -> str:
    ref = request.ref or "the branch head"
    return f":hourglass_flowing_sand: Requesting {request.service} `{ref}` → {request.environment}…"
