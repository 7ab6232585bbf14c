"""How a release ends: the terminal state, its outcome row in the ledger, the last word in the thread,
and the post-release report after it (`report_post`).

Called inside the caller's transaction, so the outcome and the report commit with whatever ended
the release. Freeing the environment needs nothing more: a release that is not in flight holds
nothing, and `engine.advance` starts the next queued release once it sees this one finished.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.ledger.models import Decision, DecisionKind
from bot.release import store
from bot.release.machine import Event, allows
from bot.release.models import Release, ReleaseKind
from bot.release.report_post import post_if_due
from bot.release.thread import ReleaseThread

SYSTEM = "switchman"


async def end(session: AsyncSession, thread: ReleaseThread, release: Release, event: Event, summary: str, *,
              now: datetime, actor: str = SYSTEM, evidence: dict[str, Any] | None = None, settled: bool = True,
              **changes: Any) -> Decision | None:
    """Finish `release` by `event` (FAIL, CANCEL, SUCCEED…) and record it; None when it had already moved on."""
    if not allows(release.state, event) or not await store.apply(session, release, event, now=now, **changes):
        return None
    return await recorded_end(session, thread, release, summary, now=now, actor=actor, evidence=evidence,
                              settled=settled)


async def recorded_end(session: AsyncSession, thread: ReleaseThread, release: Release, summary: str, *,
                       now: datetime, actor: str = SYSTEM, evidence: dict[str, Any] | None = None,
                       settled: bool = True) -> Decision:
    """The outcome row, closing reply, report and parent update of a release already in its final state.

    `settled=False`: a rollback of this release is about to start; its report waits for that rollback.
    A rollback's end also makes the report of the release it undid due.
    """
    thread.refresh(session, release, now=now)
    row = await thread.record(session, release, kind=DecisionKind.OUTCOME, actor=actor, outcome=release.state,
                              now=now, evidence={"summary": summary, **(evidence or {})},
                              message=thread.view.note(f"{thread.view.state_text(release.state)} — {summary}"))
    if settled:
        await post_if_due(session, thread, release, now=now)
    if release.kind == ReleaseKind.ROLLBACK and release.rollback_of is not None:
        await post_if_due(session, thread, await store.get(session, release.rollback_of), now=now)
    return row
