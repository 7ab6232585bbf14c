"""Turning a `/deploy` or `/rollback` request into a release: who may, which commit, start or queue (§2, §4).

A request that fails any check creates nothing. One that passes creates the release and queues
its thread's opening messages in the same transaction, then hands it to the engine.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.commands.deploy import DeployRequest
from bot.commands.rollback import RollbackRequest
from bot.context import AppContext
from bot.errors import BadInput, Blocked, ProviderError, RefNotFound
from bot.release import drill, engine, rollback
from bot.release import service as releases
from bot.release.access import authorize_deploy, check_deployer, check_target
from bot.release.gating import thread_of
from bot.release.models import ReleaseKind

__all__ = ["Accepted", "check_deployer", "check_target", "request_drill", "request_release", "request_rollback"]


@dataclass(frozen=True)
class Accepted:
    release_id: int
    duplicate: bool
    position: int | None  # place in the queue, None when it started at once
    ahead_by: list[str]  # requesters of the releases ahead


async def request_release(ctx: AppContext, request: DeployRequest, *, user: str, request_key: str | None,
                          usage: str) -> Accepted:
    service, env = check_target(ctx.config, request.service, request.environment, usage)
    pair_with = await authorize_deploy(ctx, request.service, env, request.environment, user)
    ref = request.ref or env.branch
    provider = ctx.providers[service.code_host]
    try:
        sha = await provider.resolve_ref(service.repo, ref)
    except RefNotFound as exc:
        raise BadInput(f"I could not find `{ref}` for {request.service}: {exc}", usage=usage) from None
    except ProviderError as exc:  # the provider failed to answer: the ref may well exist
        raise Blocked(f"I could not look up `{ref}` for {request.service}, so nothing was started: {exc}. "
                      "Try again once it answers.") from None
    now, thread = ctx.clock.now(), thread_of(ctx)
    async with ctx.db.session() as session:
        created = await releases.create_release(
            session, service=request.service, environment=request.environment, ref=ref, sha=sha,
            strategy=request.strategy or env.strategy, requested_by=user, reason=request.reason,
            request_key=request_key, now=now, kind=ReleaseKind.DEPLOY)
        release = created.release
        if not created.duplicate and pair_with is not None:  # waits for a pair from the group (gating)
            release.detail = {**(release.detail or {}), "pairing": {"with": pair_with}}
            session.add(release)
        if not created.duplicate:
            position = len(created.ahead) + 1 if created.queued else None
            thread.open(session, release, now=now, position=position)
            if created.queued:
                thread.say(session, release, ctx.release_view.queued(release, created.ahead), now=now)
    assert release.id is not None
    if created.duplicate:
        return Accepted(release.id, True, None, [])
    if created.queued:
        if created.stalled:  # the environment is free but its queue was not moved on: do it now, oldest first
            await engine.start_next(ctx, request.service, request.environment)
        return Accepted(release.id, False, len(created.ahead) + 1, [r.requested_by for r in created.ahead])
    engine.kick(ctx, release.id)
    return Accepted(release.id, False, None, [])


async def request_rollback(ctx: AppContext, request: RollbackRequest, *, user: str, request_key: str | None,
                           usage: str) -> int:
    """A person's `/rollback`; returns the rollback's release id, already under way."""
    rollback_id = await rollback.request_rollback(ctx, request, user=user, request_key=request_key, usage=usage)
    engine.kick(ctx, rollback_id)
    return rollback_id


async def request_drill(ctx: AppContext, request: drill.DrillRequest, *, user: str, request_key: str | None,
                        usage: str) -> int:
    """A person's `/rollback drill`; returns the drill's release id, already under way."""
    drill_id = await drill.request_drill(ctx, request, user=user, request_key=request_key, usage=usage)
    engine.kick(ctx, drill_id)
    return drill_id
