"""The leader takeover benchmark in `--quick` mode (2 replicas on PostgreSQL, 2 kills): the section is
written, with its trials, or saying why PostgreSQL could not be started. No figure is asserted."""

from __future__ import annotations

from pathlib import Path

from bench.__main__ import main as bench_main
from tests.support.postgres_server import postgres_unavailable_reason


def test_quick_takeover_run_writes_its_section(tmp_path: Path) -> None:
    doc = tmp_path / "benchmarks.md"

    assert bench_main(["--only", "takeover", "--quick", "--output", str(doc)]) == 0

    text = doc.read_text()
    assert "## Leader takeover after SIGKILL" in text
    if postgres_unavailable_reason() is None:
        assert "2 replicas, 20 rotations, 2 trials" in text and "| leads |" in text
    else:
        assert "Not measured: PostgreSQL cannot be started here" in text
