"""`switchman export`: releases, ledger decisions and release reports as JSON lines or CSV (§3, §8, §10).

Every kind of row is streamed in its primary-key order through a server-side cursor (`yield_per`
batches: a named cursor on PostgreSQL, `fetchmany` on SQLite) and written as it is read, so an
export of a history larger than memory holds one batch at a time.

Decisions are written with every column, `prev_hash` and `hash` included, so an export can be
checked against the chain without the database: parse `decided_at` back to a datetime and
`row_hash` gives `hash`. When more than one kind is exported (JSON lines only), each line starts
with a `record` key naming its kind; drop it before re-hashing a decision.

The kinds are the entries of `SOURCES`. A kind whose table is not in the database (release
reports before migration 0013) or whose model is not loaded is skipped and reported as such.
"""

from __future__ import annotations

import csv
import json
from collections.abc import AsyncIterator, Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, TextIO

from sqlalchemy import ColumnElement, Table, and_, exists, inspect, or_, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

import bot.ledger.models  # registers the decisions table in SQLModel.metadata
import bot.release.models  # noqa: F401  (…and the releases table)
from bot.ledger.chain import format_instant

COLUMNS = ("seq", "decided_at", "kind", "release_id", "subject", "actor", "outcome", "evidence", "permalink",
           "prev_hash", "hash")
BATCH = 1000  # rows per fetch from the server-side cursor: the export's working set


class ExportFormat(StrEnum):
    JSONL = "jsonl"
    CSV = "csv"


class ExportRefused(ValueError):
    """Options that cannot be honoured; nothing was written."""


def _own_service(table: Table, service: str) -> ColumnElement[bool]:
    return table.c.service == service


def _releases_of(service: str) -> Any:
    releases = SQLModel.metadata.tables["releases"]
    return select(releases.c.id).where(releases.c.service == service)


def _decision_of_service(table: Table, service: str) -> ColumnElement[bool]:
    """A decision about one of the service's releases, or a lock/unlock whose subject is `service/env`."""
    pattern = service.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "/%"
    return or_(table.c.release_id.in_(_releases_of(service)),
               and_(table.c.release_id.is_(None), table.c.subject.like(pattern, escape="\\")))


def _release_of_service(table: Table, service: str) -> ColumnElement[bool]:
    return table.c.release_id.in_(_releases_of(service))


@dataclass(frozen=True)
class Source:
    """One kind of exported row: which table, read in which order, filtered on which columns."""

    what: str  # plural, as `--what` spells it
    record: str  # singular, the `record` value of a JSON line when kinds are mixed
    table: str
    key: str  # the primary key the rows are streamed in order of
    instant: str  # the column --since / --until bound
    of_service: Callable[[Table, str], ColumnElement[bool]]
    columns: tuple[str, ...] | None = None  # the order written; None: the table's own order


SOURCES = (
    Source("releases", "release", "releases", "id", "created_at", _own_service),
    Source("decisions", "decision", "decisions", "seq", "decided_at", _decision_of_service, COLUMNS),
    # Stored from migration 0013 on; its model must be imported above for the table to be known.
    Source("reports", "report", "release_reports", "id", "created_at", _release_of_service),
)
KINDS = tuple(source.what for source in SOURCES)


@dataclass
class ExportResult:
    counts: dict[str, int]  # rows written per kind
    missing: list[str]  # kinds asked for whose table this database does not have

    def describe(self) -> str:
        written = ", ".join(f"{n} {what[:-1]}(s)" for what, n in self.counts.items())
        return written or "nothing"


def plain(value: Any) -> Any:
    """A column value as JSON: instants in UTC with microseconds, the rest as stored."""
    return format_instant(value) if isinstance(value, datetime) else value


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(plain(value))


async def _table(connection: AsyncConnection, source: Source) -> Table | None:
    table = SQLModel.metadata.tables.get(source.table)
    if table is None:
        return None
    present = await connection.run_sync(lambda sync: inspect(sync).has_table(source.table))
    return table if present else None


async def _rows(connection: AsyncConnection, source: Source, table: Table, *, since: datetime | None,
                until: datetime | None, service: str | None) -> AsyncIterator[RowMapping]:
    query = select(table).order_by(table.c[source.key])
    if since is not None:
        query = query.where(table.c[source.instant] >= since)
    if until is not None:
        query = query.where(table.c[source.instant] < until)
    if service is not None:
        query = query.where(source.of_service(table, service))
    result = await connection.stream(query.execution_options(yield_per=BATCH))
    async for row in result.mappings():
        yield row


async def export(session: AsyncSession, out: TextIO, *, fmt: ExportFormat, what: Sequence[str] = ("decisions",),
                 since: datetime | None = None, until: datetime | None = None,
                 service: str | None = None) -> ExportResult:
    """Writes the rows of each kind in `what` with `since <= instant < until` (of `service`) to `out`."""
    unknown = [w for w in what if w not in KINDS]
    if unknown:
        raise ExportRefused(f"unknown kind {unknown[0]!r}: choose from {', '.join(KINDS)}")
    if fmt == ExportFormat.CSV and len(what) > 1:
        raise ExportRefused("a CSV file holds one kind of row: use --what decisions, releases or reports, "
                            "or --format jsonl to export them all in one file")
    if since is not None and until is not None and since >= until:
        raise ExportRefused(f"--since ({format_instant(since)}) must be before --until ({format_instant(until)})")
    connection = await session.connection()
    result = ExportResult({}, [])
    tag = len(what) > 1
    for source in (s for s in SOURCES if s.what in what):
        table = await _table(connection, source)
        if table is None:
            result.missing.append(source.what)
            continue
        names = source.columns or tuple(table.c.keys())
        writer = None
        if fmt == ExportFormat.CSV:
            writer = csv.writer(out)
            writer.writerow(names)
        count = 0
        async for row in _rows(connection, source, table, since=since, until=until, service=service):
            if writer is not None:
                writer.writerow([cell(row[name]) for name in names])
            else:
                values = {name: plain(row[name]) for name in names}
                if tag:
                    values = {"record": source.record, **values}
                out.write(json.dumps(values, ensure_ascii=False) + "\n")
            count += 1
        result.counts[source.what] = count
    return result


async def service_is_known(session: AsyncSession, service: str, configured: Collection[str]) -> bool:
    """A service is known when the config lists it or any release of it is stored (it may have left the config)."""
    if service in configured:
        return True
    releases = SQLModel.metadata.tables["releases"]
    query = select(exists().where(releases.c.service == service))
    return bool((await (await session.connection()).execute(query)).scalar())

