"""How a release ends: the terminal state, its outcome row in the ledger, and the last word in the thread.

Called inside the caller's transaction, so the outcome commits with whatever ended the release.
Freeing the environment needs nothing more: a release that is not in flight holds nothing, and
`engine.advance` starts the next queued release once it sees this one finished.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.ledger.models import Decision, DecisionKind
from bot.release import store
from bot.release.machine import Event, allows
from bot.release.models import Release
from bot.release.thread import ReleaseThread

SYSTEM = "switchman"


async def end(session: AsyncSession, thread: ReleaseThread, release: Release, event: Event, summary: str, *,
              now: datetime, actor: str = SYSTEM, evidence: dict[str, Any] | None = None,
              **changes: Any) -> Decision | None:
    """Finish `release` by `event` (FAIL, CANCEL, SUCCEED…) and record it; None when it had already moved on."""
    if not allows(release.state, event) or not await store.apply(session, release, event, now=now, **changes):
        return None
    return await recorded_end(session, thread, release, summary, now=now, actor=actor, evidence=evidence)


async def recorded_end(session: AsyncSession, thread: ReleaseThread, release: Release, summary: str, *,
                       now: datetime, actor: str = SYSTEM, evidence: dict[str, Any] | None = None) -> Decision:
    """The outcome row, closing reply and parent update of a release already in its final state."""
    thread.refresh(session, release, now=now)
    return await thread.record(session, release, kind=DecisionKind.OUTCOME, actor=actor, outcome=release.state,
                               now=now, evidence={"summary": summary, **(evidence or {})},
                               message=thread.view.note(f"{thread.view.state_text(release.state)} — {summary}"))
