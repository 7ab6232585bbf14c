"""The start-up benchmark in `--quick` mode (20 rotations, 5 releases to resume): `serve()` gets ready and
stops, and the section is written. No figure is asserted."""

from __future__ import annotations

from pathlib import Path

from bench.__main__ import main as bench_main


def test_quick_startup_writes_its_section(tmp_path: Path) -> None:
    doc = tmp_path / "benchmarks.md"

    assert bench_main(["--only", "startup", "--quick", "--output", str(doc)]) == 0

    text = doc.read_text()
    assert "## Start-up with rotations and releases to resume" in text
    assert "| 20 | 5 |" in text
