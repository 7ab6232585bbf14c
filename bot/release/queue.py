"""Whether a queued release still has anything to deploy when its turn comes (the queue is FIFO).

A queued release whose commit already runs in its environment, or is an ancestor of what runs, is
superseded: deploying it would put nothing new out, or put an older commit over a newer one.
Ancestry comes from the provider's compare (`ChangePreview.ahead_by`); a provider that cannot tell
(the sandbox), or that cannot be reached, leaves only the same-commit test, and the release runs.
"""

from __future__ import annotations

import logging

from bot.context import AppContext
from bot.errors import ProviderError
from bot.release.models import EnvironmentState, Release, ReleaseKind

log = logging.getLogger(__name__)


async def superseded(ctx: AppContext, release: Release) -> str | None:
    """Why `release` need not run any more, or None when it should. A rollback goes back on purpose: never."""
    if release.kind != ReleaseKind.DEPLOY:
        return None
    async with ctx.db.session() as session:
        state = await session.get(EnvironmentState, (release.service, release.environment))
    if state is None or not state.current_sha or not release.sha:
        return None
    running = f"`{state.current_ref}`" + (f", release #{state.current_release_id}" if state.current_release_id else "")
    if release.sha == state.current_sha:
        return (f"its commit `{release.sha[:10]}` already runs in {release.environment} ({running}); "
                "nothing left to deploy")
    service = ctx.config.services[release.service]
    try:
        change = await ctx.providers[service.code_host].compare(service.repo, state.current_sha, release.sha)
    except ProviderError as exc:
        log.warning("cannot tell whether a queued release is superseded; it runs",
                    extra={"release_id": release.id, "error": str(exc)})
        return None
    if change.ahead_by == 0:
        return (f"its commit `{release.sha[:10]}` is an ancestor of what runs in {release.environment} "
                f"(`{state.current_sha[:10]}`, {running}); deploying it would go backwards")
    return None
