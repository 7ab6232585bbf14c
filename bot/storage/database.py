"""The database: one async engine per process, sessions opened by services and jobs (STYLE #8).

Users give one URL (`SWITCHMAN_DATABASE_URL`): `sqlite:///path` or `postgresql://…`. The async
engine (aiosqlite, psycopg 3) serves the app; Alembic migrates through the matching sync driver.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.pool import StaticPool
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.storage.sqlite_close import install_graceful_close


class UnsupportedDatabase(ValueError):
    pass


def sync_url(url: str) -> str:
    """The URL for synchronous use (Alembic), with the driver Switchman ships."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername="sqlite").render_as_string(hide_password=False)
    if backend in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    raise UnsupportedDatabase(f"unsupported database {backend!r}: use sqlite:///path or postgresql://user@host/db")


def async_url(url: str) -> str:
    parsed = make_url(sync_url(url))
    if parsed.get_backend_name() == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False)
    return parsed.render_as_string(hide_password=False)


def is_memory_sqlite(url: str) -> bool:
    parsed = make_url(url)
    return parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # The sqlite3 driver opens transactions lazily, at the first write, which leaves SAVEPOINTs
    # outermost (they then commit on their own). Take transactions out of its hands; `_sqlite_begin`
    # starts each one explicitly (SQLAlchemy's documented recipe for pysqlite/aiosqlite).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    # IMMEDIATE takes the write lock up front: a transaction that reads then writes can never fail
    # with SQLITE_BUSY on upgrading, it waits its turn (busy_timeout) instead. Switchman's
    # transactions are short, and several processes need PostgreSQL anyway.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        # A server connection can go stale (restart, idle timeout); a SQLite file cannot, and pinging
        # it costs every session a round trip.
        kwargs: dict[str, Any] = {"pool_pre_ping": make_url(url).get_backend_name() != "sqlite"}
        if is_memory_sqlite(url):
            kwargs = {"poolclass": StaticPool, "connect_args": {"check_same_thread": False}}
        self.engine: AsyncEngine = create_async_engine(async_url(url), **kwargs)
        if self.engine.dialect.name == "sqlite":
            install_graceful_close()  # else a cancelled session's connection can keep the loop from closing
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
            event.listen(self.engine.sync_engine, "begin", _sqlite_begin)
        self._sessions = async_sessionmaker(self.engine, class_=AsyncSession, expire_on_commit=False)
        # Called with the session's `info` after each successful commit (the outbox wakes its sender).
        self.commit_hooks: list[Callable[[dict[str, Any]], None]] = []

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session that commits when the block succeeds and rolls back when it raises."""
        async with self._sessions() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise
            for hook in self.commit_hooks:
                hook(session.info)

    async def ping(self) -> None:
        """Raises when the database cannot answer a trivial query (used by /readyz)."""
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()
