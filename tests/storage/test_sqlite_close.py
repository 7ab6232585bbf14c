"""SQLAlchemy's graceful close of an aiosqlite connection ends even when a force close crosses it
(bot/storage/sqlite_close.py). Before, the crossing left a task that waited forever for a stopped
thread, and the event loop could not close: the suite's intermittent hang in loop teardown."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from bot.storage.database import Database


async def _adapted_connection(database: Database) -> tuple[Any, Any]:
    """A pooled connection's SQLAlchemy adapter and the SQLAlchemy connection holding it."""
    connection = await database.engine.connect()
    fairy = await connection.get_raw_connection()
    return fairy.dbapi_connection, connection


async def test_a_force_close_that_crosses_a_graceful_close_does_not_leave_it_waiting(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'close.db'}")
    adapted, connection = await _adapted_connection(database)
    thread = adapted._connection._thread

    closing = asyncio.ensure_future(adapted._terminate_graceful_close())
    await asyncio.sleep(0)  # the graceful close has asked the thread to close the connection
    adapted._terminate_force_close()  # and the stop is queued right behind it, as SQLAlchemy does when cut short

    await asyncio.wait_for(closing, timeout=10)  # it used to wait forever for the exited thread
    assert not thread.is_alive()
    await connection.invalidate()
    await database.dispose()


async def test_a_graceful_close_after_a_force_close_ends_at_once(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'close.db'}")
    adapted, connection = await _adapted_connection(database)
    thread = adapted._connection._thread
    adapted._terminate_force_close()

    await asyncio.wait_for(adapted._terminate_graceful_close(), timeout=10)

    assert not thread.is_alive()
    await connection.invalidate()
    await database.dispose()


async def test_a_graceful_close_alone_closes_the_connection_and_ends_its_thread(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'close.db'}")
    adapted, connection = await _adapted_connection(database)
    thread = adapted._connection._thread

    await asyncio.wait_for(adapted._terminate_graceful_close(), timeout=10)

    assert not thread.is_alive()
    await connection.invalidate()
    await database.dispose()
