"""The handoff-runs claim on SQLite and on a real PostgreSQL server: racing claimers, leases, reminders."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bot.oncall import handoff_runs
from bot.storage.database import Database

SHIFT = datetime(2026, 11, 23, 9, tzinfo=UTC)


async def test_racing_claimers_hand_off_once(db: Database) -> None:
    claims = await asyncio.gather(*(handoff_runs.claim(db, "api-oncall", SHIFT, now=SHIFT, token=f"t{n}")
                                    for n in range(5)))
    assert sum(c.won for c in claims) == 1
    assert all(c.busy_until == SHIFT + handoff_runs.LEASE for c in claims if not c.won)
    winner = next(c for c in claims if c.won)
    assert winner.run.id is not None
    await handoff_runs.record(db, winner.run.id, completed_at=SHIFT)
    later = await handoff_runs.claim(db, "api-oncall", SHIFT, now=SHIFT + timedelta(hours=1), token="late")
    assert not later.won and later.busy_until is None  # finished: nothing to do, nothing to wait for


async def test_an_abandoned_claim_is_taken_over_after_its_lease(db: Database) -> None:
    first = await handoff_runs.claim(db, "api-oncall", SHIFT, now=SHIFT, token="crashed")
    assert first.won and first.run.id is not None
    await handoff_runs.record(db, first.run.id, channel_id="C1", message_ts="1.000001")
    early = await handoff_runs.claim(db, "api-oncall", SHIFT, now=SHIFT + timedelta(minutes=1), token="b")
    assert not early.won
    late = await handoff_runs.claim(db, "api-oncall", SHIFT, now=SHIFT + handoff_runs.LEASE, token="b")
    assert late.won and late.run.message_ts == "1.000001"  # it takes the run over as it was left


async def test_only_the_current_claim_finishes_a_run(db: Database) -> None:
    stale = await handoff_runs.claim(db, "api-oncall", SHIFT, now=SHIFT, token="crashed")
    fresh = await handoff_runs.claim(db, "api-oncall", SHIFT, now=SHIFT + handoff_runs.LEASE, token="b")
    assert stale.won and fresh.won
    async with db.session() as session:  # the process that lost its claim comes back: it queues nothing
        assert not await handoff_runs.complete(session, stale.run, now=SHIFT + handoff_runs.LEASE, primary="U1")
    async with db.session() as session:
        assert await handoff_runs.complete(session, fresh.run, now=SHIFT + handoff_runs.LEASE, primary="U2")
    async with db.session() as session:
        assert not await handoff_runs.complete(session, fresh.run, now=SHIFT + handoff_runs.LEASE, primary="U3")
        run = await handoff_runs.find(session, "api-oncall", SHIFT)
    assert run is not None and run.primary == "U2"


async def mark_reminded(db: Database) -> bool:
    async with db.session() as session:
        return await handoff_runs.mark_reminded(session, "api-oncall", SHIFT, now=SHIFT)


async def test_a_reminder_goes_out_once(db: Database) -> None:
    marks = await asyncio.gather(*(mark_reminded(db) for _ in range(3)))
    assert sorted(marks) == [False, False, True]
    claim = await handoff_runs.claim(db, "api-oncall", SHIFT, now=SHIFT, token="t")
    assert claim.won  # the reminder's row does not count as a handoff
