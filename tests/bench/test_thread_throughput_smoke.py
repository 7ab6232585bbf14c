"""The thread throughput benchmark in `--quick` mode (one release on real time, a few seconds): it runs end to
end through the simulated Slack and writes its section; no figure is asserted."""

from __future__ import annotations

from pathlib import Path

from bench.__main__ import main as bench_main


def test_quick_thread_throughput_writes_its_section(tmp_path: Path) -> None:
    doc = tmp_path / "benchmarks.md"
    doc.write_text("# Benchmarks\n\n## Gate fan-out\n\nkept as it was\n")

    assert bench_main(["--only", "thread", "--quick", "--output", str(doc)]) == 0

    text = doc.read_text()
    assert "## Gate fan-out\n\nkept as it was\n" in text
    assert "## Thread throughput under Slack's per-channel limit" in text
    assert "| 1 | succeeded |" in text
