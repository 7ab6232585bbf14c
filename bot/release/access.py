"""Who may release what (§2, §4): the configured target, and the environment's deployers.

Checks that need only the configuration run inline, before the ack (unknown service or
environment); the deployer check needs Slack's user groups and runs after it. A developer who is
not a deployer may still deploy where the environment declares `trust:` — paired — and on their
own once a member of the pairing group granted them the right (`authorize_deploy`).
"""

from __future__ import annotations

from bot.commands.suggest import did_you_mean
from bot.config.models import Environment, Service, SwitchmanConfig
from bot.context import AppContext
from bot.errors import BadInput, NotAllowed
from bot.release.trust_models import DeployRight


def check_target(config: SwitchmanConfig, service: str, environment: str, usage: str) -> tuple[Service, Environment]:
    """The configured service and environment, or a BadInput listing the valid choices."""
    if service not in config.services:
        choices = ", ".join(f"`{s}`" for s in sorted(config.services)) or "none configured"
        raise BadInput(f"there is no service `{service}`{did_you_mean(service, config.services)} "
                       f"(services: {choices})", usage=usage)
    svc = config.services[service]
    if environment not in svc.environments:
        choices = ", ".join(f"`{e}`" for e in svc.environments)
        raise BadInput(f"`{service}` has no environment `{environment}`{did_you_mean(environment, svc.environments)} "
                       f"(its environments: {choices})", usage=usage)
    return svc, svc.environments[environment]


async def check_deployer(ctx: AppContext, env: Environment, environment: str, user: str) -> None:
    if env.deployers and not await ctx.directory.is_in_any(user, env.deployers):
        who = ", ".join(d if d.startswith("@") else f"<@{d}>" for d in env.deployers)
        raise NotAllowed(f"you are not allowed to deploy to {environment}; its deployers are {who}. "
                         "Ask one of them, or an admin to add you.")


async def has_earned_right(ctx: AppContext, service: str, environment: str, user: str) -> bool:
    """A deploy right earned by pairing and granted (and not revoked since) in the ledger (§4)."""
    async with ctx.db.session() as session:
        right = await session.get(DeployRight, (service, environment, user))
    return right is not None and right.granted


async def authorize_deploy(ctx: AppContext, service: str, env: Environment, environment: str,
                           user: str) -> str | None:
    """May `user` deploy here: None when on their own (a deployer, or a right earned by pairing), the group to
    pair with when only paired (`trust:`); NotAllowed otherwise."""
    if not env.deployers or await ctx.directory.is_in_any(user, env.deployers):
        return None
    if await has_earned_right(ctx, service, environment, user):
        return None
    if env.trust is not None:
        return env.trust.with_
    await check_deployer(ctx, env, environment, user)  # refuses, saying who may
    return None


async def check_rollback_right(ctx: AppContext, service: str, env: Environment, environment: str, user: str) -> None:
    """A rollback never skips authorization: deployers, and those who earned the right by pairing."""
    if (env.deployers and not await ctx.directory.is_in_any(user, env.deployers)
            and not await has_earned_right(ctx, service, environment, user)):
        await check_deployer(ctx, env, environment, user)
