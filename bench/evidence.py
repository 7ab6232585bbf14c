"""Release evidence (§8, issue 11): metrics over long histories, and export in bounded memory.

    .venv/bin/python -m bench --only evidence [--quick] [--sizes N,N,...] [--databases sqlite,postgresql]
                                              [--output PATH] [--no-write]

For each size (default 10k and 100k releases; `--sizes 10000,100000,1000000` adds the 1M history,
about 3.5 minutes more, left out of `make bench` to keep it under 10 minutes) a history is generated
(`bench.evidence_history`: releases with their ledger decisions, hash-chained, and approvals) and
written in bulk to a fresh, migrated SQLite file and a fresh database on a throwaway PostgreSQL server
on 127.0.0.1 (started the way the tests start theirs, `tests/support/postgres_server.py`). On each it
times:

- `bot.evidence.metrics.compute` for api's production over the 90 days before the history's end
  (one warm-up, then the median of three runs; target: under 1 s at 100k);
- `bot.ledger.service.verify` (`switchman audit verify`) on the sizes up to 100k, which must pass;
- `switchman export --what decisions` of the largest and the smallest history, as a child process,
  with its wall time, rows per second and peak RSS (`wait4`'s ru_maxrss), so the two RSS figures
  show whether memory grows with the history (bound: 150 MB).

The figures go to the "Release evidence: metrics and export" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shlex
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import create_engine, text

from bench import machine
from bench.evidence_history import NOW, Written, batches, finish_postgres, write_postgres, write_sqlite
from bench.evidence_report import EvidenceReport, render
from bench.report import publish
from bench.servers import ROOT, clean_env
from bot.evidence.metrics import Metrics, compute
from bot.evidence.windows import Target, window_ending
from bot.ledger.service import verify
from bot.storage.database import Database
from bot.storage.migrate import upgrade

SECTION_TITLE = "Release evidence: metrics and export"
SIZES = (10_000, 100_000)  # 1M (--sizes) writes 1.25M decisions twice: about 3.5 min, too long for `make bench`
QUICK_SIZES = (300, 1_500)
DATABASES = ("sqlite", "postgresql")
TARGET = Target("api", "production")
WINDOW_DAYS = 90
METRIC_RUNS = 3
VERIFY_UP_TO = 100_000
PACKAGES = ("sqlalchemy", "aiosqlite", "psycopg", "sqlmodel")
DEFAULT_OUTPUT = ROOT / "docs" / "benchmarks.md"


@dataclass
class MetricsTiming:
    seconds: list[float]
    releases_in_window: int
    deploys: int
    change_failure_rate: float | None

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


@dataclass
class ExportTiming:
    rows: int
    seconds: float
    peak_rss_mb: float
    bytes_written: int


@dataclass
class Run:
    database: str
    size: int
    written: Written
    write_s: float  # this database's share of writing the history (generation excluded)
    metrics: MetricsTiming | None = None
    verify_s: float | None = None
    verified: int | None = None
    export: ExportTiming | None = None


@dataclass
class Results:
    runs: list[Run] = field(default_factory=list)
    generate_s: dict[int, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench --only evidence",
                                     description="Release metrics and export over generated histories (§8).")
    parser.add_argument("--quick", action="store_true", help=f"tiny histories {QUICK_SIZES} (a smoke run)")
    parser.add_argument("--sizes", type=_sizes, metavar="N,N,...", help="releases per history (default 10k,100k)")
    parser.add_argument("--databases", type=_databases, default=DATABASES, metavar="DB,DB",
                        help="sqlite, postgresql or both (default both)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT,
                        help=f"markdown file whose '{SECTION_TITLE}' section is rewritten (default docs/benchmarks.md)")
    parser.add_argument("--no-write", action="store_true", help="print the section instead of writing it")
    args = parser.parse_args(argv)
    if args.sizes is None:
        args.sizes = QUICK_SIZES if args.quick else SIZES
    return args


def _sizes(text_value: str) -> tuple[int, ...]:
    try:
        sizes = tuple(sorted({int(part.replace("_", "")) for part in text_value.split(",")}))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of whole numbers: {text_value!r}") from None
    if not sizes or sizes[0] < 10:
        raise argparse.ArgumentTypeError("each size is at least 10 releases")
    return sizes


def _databases(text_value: str) -> tuple[str, ...]:
    names = tuple(part.strip() for part in text_value.split(","))
    unknown = [n for n in names if n not in DATABASES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"choose from {', '.join(DATABASES)}: {text_value!r}")
    return names


def main(argv: Sequence[str] | None = None, *, shown: Sequence[str] | None = None) -> int:
    """Runs the benchmark; `shown` is the command line to print in the report (default: `argv`)."""
    args = parse_args(argv)
    shown_argv = list(shown if shown is not None else sys.argv[1:] if argv is None else argv)
    started = datetime.now().astimezone()
    busy_before = machine.cpu_busy()
    with tempfile.TemporaryDirectory(prefix="switchman-evidence-") as tmp:
        results = measure(Path(tmp), sizes=args.sizes, databases=args.databases)
    busy_after = machine.cpu_busy()
    report = EvidenceReport(
        title=SECTION_TITLE,
        command=shlex.join([".venv/bin/python", "-m", "bench", *shown_argv]),
        started=started,
        machine=[*machine.base_facts(PACKAGES), *_database_facts(results), *machine.busy_fact(busy_before, busy_after)],
        results=results, target=TARGET, window_days=WINDOW_DAYS, metric_runs=METRIC_RUNS, verify_up_to=VERIFY_UP_TO,
    )
    section = render(report)
    publish(section, args.output, SECTION_TITLE, no_write=args.no_write)
    failed = [r for r in results.runs if r.verified is not None and r.verified != r.written.decisions]
    return 1 if failed else 0


def _database_facts(results: Results) -> list[tuple[str, str]]:
    return [("Databases", f"SQLite {sqlite3.sqlite_version} (file in a temporary directory); "
                          + next((n for n in results.notes if n.startswith("PostgreSQL")), "PostgreSQL not run"))]


def measure(workdir: Path, *, sizes: Sequence[int], databases: Sequence[str]) -> Results:
    results = Results()
    with contextlib.ExitStack() as stack:
        server = None
        if "postgresql" in databases:
            server = stack.enter_context(_postgres(workdir, results))
        for size in sizes:
            urls = {}
            if "sqlite" in databases:
                urls["sqlite"] = f"sqlite:///{workdir / f'history-{size}.db'}"
            if server is not None:
                urls["postgresql"] = _new_pg_database(server, f"history_{size}")
            _log(f"history of {size:,} releases: generating and writing to {', '.join(urls)}")
            for url in urls.values():
                upgrade(url)
            runs = _populate(size, urls, results)
            for run in runs:
                url = urls[run.database]
                _log(f"  {run.database}: metrics")
                run.metrics = asyncio.run(_time_metrics(url))
                if size <= VERIFY_UP_TO:
                    _log(f"  {run.database}: audit verify")
                    run.verify_s, run.verified = asyncio.run(_time_verify(url))
                if size in (min(sizes), max(sizes)):
                    _log(f"  {run.database}: export")
                    run.export = _time_export(url, workdir)
                results.runs.append(run)
            _drop(urls, server)
    return results


@contextlib.contextmanager
def _postgres(workdir: Path, results: Results) -> Iterator[Any]:
    from tests.support.postgres_server import running_postgres

    with running_postgres(workdir) as server:
        with psycopg.connect(server.url("postgresql")) as conn:
            version = conn.execute("SHOW server_version").fetchone()
        results.notes.append(f"PostgreSQL {version[0] if version else '?'} on 127.0.0.1 (throwaway server, fsync "
                             "and synchronous_commit off, shared_buffers 16MB, as in the tests)")
        yield server


def _new_pg_database(server: Any, name: str) -> str:
    admin = create_engine(server.url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}" OWNER "{server.user}"'))
    admin.dispose()
    return str(server.url()).rsplit("/", 1)[0] + f"/{name}"


def _drop(urls: dict[str, str], server: Any) -> None:
    if "sqlite" in urls:
        Path(urls["sqlite"].removeprefix("sqlite:///")).unlink(missing_ok=True)
    if "postgresql" in urls and server is not None:
        admin = create_engine(server.url(), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{urls["postgresql"].rsplit("/", 1)[1]}"'))
        admin.dispose()


def _populate(size: int, urls: dict[str, str], results: Results) -> list[Run]:
    """Generates the history once, a batch at a time, and writes each batch to every database."""
    written = Written()
    spent = dict.fromkeys(urls, 0.0)
    total_start = time.perf_counter()
    with contextlib.ExitStack() as stack:
        lite = (stack.enter_context(contextlib.closing(sqlite3.connect(urls["sqlite"].removeprefix("sqlite:///"))))
                if "sqlite" in urls else None)
        pg = (stack.enter_context(psycopg.connect(urls["postgresql"].replace("postgresql+psycopg", "postgresql")))
              if "postgresql" in urls else None)
        for batch in batches(size):
            written.add(batch)
            if lite is not None:
                t = time.perf_counter()
                write_sqlite(lite, batch)
                spent["sqlite"] += time.perf_counter() - t
            if pg is not None:
                t = time.perf_counter()
                write_postgres(pg, batch)
                spent["postgresql"] += time.perf_counter() - t
        if pg is not None:
            t = time.perf_counter()
            finish_postgres(pg)
            spent["postgresql"] += time.perf_counter() - t
    results.generate_s[size] = time.perf_counter() - total_start - sum(spent.values())
    return [Run(database, size, written, spent[database]) for database in urls]


async def _time_metrics(url: str) -> MetricsTiming:
    db = Database(url)
    window = window_ending(NOW, WINDOW_DAYS)
    seconds = []
    try:
        result: Metrics | None = None
        for attempt in range(METRIC_RUNS + 1):
            start = time.perf_counter()
            async with db.session() as session:
                result = await compute(session, targets=[TARGET], window=window)
            if attempt:  # the first run warms the caches and is not counted
                seconds.append(time.perf_counter() - start)
        assert result is not None
        delivery = result.delivery
        return MetricsTiming(seconds, delivery.deploys + delivery.rollbacks, delivery.deploys,
                             delivery.change_failure_rate)
    finally:
        await db.dispose()


async def _time_verify(url: str) -> tuple[float, int]:
    db = Database(url)
    try:
        start = time.perf_counter()
        async with db.session() as session:
            report = await verify(session)
        spent = time.perf_counter() - start
    finally:
        await db.dispose()
    if not report.ok:
        raise RuntimeError(f"the generated ledger does not verify: {report.problems[:3]}")
    return spent, report.checked


# The export runs as a grandchild: started from a fresh, small interpreter rather than forked from this
# process, whose pages (the generated history) a fork would count in the child's ru_maxrss.
LAUNCHER = """
import resource, subprocess, sys
done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
sys.stderr.write(done.stderr)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(done.returncode)
"""


def _time_export(url: str, workdir: Path) -> ExportTiming:
    """`switchman export --what decisions` in its own process: wall time, rows and peak RSS."""
    out = workdir / "export.jsonl"
    argv = [sys.executable, "-m", "bot.cli", "export", "--what", "decisions", "--output", str(out)]
    env = clean_env({"SWITCHMAN_DATABASE_URL": url})
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", LAUNCHER, *argv], env=env, cwd=ROOT, capture_output=True, text=True,
                          check=False)
    spent = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"switchman export failed ({done.returncode}): {done.stderr[-2000:]}")
    with out.open("rb") as f:
        rows = sum(1 for _ in f)
    size = out.stat().st_size
    out.unlink()
    return ExportTiming(rows, spent, int(done.stdout.split()[-1]) / 1024, size)


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
