"""SQLAlchemy's graceful close of an aiosqlite connection, without the wait that can last forever.

When a task holding a checked-out connection is cancelled (shutdown with work in flight, a test's
teardown), SQLAlchemy terminates the connection: it starts a graceful close in a shielded task and,
if its own wait is cut short, stops the connection's thread at once. With SQLAlchemy 2.1.9 and
aiosqlite 0.22.1 the two can cross: the thread runs the close, then the stop, and exits; the graceful
close then asks the exited thread to stop once more and waits for an answer that never comes. That
task ignores the one cancellation `asyncio.run` gives it, so the event loop never closes: seen as the
test suite hanging in pytest-asyncio's loop teardown, and it would hang `switchman serve` on SIGTERM.

`install_graceful_close()` (called when a SQLite engine is made, idempotent) puts in SQLAlchemy's place a
graceful close that never asks a stopped connection to stop again: it closes the connection on its thread
only while the thread still runs, stops the thread only if nobody has (read and acted on with no await
between, on the event loop that alone stops it, so the check cannot race), and then waits for the thread
to end rather than for an answer. It relies on aiosqlite's `Connection` internals (`_running`, `_execute`,
`_conn`, `stop`, `_thread`), checked by `tests/storage/test_sqlite_close.py` against the installed versions.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Any

from sqlalchemy.dialects.sqlite.aiosqlite import AsyncAdapt_aiosqlite_connection

THREAD_END_WITHIN = 10.0  # a stopped thread ends in milliseconds; this only bounds a thread stuck in SQLite


async def _graceful_close(self: Any) -> None:
    connection = self._connection  # the aiosqlite.Connection
    try:
        if connection._running:
            with contextlib.suppress(ValueError):  # stopped while the close waited its turn: that stop closes it
                await connection._execute(connection._conn.close)
    finally:
        if connection._running:  # nobody stopped the thread yet: stop it now, and never a second time
            connection.stop()
        await _ended(connection._thread)


async def _ended(thread: threading.Thread) -> None:
    """Wait until the connection's thread has ended, through one cancellation. A stopped thread ends at
    once; had the event loop closed first, its last answer would fail in the thread instead."""
    joined = asyncio.ensure_future(asyncio.to_thread(thread.join, THREAD_END_WITHIN))
    try:
        await asyncio.shield(joined)
    except asyncio.CancelledError:
        await joined
        raise


def install_graceful_close() -> None:
    AsyncAdapt_aiosqlite_connection._terminate_graceful_close = _graceful_close  # type: ignore[method-assign]
