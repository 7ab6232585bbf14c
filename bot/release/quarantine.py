"""After a rollback succeeds: the undone release is marked rolled back and its commit quarantined (§5).

The quarantine holds for that environment until a newer commit is deployed there (`rollout.succeed`
lifts it), so neither the queue nor a rollback can bring the bad commit straight back.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.release import store
from bot.release.machine import Event, allows
from bot.release.models import EnvironmentState, Release
from bot.release.thread import ReleaseThread


async def undone(session: AsyncSession, thread: ReleaseThread, rollback: Release, *, now: datetime) -> None:
    """In the rollback's success transaction: mark what it undid, quarantine that commit, say so there."""
    bad = await store.get(session, rollback.rollback_of or 0)
    if allows(bad.state, Event.UNDONE):
        await store.apply(session, bad, Event.UNDONE, now=now, rolled_back_at=now)
    state = await session.get(EnvironmentState, (bad.service, bad.environment))
    if state is not None and bad.sha and bad.sha != rollback.sha:
        state.quarantined_sha, state.updated_at = bad.sha, now
        session.add(state)
    thread.refresh(session, bad, now=now)
    thread.note(session, bad, f":leftwards_arrow_with_hook: Rolled back by release #{rollback.id}; "
                              f"`{(bad.sha or '')[:10]}` is quarantined in {bad.environment} until a newer commit "
                              "is deployed.", now=now)
