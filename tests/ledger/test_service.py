"""Appending to the ledger and verifying it, on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.ledger import service
from bot.ledger.chain import GENESIS, ProblemKind, fields_of, row_hash
from bot.ledger.models import Decision, DecisionKind
from bot.ledger.service import decisions_for_release, iter_decisions, record, verify
from bot.release.models import Lock
from bot.storage.database import Database
from bot.storage.migrate import upgrade

NOW = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
EVIDENCE = {"gate": "ci_green", "checks": ["build", "test"], "ratio": 0.1, "big": 1e20, "note": "grün ✓"}


async def _fill(db: Database, n: int) -> list[Decision]:
    rows = []
    for i in range(1, n + 1):
        async with db.session() as session:
            rows.append(await record(session, kind=DecisionKind.GATE_VERDICT, actor="switchman", release_id=i % 2,
                                     subject=f"api #{i}", outcome="pass", evidence=EVIDENCE | {"i": i},
                                     decided_at=NOW + timedelta(minutes=i),
                                     permalink=f"https://example.slack.com/archives/C1/p{i}"))
    return rows


async def _problems(db: Database) -> list[tuple[int, ProblemKind]]:
    async with db.session() as session:
        report = await verify(session, batch=2)  # small batches: the walk crosses batch edges
    assert report.checked > 0
    return [(p.seq, p.kind) for p in report.problems]


async def _sql(db: Database, statement: str, **params: object) -> None:
    async with db.engine.begin() as conn:
        await conn.execute(text(statement), params)


async def test_appended_rows_chain_to_each_other_and_read_back_unchanged(db: Database) -> None:
    written = await _fill(db, 5)
    assert [r.seq for r in written] == [1, 2, 3, 4, 5]
    assert written[0].prev_hash == GENESIS
    assert all(later.prev_hash == earlier.hash for earlier, later in pairwise(written))
    async with db.session() as session:
        stored = [d async for d in iter_decisions(session, batch=2)]
        report = await verify(session, batch=2)
    assert [fields_of(d) for d in stored] == [fields_of(d) for d in written]
    assert all(row_hash(fields_of(d)) == d.hash for d in stored)
    assert (report.ok, report.checked, report.head_seq, report.head_hash) == (True, 5, 5, written[-1].hash)


async def test_an_empty_ledger_verifies(db: Database) -> None:
    async with db.session() as session:
        report = await verify(session)
    assert (report.ok, report.checked, report.head_seq) == (True, 0, None)


async def test_an_edited_evidence_field_is_named(db: Database) -> None:
    await _fill(db, 5)
    await _sql(db, "UPDATE decisions SET evidence = :e WHERE seq = 3", e='{"gate": "ci_green", "verdict": "pass"}')
    assert await _problems(db) == [(3, ProblemKind.HASH_MISMATCH)]


async def test_a_deleted_middle_row_is_named(db: Database) -> None:
    await _fill(db, 5)
    await _sql(db, "DELETE FROM decisions WHERE seq = 3")
    assert await _problems(db) == [(4, ProblemKind.MISSING_ROWS)]


async def test_an_edited_row_given_a_matching_hash_breaks_the_next_link(db: Database) -> None:
    await _fill(db, 5)
    await _sql(db, "UPDATE decisions SET outcome = 'fail' WHERE seq = 3")
    async with db.session() as session:
        edited = (await session.exec(select(Decision).where(Decision.seq == 3))).one()
    await _sql(db, "UPDATE decisions SET hash = :h WHERE seq = 3", h=row_hash(fields_of(edited)))
    assert await _problems(db) == [(4, ProblemKind.BROKEN_LINK)]
    async with db.session() as session:
        [problem] = (await verify(session)).problems
    assert "seq 3" in problem.detail


async def test_twenty_concurrent_appends_get_seq_1_to_20_and_an_intact_chain(db: Database) -> None:
    async def append(i: int) -> int:
        async with db.session() as session:
            row = await record(session, kind="approval", actor=f"U{i:03}", decided_at=NOW, evidence={"i": i})
            return row.seq

    seqs = await asyncio.gather(*(append(i) for i in range(20)))
    assert sorted(seqs) == list(range(1, 21))
    async with db.session() as session:
        report = await verify(session)
    assert (report.ok, report.checked) == (True, 20)


async def _add_lock(session: AsyncSession) -> None:
    session.add(Lock(service="api", environment="production", holder="U0ALICE", reason="incident",
                     created_at=NOW, expires_at=NOW + timedelta(hours=1)))


def _stale_reads(monkeypatch: pytest.MonkeyPatch, times: int) -> None:
    """The first `times` reads of the chain's end miss the newest row, as if another writer had
    appended between our read and our insert."""
    real = service._chain_end
    left = iter(range(times))

    async def stale(session: AsyncSession) -> tuple[int, str]:
        seq, hash_ = await real(session)
        if next(left, None) is None:
            return seq, hash_
        previous = (await session.exec(select(Decision).where(Decision.seq == seq - 1))).one()
        return previous.seq, previous.hash

    monkeypatch.setattr(service, "_chain_end", stale)


async def test_an_append_that_loses_a_race_is_retried_without_losing_the_callers_work(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    await _fill(db, 2)
    _stale_reads(monkeypatch, times=service.MAX_ATTEMPTS - 1)
    async with db.session() as session:
        await _add_lock(session)
        row = await record(session, kind="lock", actor="U0ALICE", decided_at=NOW)
    assert row.seq == 3
    async with db.session() as session:
        assert len((await session.exec(select(Lock))).all()) == 1
        report = await verify(session)
    assert (report.ok, report.checked) == (True, 3)


async def test_an_append_that_keeps_losing_fails_but_leaves_the_session_usable(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    await _fill(db, 2)
    _stale_reads(monkeypatch, times=service.MAX_ATTEMPTS)
    async with db.session() as session:
        await _add_lock(session)
        with pytest.raises(IntegrityError):
            await record(session, kind="lock", actor="U0ALICE", decided_at=NOW)
    async with db.session() as session:
        assert len((await session.exec(select(Lock))).all()) == 1
        assert (await verify(session)).checked == 2


async def test_a_decision_rolls_back_with_the_callers_transaction(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.session() as session:
            await record(session, kind="override", actor="U0ALICE", decided_at=NOW)
            raise RuntimeError("the release update failed")
    async with db.session() as session:
        assert (await verify(session)).checked == 0


async def test_decisions_of_one_release_in_order(db: Database) -> None:
    await _fill(db, 5)
    async with db.session() as session:
        assert [d.seq for d in await decisions_for_release(session, 1)] == [1, 3, 5]


async def test_iterating_a_time_window(db: Database) -> None:
    await _fill(db, 5)
    async with db.session() as session:
        window = [d.seq async for d in iter_decisions(session, since=NOW + timedelta(minutes=2),
                                                      until=NOW + timedelta(minutes=4), batch=1)]
    assert window == [2, 3]


@pytest.mark.parametrize("bad", [
    {"kind": "no-such-kind"}, {"actor": ""}, {"decided_at": datetime(2026, 1, 1)}, {"subject": "x" * 513},
    {"evidence": {"ratio": float("inf")}},
])
async def test_bad_decisions_are_refused_before_touching_the_ledger(db: Database, bad: dict[str, object]) -> None:
    args: dict[str, object] = {"kind": "approval", "actor": "U0CAROL", "decided_at": NOW} | bad
    async with db.session() as session:
        with pytest.raises(ValueError):
            await record(session, **args)  # type: ignore[arg-type]
        assert (await verify(session)).checked == 0


async def test_undecodable_stored_evidence_is_reported_not_raised(sqlite_url: str) -> None:
    upgrade(sqlite_url)  # PostgreSQL's json type refuses such a value outright
    db = Database(sqlite_url)
    try:
        await _fill(db, 3)
        await _sql(db, "UPDATE decisions SET evidence = 'not json' WHERE seq = 2")
        async with db.session() as session:
            report = await verify(session)
    finally:
        await db.dispose()
    assert [(p.seq, p.kind) for p in report.problems] == [(2, ProblemKind.UNREADABLE)]
    assert "evidence is not JSON" in report.problems[0].detail
    assert report.checked == 3
