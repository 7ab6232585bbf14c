"""Turning a `/deploy` request into a release: who may, which commit, start or queue (§2, §4).

Checks that need only the configuration run inline, before the ack (unknown service or
environment); checks that need Slack or the CI system (deployers, the ref) run after it. A
request that fails any check creates nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.commands.deploy import DeployRequest
from bot.config.models import Environment, Service, SwitchmanConfig
from bot.context import AppContext
from bot.errors import BadInput, NotAllowed, ProviderError
from bot.release import service as releases
from bot.release.flow import ReleaseFlow
from bot.release.models import ReleaseKind


@dataclass(frozen=True)
class Accepted:
    release_id: int
    duplicate: bool
    position: int | None  # place in the queue, None when it started at once
    ahead_by: list[str]  # requesters of the releases ahead


def check_target(config: SwitchmanConfig, service: str, environment: str, usage: str) -> tuple[Service, Environment]:
    """The configured service and environment, or a BadInput listing the valid choices."""
    if service not in config.services:
        choices = ", ".join(f"`{s}`" for s in sorted(config.services)) or "none configured"
        raise BadInput(f"there is no service `{service}`; services: {choices}", usage=usage)
    svc = config.services[service]
    if environment not in svc.environments:
        choices = ", ".join(f"`{e}`" for e in svc.environments)
        raise BadInput(f"`{service}` has no environment `{environment}`; its environments: {choices}", usage=usage)
    return svc, svc.environments[environment]


async def check_deployer(ctx: AppContext, env: Environment, environment: str, user: str) -> None:
    if env.deployers and not await ctx.directory.is_in_any(user, env.deployers):
        who = ", ".join(d if d.startswith("@") else f"<@{d}>" for d in env.deployers)
        raise NotAllowed(f"you are not allowed to deploy to {environment}; its deployers are {who}. "
                         "Ask one of them, or an admin to add you.")


async def request_release(ctx: AppContext, request: DeployRequest, *, user: str, request_key: str | None,
                          usage: str) -> Accepted:
    service, env = check_target(ctx.config, request.service, request.environment, usage)
    await check_deployer(ctx, env, request.environment, user)
    ref = request.ref or env.branch
    provider = ctx.providers[service.provider]
    try:
        sha = await provider.resolve_ref(service.repo, ref)
    except ProviderError as exc:
        raise BadInput(f"I could not find `{ref}` for {request.service}: {exc}", usage=usage) from None
    async with ctx.db.session() as session:
        created = await releases.create_release(
            session, service=request.service, environment=request.environment, ref=ref, sha=sha,
            strategy=request.strategy or env.strategy, requested_by=user, reason=request.reason,
            request_key=request_key, now=ctx.clock.now(), kind=ReleaseKind.DEPLOY)
    release_id = created.release.id
    assert release_id is not None
    if created.duplicate:
        return Accepted(release_id, True, None, [])
    flow = ReleaseFlow(ctx)
    if created.queued:
        await flow.open_thread(release_id, created.ahead)
        return Accepted(release_id, False, len(created.ahead) + 1, [r.requested_by for r in created.ahead])
    ctx.background.spawn(flow.start(release_id), name=f"release-{release_id}")
    return Accepted(release_id, False, None, [])
