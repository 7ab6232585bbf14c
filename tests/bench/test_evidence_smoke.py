"""The evidence benchmark's parts, run in `--quick` mode: tiny histories, nothing timed against a bar.

CI checks here that the generated history is one the application reads as its own (the chain
verifies, metrics and export read it) and that the report is written; `make bench` measures.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from bench import evidence
from bench.__main__ import main as bench_main
from bench.evidence_history import batches, write_sqlite
from bot.evidence.metrics import compute
from bot.evidence.windows import window_ending
from bot.ledger.service import verify
from bot.storage.database import Database
from bot.storage.migrate import upgrade
from tests.support.postgres_server import postgres_unavailable_reason, skip_or_fail


def test_the_generated_history_is_chained_and_read_by_the_application(sqlite_url: str) -> None:
    upgrade(sqlite_url)
    with sqlite3.connect(sqlite_url.removeprefix("sqlite:///")) as conn:
        for batch in batches(400, size=150):
            write_sqlite(conn, batch)

    async def read() -> tuple[int, bool, int]:
        db = Database(sqlite_url)
        try:
            async with db.session() as session:
                report = await verify(session)
                metrics = await compute(session, targets=[evidence.TARGET],
                                        window=window_ending(evidence.NOW, 365))
        finally:
            await db.dispose()
        return report.checked, report.ok, metrics.delivery.deploys + metrics.delivery.rollbacks

    checked, ok, releases = asyncio.run(read())
    assert ok
    assert checked == sum(len(b.decisions) for b in batches(400))
    with sqlite3.connect(sqlite_url.removeprefix("sqlite:///")) as conn:
        expected = conn.execute("SELECT count(*) FROM releases WHERE service = 'api' AND environment = 'production' "
                                "AND finished_at <= ?", (f"{evidence.NOW:%Y-%m-%d %H:%M:%S.%f}",)).fetchone()[0]
    assert releases == expected > 0


def test_the_same_size_gives_the_same_history() -> None:
    first, again = next(batches(50)), next(batches(50))
    assert [d["hash"] for d in first.decisions] == [d["hash"] for d in again.decisions]


@pytest.mark.postgres
def test_quick_run_writes_its_section_and_keeps_the_rest(tmp_path: Path) -> None:
    reason = postgres_unavailable_reason()  # the benchmark starts its own server, as `make bench` does
    if reason is not None:
        skip_or_fail(reason)
    doc = tmp_path / "benchmarks.md"
    doc.write_text("# Benchmarks\n\nintro\n\n## Slack ack latency\n\nkept\n")

    code = bench_main(["--only", "evidence", "--quick", "--sizes", "100,300", "--output", str(doc)])

    text = doc.read_text()
    assert code == 0
    assert text.startswith("# Benchmarks\n\nintro\n\n## Slack ack latency\n\nkept\n\n## Release evidence: metrics and")
    assert "`.venv/bin/python -m bench --only evidence --quick --sizes 100,300 --output " in text
    for row in ("| 300 | sqlite | ", "| 300 | postgresql | ", "| 100 | sqlite | "):
        assert row in text
    assert "peak RSS < 150 MB (postgresql)" in text


def test_options_of_one_benchmark_need_only(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench_main(["--sizes", "100"]) == 2
    assert "--sizes belongs to one benchmark" in capsys.readouterr().err
