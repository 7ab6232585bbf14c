"""The web log benchmark in `--quick` mode on a tiny history: every kind of request answers 200 and the
report has a row per kind. `make bench` measures the 100k-release figures."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import weblog


def test_the_weblog_benchmark_runs_and_writes_its_section(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "benchmarks.md"
    assert weblog.main(["--quick", "--releases", "300", "--requests", "3", "--output", str(output)]) == 0
    text = output.read_text()
    assert f"## {weblog.SECTION_TITLE}" in text
    for kind in ("list, page 1", "list by person", "list, deep keyset page", "release page"):
        assert f"| {kind} |" in text
