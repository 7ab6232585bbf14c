"""The gate fan-out benchmark in `--quick` mode: it runs end to end and writes its section; no figure is asserted."""

from __future__ import annotations

from pathlib import Path

from bench.__main__ import main as bench_main


def test_quick_gate_fanout_writes_its_section_and_keeps_the_rest(tmp_path: Path) -> None:
    doc = tmp_path / "benchmarks.md"
    doc.write_text("# Benchmarks\n\n## Slack ack latency\n\nkept as it was\n")

    assert bench_main(["--only", "gates", "--quick", "--output", str(doc)]) == 0

    text = doc.read_text()
    assert "## Slack ack latency\n\nkept as it was\n" in text
    assert "## Gate fan-out" in text
    assert "`.venv/bin/python -m bench --only gates --quick --output " in text
    assert "| 2 | 20 ms |" in text
