"""Who may promote a rollout past a paused verification (inconclusive or failed check).

The environment's `overriders` when it names any; otherwise its approvers (the user groups of its
approval gates), so an environment configured like PRODUCT.md's sketch — approvals, no overriders —
is never stuck with a Promote button nobody may press. A refusal says who may, and that no
overriders are configured when that is why approvers decide. As with approvals, an approver cannot
promote a release they requested; an overrider can (overriding is their configured role).
"""

from __future__ import annotations

from bot.config.gates import Approval
from bot.config.models import Environment
from bot.context import AppContext
from bot.errors import NotAllowed
from bot.release.models import Release


def approver_groups(env: Environment) -> list[str]:
    return list(dict.fromkeys(g.group for g in env.gates if isinstance(g, Approval)))


async def check_promoter(ctx: AppContext, release: Release, env: Environment, *, user: str) -> None:
    """Return when `user` may promote `release`; raise NotAllowed saying who may otherwise."""
    where = release.environment
    if env.overriders:
        if await ctx.directory.is_in_any(user, env.overriders):
            return
        raise NotAllowed(f"only {where}'s overriders ({_named(env.overriders)}) can promote past a verification")
    approvers = approver_groups(env)
    if not approvers:
        raise NotAllowed(f"no one can promote past a verification in {where}: it has no overriders and no approval "
                         "gate configured. Abort the release, or ask an admin to add `overriders:` to "
                         f"{release.service} {where} in switchman.yml.")
    if not await ctx.directory.is_in_any(user, approvers):
        raise NotAllowed(f"only {where}'s approvers ({_named(approvers)}) can promote past a verification; no "
                         "overriders are configured there")
    if user == release.requested_by:
        raise NotAllowed(f"you requested release #{release.id}, so as an approver you cannot promote it past its "
                         f"verification; ask another of {_named(approvers)}")


def _named(refs: list[str]) -> str:
    return ", ".join(r if r.startswith(("@", "S")) else f"<@{r}>" for r in refs)
