"""Waiting, without fixed sleeps, until a PostgreSQL transaction is blocked on another's lock."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from bot.storage.database import Database

PATIENCE = 1000  # polls of pg_stat_activity, each one round trip; far more than a blocked insert needs


async def blocked_on_a_lock(db: Database) -> None:
    """Return once some backend waits for a lock (e.g. an insert waiting on a unique index entry)."""
    for _ in range(PATIENCE):
        async with db.engine.connect() as conn:
            waiting = (await conn.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND datname = current_database()"))).scalar_one()
        if waiting:
            return
        await asyncio.sleep(0)
    raise AssertionError("no transaction ever waited for a lock")
