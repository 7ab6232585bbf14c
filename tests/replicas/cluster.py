"""Several `switchman serve` replicas on one PostgreSQL, for the leadership tests.

Each replica is a real process on a free loopback port, against the fake Slack and the fake GitHub
(which outlive the replicas, so they count every dispatch and message). `Cluster` starts them one
after the other (the first migrates the database), reads their logs as they go, and tells which one
leads by asking each for `/metrics` (`switchman_leader 1`).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import Engine, create_engine, text

from tests.fakes.busy_github import duplicate_dispatches, fake_github
from tests.support.postgres_server import PostgresServer
from tests.support.serve_process import SWITCHMAN, start_serve

_databases = itertools.count(1)
TERMINAL = ("succeeded", "failed", "blocked", "cancelled", "rejected", "rolled_back", "superseded")


def fresh_database(server: PostgresServer, prefix: str) -> str:
    """A new, empty database on the shared test server."""
    name = f"{prefix}{next(_databases)}"
    admin = create_engine(server.url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" OWNER "{server.user}"'))
    admin.dispose()
    return server.url().rsplit("/", 1)[0] + f"/{name}"


@dataclass
class Replica:
    process: asyncio.subprocess.Process
    port: int
    log: list[str]
    reader: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def alive(self) -> bool:
        return self.process.returncode is None


async def _keep_reading(process: asyncio.subprocess.Process, lines: list[str]) -> None:
    """Read a replica's log as it goes: a full stderr pipe would stall the process."""
    assert process.stderr is not None
    async for raw in process.stderr:
        lines.append(raw.decode().rstrip())


@dataclass
class Cluster:
    tmp_path: Path
    env: dict[str, str]
    db: Engine
    replicas: list[Replica] = field(default_factory=list)

    async def start(self, count: int) -> None:
        for _ in range(count):  # one after the other: the first one migrates the database
            process, port, log = await start_serve(self.tmp_path, self.env)
            replica = Replica(process, port, log)
            replica.reader = asyncio.create_task(_keep_reading(process, log))
            self.replicas.append(replica)

    async def stop(self) -> None:
        for replica in self.replicas:
            if replica.alive:
                replica.process.terminate()
        for replica in self.replicas:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(replica.process.wait(), timeout=30)
            if replica.alive:
                replica.process.kill()
                await replica.process.wait()
        await asyncio.gather(*(r.reader for r in self.replicas if r.reader), return_exceptions=True)
        (self.tmp_path / "replicas.log").write_text(
            "\n\n".join(f"--- replica {k} (port {r.port}) ---\n" + "\n".join(r.log)
                        for k, r in enumerate(self.replicas)))
        self.db.dispose()

    async def leading(self, replica: Replica) -> bool:
        async with aiohttp.ClientSession() as session, session.get(f"{replica.url}/metrics") as resp:
            body = await resp.text()
        return any(line.split()[:2] == ["switchman_leader", "1.0"] for line in body.splitlines())

    async def leaders(self) -> list[Replica]:
        alive = [r for r in self.replicas if r.alive]
        found = await asyncio.gather(*(self.leading(r) for r in alive))
        return [r for r, leads in zip(alive, found, strict=True) if leads]

    async def one_leader(self, within: float) -> tuple[Replica, float]:
        """The one replica leading, and how long it took to have exactly one; fails past `within`."""
        started = time.monotonic()
        while True:
            leaders = await self.leaders()
            if len(leaders) == 1:
                return leaders[0], time.monotonic() - started
            if time.monotonic() - started > within:
                raise AssertionError(f"{len(leaders)} replicas lead after {within:g}s (wanted exactly one)")
            await asyncio.sleep(0.05)  # poll interval, bounded by the deadline above

    def scalar(self, sql: str) -> int:
        with self.db.connect() as conn:
            return int(conn.execute(text(sql)).scalar_one())

    def rows(self, sql: str) -> list[Any]:
        with self.db.connect() as conn:
            return list(conn.execute(text(sql)).all())

    async def until(self, what: str, predicate: Callable[[], bool], within: float) -> None:
        deadline = time.monotonic() + within
        while not await asyncio.to_thread(predicate):
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {within:g}s waiting until {what}")
            await asyncio.sleep(0.2)  # re-read the database (another process) five times a second

    def unfinished(self) -> int:
        finished = ", ".join(f"'{s}'" for s in TERMINAL)
        return self.scalar(f"SELECT count(*) FROM releases WHERE state NOT IN ({finished})")

    def twice_verified(self) -> list[str]:
        """(release, stage) pairs whose verification the ledger records more than once."""
        seen: Counter[tuple[int, Any]] = Counter()
        for release_id, evidence in self.rows(
                "SELECT release_id, evidence FROM decisions WHERE kind = 'stage_result' AND actor = 'verification'"):
            seen[(release_id, (evidence or {}).get("stage"))] += 1
        return [f"release {r} stage {s} verified {n} times" for (r, s), n in seen.items() if n > 1]

    def twice_recorded_stages(self) -> list[str]:
        """Pipeline results recorded more than once for one stage of one release."""
        seen: Counter[tuple[int, Any]] = Counter()
        for release_id, evidence in self.rows(
                "SELECT release_id, evidence FROM decisions WHERE kind = 'stage_result' AND actor LIKE 'pipeline:%'"):
            seen[(release_id, (evidence or {}).get("stage"))] += 1
        return [f"release {r} stage {s}: pipeline result recorded {n} times" for (r, s), n in seen.items() if n > 1]


async def audit_verify(env: dict[str, str], cwd: Path) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(str(SWITCHMAN), "audit", "verify", env=env, cwd=cwd,
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    output, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, output.decode()




__all__ = ["Cluster", "Replica", "audit_verify", "duplicate_dispatches", "fake_github", "fresh_database"]
