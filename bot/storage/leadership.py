"""Who leads, on the database's side: the advisory lock, the epoch, and the fence on leader-only writes.

On PostgreSQL several replicas share one database and exactly one leads (§10): it holds a
session-level advisory lock on a connection of its own (not from the pool, which would hand the
session to someone else), and each time leadership is taken the `leadership` row's epoch goes up
by one. Writes that only the leader may make — a release's lease, the claim of a dispatch or a
verification — carry `LeaderState.fence()`: "only while my epoch is still the current one", so
a leader that has lost its lock without noticing yet cannot start anything once its successor
has taken over. Followers reach the leader through PostgreSQL's NOTIFY on `CHANNEL`; the leader
LISTENs on its lock connection.

On SQLite the single process leads: `LeaderState()` (sole) leads, never changes, and fences nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.sql.elements import ColumnElement

from bot.storage.database import Database, sync_url

log = logging.getLogger(__name__)

LOCK_KEY = 0x5357_4954_4348  # "SWITCH": the advisory lock only the leader holds
CHANNEL = "switchman_leader"  # NOTIFY channel: followers' requests for the leader
CONNECT_TIMEOUT_SECONDS = 5
LEADERSHIP = sa.table("leadership", sa.column("id", sa.Integer), sa.column("epoch", sa.BigInteger),
                      sa.column("holder", sa.String), sa.column("taken_at", sa.DateTime(timezone=True)))


class Deposed(Exception):
    """A leader-only write found that another replica leads now: stop, and leave the work to it."""


def replica_name() -> str:
    """How this process names itself in the leadership row and the log (host and pid)."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class LeaderState:
    """Whether this process leads now, under which epoch, and the work it runs as leader.

    `elected` is False for the sole process on SQLite: it always leads and its fence is always true.
    """

    elected: bool = False
    leading: bool = True
    epoch: int = 0
    # Sends one request to the leader (set on followers of an election; JSON-able payload).
    forward: Callable[[dict[str, Any]], None] | None = None
    # Set by the election: hand leadership over (SIGTERM) and stop trying.
    close: Callable[[], Awaitable[None]] | None = None
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)

    def fence(self) -> ColumnElement[bool]:
        """SQL true only while this process's epoch is the current one (always, for the sole process)."""
        if not self.elected:
            return sa.true()
        current = sa.select(LEADERSHIP.c.epoch).where(LEADERSHIP.c.id == 1).scalar_subquery()
        return current == self.epoch

    def track(self, task: asyncio.Task[Any]) -> None:
        """Remember a task that only the leader runs, to cancel it when leadership is lost."""
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def cancel_tasks(self, within: float) -> None:
        tasks = list(self.tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=within)

    async def finish_tasks(self, within: float) -> None:
        """Let the leader's work in flight finish (SIGTERM), then cancel what is left."""
        if self.tasks:
            await asyncio.wait(list(self.tasks), timeout=within)
        await self.cancel_tasks(within=1.0)


def libpq_url(database_url: str) -> str:
    """The URL psycopg connects with (no SQLAlchemy driver name)."""
    return make_url(sync_url(database_url)).set(drivername="postgresql").render_as_string(hide_password=False)


class LeaderLock:
    """The dedicated connection holding (or trying to take) the leader's advisory lock."""

    def __init__(self, database_url: str, *, on_message: Callable[[dict[str, Any]], None]) -> None:
        self._url = libpq_url(database_url)
        self._on_message = on_message
        self._conn: psycopg.AsyncConnection[Any] | None = None

    async def try_take(self) -> bool:
        """True when this process now holds the lock (connecting first when needed)."""
        if self._conn is None or self._conn.closed:
            self._conn = await psycopg.AsyncConnection.connect(
                self._url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_SECONDS,
                keepalives=1, keepalives_idle=5, keepalives_interval=2, keepalives_count=2,
                application_name="switchman-leadership")
        cursor = await self._conn.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,))
        row = await cursor.fetchone()
        return bool(row and row[0])

    async def begin_epoch(self, holder: str, now: datetime) -> int:
        """Count one more change of leader and listen for followers' requests; returns the new epoch."""
        conn = self._connection()
        cursor = await conn.execute("UPDATE leadership SET epoch = epoch + 1, holder = %s, taken_at = %s "
                                    "WHERE id = 1 RETURNING epoch", (holder[:255], now))
        row = await cursor.fetchone()
        if row is None:
            raise RuntimeError("the leadership row is missing: run `switchman migrate`")
        await conn.execute(f"LISTEN {CHANNEL}")
        return int(row[0])

    async def hold(self, interval: float, answer_within: float) -> None:
        """Wait `interval` for followers' requests, then check the connection; raises when it is lost."""
        conn = self._connection()
        loop = asyncio.get_running_loop()
        until = loop.time() + interval
        async with asyncio.timeout(interval + answer_within):
            # aclosing: leaving early must give the connection back at once (the generator holds its lock).
            async with contextlib.aclosing(conn.notifies(timeout=interval)) as notices:
                async for notice in notices:
                    self._deliver(notice.payload)
                    if loop.time() >= until:  # a steady stream of requests must not delay the check
                        break
            await conn.execute("SELECT 1")

    def _deliver(self, payload: str) -> None:
        try:
            message = json.loads(payload)
        except ValueError:
            log.warning("ignored a malformed leader request", extra={"payload": payload[:200]})
            return
        if isinstance(message, dict):
            self._on_message(message)

    def _connection(self) -> psycopg.AsyncConnection[Any]:
        if self._conn is None or self._conn.closed:
            raise psycopg.OperationalError("the leadership connection is closed")
        return self._conn

    async def release(self) -> None:
        """Let go of the lock (closing the session frees it at once on the server)."""
        conn, self._conn = self._conn, None
        if conn is not None and not conn.closed:
            try:
                await conn.close()
            except psycopg.Error:
                log.debug("closing the leadership connection failed", exc_info=True)


async def notify_leader(db: Database, message: dict[str, Any]) -> None:
    """Ask the leader (whoever it is) to do something: NOTIFY on the leadership channel."""
    async with db.session() as session:
        await session.exec(sa.select(sa.func.pg_notify(CHANNEL, json.dumps(message, default=str))))  # type: ignore[call-overload]
