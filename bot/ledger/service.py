"""Appending to and reading the decision ledger (§3). Rows are only ever inserted; nothing here updates.

Appends are serialised so concurrent writers each get the next seq: on PostgreSQL by a transaction
advisory lock, on SQLite by taking the database's single write lock before reading the chain's end.
Should an append still lose a race (a writer that skipped the lock, a stale snapshot), the primary
key on seq refuses the duplicate and the append is retried in a fresh SAVEPOINT, a bounded number of
times, without disturbing the caller's other work in the same session.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Executable, Result, String, Table, text
from sqlalchemy import select as core_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.ledger.chain import GENESIS, ChainWalker, VerifyReport, row_hash
from bot.ledger.models import Decision, DecisionKind

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
# Any fixed 64-bit key works; this one spells "SWLEDGER" so it is recognisable in pg_locks.
PG_LEDGER_LOCK = 0x53574C4544474552
_TABLE: Table = Decision.__table__  # type: ignore[attr-defined]


async def record(session: AsyncSession, *, kind: DecisionKind | str, actor: str, decided_at: datetime,
                 subject: str = "", outcome: str = "", release_id: int | None = None,
                 evidence: Mapping[str, Any] | None = None, permalink: str | None = None) -> Decision:
    """Append one decision to the ledger, in the caller's transaction, and return the new row.

    Post first, then record: a row is never changed after it is written, so a caller whose decision
    appears in Slack posts that message first and passes its permalink here, in the same transaction
    as the state change the decision causes. When Slack cannot be reached the decision is still
    recorded, with `permalink=None`: the ledger must not depend on Slack being up.

    Keep the transaction short after calling this: on PostgreSQL the append lock is held until commit.
    """
    values = _validated(kind=kind, actor=actor, decided_at=decided_at, subject=subject, outcome=outcome,
                        release_id=release_id, evidence=evidence, permalink=permalink)
    await session.flush()  # the caller's pending rows fail on their own account, not as a ledger race
    await _serialise_appends(session)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            async with session.begin_nested():
                row = await _append(session, values)
        except IntegrityError:
            if attempt == MAX_ATTEMPTS:
                raise
            log.info("ledger append lost a race; retrying", extra={"attempt": attempt})
        else:
            return row
    raise AssertionError("unreachable")


async def _serialise_appends(session: AsyncSession) -> None:
    connection = await session.connection()
    if connection.dialect.name == "postgresql":
        await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_LEDGER_LOCK})
    elif connection.dialect.name == "sqlite":
        # An empty append takes SQLite's write lock (waiting out busy_timeout) before the chain's end
        # is read. It also makes the driver open the transaction, so the SAVEPOINT below is nested:
        # as the outermost statement, pysqlite's RELEASE would commit behind the caller's back.
        await connection.execute(text("INSERT INTO decisions SELECT * FROM decisions WHERE 0 = 1"))


async def _chain_end(session: AsyncSession) -> tuple[int, str]:
    """The last row's seq and hash; (0, GENESIS) for an empty ledger."""
    last = (await session.exec(
        select(Decision.seq, Decision.hash).order_by(col(Decision.seq).desc()).limit(1))).first()
    return (last[0], last[1]) if last is not None else (0, GENESIS)


async def _append(session: AsyncSession, values: dict[str, Any]) -> Decision:
    last_seq, prev_hash = await _chain_end(session)
    fields = {**values, "seq": last_seq + 1, "prev_hash": prev_hash}
    row = Decision(**fields, hash=row_hash(fields))
    session.add(row)
    return row


def _validated(*, kind: DecisionKind | str, actor: str, decided_at: datetime, subject: str, outcome: str,
               release_id: int | None, evidence: Mapping[str, Any] | None, permalink: str | None) -> dict[str, Any]:
    if not actor:
        raise ValueError("a decision needs an actor: who or what decided")
    if decided_at.tzinfo is None:
        raise ValueError("decided_at must be timezone-aware")
    values: dict[str, Any] = {
        "kind": DecisionKind(kind).value, "actor": actor, "decided_at": decided_at.astimezone(UTC),
        "subject": subject, "outcome": outcome, "release_id": release_id, "permalink": permalink,
        # Hash exactly what the database will hand back: JSON keys become strings, tuples lists.
        "evidence": json.loads(json.dumps(dict(evidence or {}), allow_nan=False)),
    }
    for name in ("kind", "actor", "subject", "outcome", "permalink"):
        limit = getattr(_TABLE.c[name].type, "length", None)
        if isinstance(values[name], str) and limit is not None and len(values[name]) > limit:
            raise ValueError(f"{name} is longer than {limit} characters")
    return values


async def verify(session: AsyncSession, *, batch: int = 500) -> VerifyReport:
    """Walk every row in seq order, a batch at a time, and report each gap, broken link and edited row."""
    walker = ChainWalker()
    after: int | None = None
    while True:
        page = core_select(_TABLE.c.seq).order_by(_TABLE.c.seq).limit(batch)
        if after is not None:
            page = page.where(_TABLE.c.seq > after)
        seqs = list((await _core(session, page)).scalars())
        if not seqs:
            return walker.report
        try:
            rows = await _rows(session, seqs[0], seqs[-1])
        except ValueError:  # a tampered value the column type cannot decode: find which row
            await _walk_one_by_one(session, seqs, walker)
        else:
            for row in rows:
                walker.feed(row)
        after = seqs[-1]


async def _rows(session: AsyncSession, first: int, last: int) -> list[dict[str, Any]]:
    query = core_select(_TABLE).where(_TABLE.c.seq.between(first, last)).order_by(_TABLE.c.seq)
    return [dict(row) for row in (await _core(session, query)).mappings()]


async def _walk_one_by_one(session: AsyncSession, seqs: list[int], walker: ChainWalker) -> None:
    for seq in seqs:
        try:
            row = (await _rows(session, seq, seq))[0]
        except ValueError as exc:
            raw = core_select(_TABLE.c.evidence.cast(String)).where(_TABLE.c.seq == seq)
            evidence = (await _core(session, raw)).scalar_one()
            column = "decided_at is not an instant" if _is_json(evidence) else "evidence is not JSON"
            walker.unreadable(seq, f"{column} ({exc})")
        else:
            walker.feed(row)


def _is_json(stored: str | None) -> bool:
    try:
        json.loads(stored or "")
    except ValueError:
        return False
    return True


async def _core(session: AsyncSession, query: Executable) -> Result[Any]:
    """Runs a Core query in the session's transaction: plain rows, nothing in the identity map."""
    return await (await session.connection()).execute(query)


async def decisions_for_release(session: AsyncSession, release_id: int) -> list[Decision]:
    query = select(Decision).where(Decision.release_id == release_id).order_by(col(Decision.seq))
    return list((await session.exec(query)).all())


async def iter_decisions(session: AsyncSession, *, since: datetime | None = None, until: datetime | None = None,
                         batch: int = 500) -> AsyncIterator[Decision]:
    """Decisions in seq order with `since <= decided_at < until`, read `batch` rows at a time.

    The rows are detached copies, so a long export does not fill the session's identity map.
    """
    after: int | None = None
    while True:
        query = core_select(_TABLE).order_by(_TABLE.c.seq).limit(batch)
        if after is not None:
            query = query.where(_TABLE.c.seq > after)
        if since is not None:
            query = query.where(_TABLE.c.decided_at >= since)
        if until is not None:
            query = query.where(_TABLE.c.decided_at < until)
        rows = list((await _core(session, query)).mappings())
        for row in rows:
            yield Decision(**row)
        if len(rows) < batch:
            return
        after = rows[-1]["seq"]
