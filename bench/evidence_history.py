"""A generated release history for the evidence benchmark, written in bulk and chained like the real ledger.

`batches(n)` yields the releases, ledger decisions and approvals of `n` releases spread evenly over
the year before `NOW`, a batch at a time, always the same for the same `n` (a seeded random
stream). The mix: half the releases are api's, the other half web's and worker's; half go to
staging, half to production; 3 % are rollbacks. Of the deploys, 30 % wait in the queue, 20 % wait
for an approval (a WAITING decision, then GO, and an approval row), 4 % are blocked by a gate (half
of those overridden, then GO), and 5 % of those that go out fail verification (two in five of them
with a rollback triggered). Every decision is hashed and chained exactly as `bot.ledger.service.record`
does, so `switchman audit verify` passes on the result.

Each batch is generated once and written to every database being measured: `write_sqlite` with
sqlite3's executemany in the format the application's column types store, `write_postgres` with
COPY. Neither goes through the ledger service one row at a time.
"""

from __future__ import annotations

import json
import random
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg.types.json import Json
from sqlalchemy import JSON, Boolean, Table

from bot.ledger.chain import GENESIS, row_hash
from bot.ledger.models import Decision
from bot.release.models import Approval, Release
from bot.storage.types import UTCDateTime

NOW = datetime(2026, 12, 1, tzinfo=UTC)
SPAN = timedelta(days=365)
SERVICES = ("api", "api", "web", "worker")
ENVIRONMENTS = ("staging", "production")
PEOPLE = tuple(f"U{n:08d}" for n in range(20))
APPROVERS = tuple(f"U{n:08d}" for n in range(100, 108))
BATCH = 5_000
RELEASES: Table = Release.__table__  # type: ignore[attr-defined]
DECISIONS: Table = Decision.__table__  # type: ignore[attr-defined]
APPROVALS: Table = Approval.__table__  # type: ignore[attr-defined]


@dataclass
class Batch:
    releases: list[dict[str, Any]] = field(default_factory=list)
    decisions: list[dict[str, Any]] = field(default_factory=list)
    approvals: list[dict[str, Any]] = field(default_factory=list)


class _Chain:
    def __init__(self) -> None:
        self.seq, self.prev = 0, GENESIS

    def row(self, *, kind: str, release_id: int, subject: str, actor: str, outcome: str, at: datetime,
            evidence: dict[str, Any]) -> dict[str, Any]:
        self.seq += 1
        fields = {"seq": self.seq, "kind": kind, "release_id": release_id, "subject": subject, "actor": actor,
                  "outcome": outcome, "evidence": evidence, "decided_at": at, "prev_hash": self.prev,
                  "permalink": f"https://example.slack.com/archives/C0BENCH/p{self.seq}"}
        fields["hash"] = self.prev = row_hash(fields)
        return fields


def batches(n: int, *, seed: int = 11, size: int = BATCH) -> Iterator[Batch]:
    rnd = random.Random(seed)
    chain = _Chain()
    step = SPAN.total_seconds() / n
    start = NOW - SPAN
    batch = Batch()
    approval_id = 0
    for i in range(1, n + 1):
        created = start + timedelta(seconds=step * i)
        service, environment = rnd.choice(SERVICES), rnd.choice(ENVIRONMENTS)
        subject = f"{service}/{environment}@v{i}"
        # Person-dependence: the first person requests about a third of everything.
        requester = PEOPLE[0] if rnd.random() < 0.3 else rnd.choice(PEOPLE)
        release: dict[str, Any] = {
            "id": i, "kind": "deploy", "service": service, "environment": environment, "ref": f"v{i}",
            "sha": f"{i:040x}", "strategy": "rolling", "state": "succeeded", "requested_by": requester,
            "reason": None, "request_key": None, "rollback_of": None, "channel_id": "C0BENCH",
            "message_ts": f"{1700000000 + i}.000100", "provider_run_id": None, "provider_run_url": None,
            "stage_index": 0, "detail": {}, "created_at": created, "started_at": None, "finished_at": None,
            "verified_at": None, "detected_at": None, "rolled_back_at": None, "lease_until": None}

        def decide(kind: str, outcome: str, at: datetime, actor: str = "switchman", *, rid: int = i,
                   subj: str = subject, into: list[dict[str, Any]] = batch.decisions) -> None:
            into.append(chain.row(kind=kind, release_id=rid, subject=subj, actor=actor, outcome=outcome,
                                             at=at, evidence={"gates": ["ci_green", "change_window"]}))

        if rnd.random() < 0.03:
            release["kind"] = "rollback"
            release["started_at"] = created
            decide("decision", "GO", created)
            release["verified_at"] = release["finished_at"] = created + timedelta(seconds=rnd.uniform(300, 900))
        else:
            started = created + timedelta(seconds=rnd.uniform(0, 600) if rnd.random() < 0.3 else 0)
            release["started_at"] = started
            go: datetime | None
            draw = rnd.random()
            if draw < 0.04:  # a gate blocks: half overridden, half left blocked
                decide("decision", "NO-GO", started + timedelta(seconds=60))
                if draw < 0.02:
                    override = started + timedelta(seconds=rnd.uniform(600, 1800))
                    decide("override", "overridden", override, actor=rnd.choice(APPROVERS))
                    go = override + timedelta(seconds=30)
                else:
                    go = None
                    release["state"] = "blocked"
                    release["finished_at"] = started + timedelta(seconds=60)
            elif draw < 0.24:  # waits for an approval
                decide("decision", "WAITING", started + timedelta(seconds=60))
                go = started + timedelta(seconds=60 + rnd.uniform(300, 7200))
                approval_id += 1
                batch.approvals.append({"id": approval_id, "release_id": i, "approver": rnd.choice(APPROVERS),
                                        "approved": True, "comment": None, "decided_at": go})
            else:
                go = started + timedelta(seconds=rnd.uniform(60, 300))
            if go is not None:
                decide("decision", "GO", go)
                if rnd.random() < 0.05:
                    detected = go + timedelta(seconds=rnd.uniform(300, 900))
                    release["detected_at"] = release["finished_at"] = detected
                    release["state"] = "failed"
                    if rnd.random() < 0.4:
                        decide("rollback_trigger", "rollback", detected + timedelta(seconds=60))
                        release["state"] = "rolled_back"
                        release["rolled_back_at"] = detected + timedelta(seconds=600)
                else:
                    release["verified_at"] = release["finished_at"] = go + timedelta(seconds=rnd.uniform(600, 1800))
        release["updated_at"] = release["finished_at"]
        batch.releases.append(release)
        if len(batch.releases) >= size:
            yield batch
            batch = Batch()
    if batch.releases:
        yield batch


@dataclass
class Written:
    releases: int = 0
    decisions: int = 0
    approvals: int = 0

    def add(self, batch: Batch) -> None:
        self.releases += len(batch.releases)
        self.decisions += len(batch.decisions)
        self.approvals += len(batch.approvals)


def _tables(batch: Batch) -> tuple[tuple[Table, list[dict[str, Any]]], ...]:
    return ((RELEASES, batch.releases), (DECISIONS, batch.decisions), (APPROVALS, batch.approvals))


def _sqlite_instant(value: datetime | None) -> str | None:
    """An instant as SQLAlchemy's DateTime stores it in SQLite: naive UTC with microseconds."""
    return None if value is None else value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _sqlite_converters(table: Table, names: list[str]) -> list[Any]:
    converters: list[Any] = []
    for name in names:
        kind = table.c[name].type
        if isinstance(kind, JSON):
            converters.append(json.dumps)
        elif isinstance(kind, UTCDateTime):
            converters.append(_sqlite_instant)
        elif isinstance(kind, Boolean):
            converters.append(int)
        else:
            converters.append(None)
    return converters


def write_sqlite(conn: sqlite3.Connection, batch: Batch) -> None:
    """Inserts one batch with sqlite3's executemany, in the storage format the application's column types use."""
    for table, rows in _tables(batch):
        if not rows:
            continue
        names = list(rows[0])
        pairs = list(zip(names, _sqlite_converters(table, names), strict=True))
        values = [[row[c] if convert is None else convert(row[c]) for c, convert in pairs] for row in rows]
        conn.executemany(f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
                         values)
    conn.commit()


def write_postgres(conn: psycopg.Connection[Any], batch: Batch) -> None:
    """COPYs one batch into PostgreSQL."""
    with conn.cursor() as cur:
        for table, rows in _tables(batch):
            if not rows:
                continue
            names = list(rows[0])
            json_columns = {c.name for c in table.columns if isinstance(c.type, JSON)}
            with cur.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row([Json(row[c]) if c in json_columns else row[c] for c in names])
    conn.commit()


def finish_postgres(conn: psycopg.Connection[Any]) -> None:
    """Moves the id sequences past the generated ids and refreshes the planner's statistics."""
    with conn.cursor() as cur:
        for table in ("releases", "approvals"):
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT coalesce(max(id), 1) FROM {table}))")
    conn.commit()
    conn.autocommit = True
    conn.execute("VACUUM ANALYZE")
    conn.autocommit = False
