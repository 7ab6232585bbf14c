"""The handoff-runs table as a once-only switch: claim a handoff, then finish it with its messages.

A handoff is identified by (rotation, shift_start), unique in the table. Whoever fires it first
takes the claim with a compare-and-set (an UPDATE that only matches an unclaimed, unfinished
row, or one whose claim has outlived `LEASE`); anyone else learns it is done, or busy until
the lease ends. `complete` finishes the run only while the claim is still the caller's, in the
caller's transaction, which also queues the handoff's messages: they are queued once, by whoever
finishes it, and a process that takes over an abandoned claim finds nothing half done.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.oncall.schedule_models import HandoffRun
from bot.storage.database import Database

LEASE = timedelta(minutes=5)
FIND_BATCH = 400  # shift starts per query of `find_many` (well under any database's limit of bound values)


@dataclass(frozen=True)
class Claim:
    run: HandoffRun
    won: bool  # this caller holds the claim and does the handoff
    busy_until: datetime | None = None  # someone else holds it until then (None: it is finished)


async def find(session: AsyncSession, rotation: str, shift_start: datetime) -> HandoffRun | None:
    query = select(HandoffRun).where(HandoffRun.rotation == rotation, HandoffRun.shift_start == shift_start)
    return (await session.exec(query)).first()


async def _ensure(session: AsyncSession, rotation: str, shift_start: datetime) -> None:
    if await find(session, rotation, shift_start) is not None:
        return
    row = HandoffRun(rotation=rotation, shift_start=shift_start)
    try:
        async with session.begin_nested():
            session.add(row)
    except IntegrityError:  # created by a concurrent claimer; the UPDATE below decides between us
        if row in session:
            session.expunge(row)


async def claim(db: Database, rotation: str, shift_start: datetime, *, now: datetime, token: str) -> Claim:
    async with db.session() as session:
        await _ensure(session, rotation, shift_start)
        result = await session.exec(
            update(HandoffRun)
            .where(col(HandoffRun.rotation) == rotation, col(HandoffRun.shift_start) == shift_start,
                   col(HandoffRun.completed_at).is_(None),
                   or_(col(HandoffRun.claimed_at).is_(None), col(HandoffRun.claimed_at) <= now - LEASE))
            .values(claimed_at=now, claim_token=token))
        won = result.rowcount == 1
        run = await find(session, rotation, shift_start)
        assert run is not None
        await session.refresh(run)
    if won or run.completed_at is not None:
        return Claim(run, won)
    assert run.claimed_at is not None
    return Claim(run, False, run.claimed_at + LEASE)


async def record(db: Database, run_id: int, **values: Any) -> None:
    """Store values of a run at once, in a transaction of their own."""
    async with db.session() as session:
        await session.exec(update(HandoffRun).where(col(HandoffRun.id) == run_id)
                           .values(**values))


async def complete(session: AsyncSession, run: HandoffRun, *, now: datetime, **values: Any) -> bool:
    """Finish `run` (with who took over) if its claim is still the caller's; False when someone else's is."""
    result = await session.exec(
        update(HandoffRun)
        .where(col(HandoffRun.id) == run.id, col(HandoffRun.claim_token) == run.claim_token,
               col(HandoffRun.completed_at).is_(None))
        .values(completed_at=now, **values))
    return bool(result.rowcount == 1)


async def mark_reminded(session: AsyncSession, rotation: str, shift_start: datetime, *, now: datetime) -> bool:
    """True for the one caller that gets to send the reminder before this shift (queue it in `session`)."""
    await _ensure(session, rotation, shift_start)
    result = await session.exec(
        update(HandoffRun)
        .where(col(HandoffRun.rotation) == rotation, col(HandoffRun.shift_start) == shift_start,
               col(HandoffRun.reminded_at).is_(None))
        .values(reminded_at=now))
    return bool(result.rowcount == 1)


async def latest_completed(session: AsyncSession, rotation: str, *, excluding: datetime | None = None
                           ) -> HandoffRun | None:
    """The handoff Switchman announced last for `rotation`: who it last said holds the pager."""
    query = select(HandoffRun).where(HandoffRun.rotation == rotation, col(HandoffRun.completed_at).is_not(None))
    if excluding is not None:
        query = query.where(HandoffRun.shift_start != excluding)
    query = query.order_by(col(HandoffRun.completed_at).desc(), col(HandoffRun.id).desc())
    return (await session.exec(query)).first()


async def latest_completed_of_each(session: AsyncSession) -> dict[str, HandoffRun]:
    """`latest_completed` of every rotation, in one query (start-up planning)."""
    rank = func.row_number().over(partition_by=col(HandoffRun.rotation),
                                  order_by=(col(HandoffRun.completed_at).desc(), col(HandoffRun.id).desc()))
    ranked = (select(col(HandoffRun.id).label("id"), rank.label("rank"))
              .where(col(HandoffRun.completed_at).is_not(None)).subquery())
    query = select(HandoffRun).join(ranked, col(HandoffRun.id) == ranked.c.id).where(ranked.c.rank == 1)
    return {run.rotation: run for run in (await session.exec(query)).all()}


async def find_many(session: AsyncSession, keys: Iterable[tuple[str, datetime]]
                    ) -> dict[tuple[str, datetime], HandoffRun]:
    """`find` for many (rotation, shift start) keys, in a few queries (start-up planning)."""
    wanted = set(keys)
    instants = sorted({instant for _, instant in wanted})
    found: dict[tuple[str, datetime], HandoffRun] = {}
    for at in range(0, len(instants), FIND_BATCH):
        query = select(HandoffRun).where(col(HandoffRun.shift_start).in_(instants[at:at + FIND_BATCH]))
        for run in (await session.exec(query)).all():
            if (run.rotation, run.shift_start) in wanted:
                found[(run.rotation, run.shift_start)] = run
    return found


async def completed_runs(session: AsyncSession, rotation: str | None = None) -> list[HandoffRun]:
    query = select(HandoffRun).where(col(HandoffRun.completed_at).is_not(None))
    if rotation is not None:
        query = query.where(HandoffRun.rotation == rotation)
    return list((await session.exec(query.order_by(col(HandoffRun.shift_start)))).all())
