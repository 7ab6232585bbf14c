"""The in-flight scale benchmark in `--quick` mode (50 releases, 50 rotations, 3 s windows): a real
`switchman serve` takes every release to success through the fake GitHub, and the section is written.
No figure is asserted."""

from __future__ import annotations

from pathlib import Path

from bench.__main__ import main as bench_main


def test_quick_scale_run_writes_its_section(tmp_path: Path) -> None:
    doc = tmp_path / "benchmarks.md"

    assert bench_main(["--only", "scale", "--quick", "--output", str(doc)]) == 0

    text = doc.read_text()
    assert "## In-flight scale: releases and rotations in one process" in text
    assert "50 releases, 50 rotations" in text
    assert "50 × HTTP 200 to the `/deploy` commands" in text
    assert "all 50 succeeded" in text and "0 errors logged" in text
