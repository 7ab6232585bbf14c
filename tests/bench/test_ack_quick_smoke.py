"""The ack benchmark in `--quick --one-connection` mode (1 s wrk runs, one connection): every server starts,
every request kind is checked and measured, and the section is written. No figure is asserted. Needs wrk
(installed by the benchmark as root). `make bench` measures the 50-connection load too."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bench.__main__ import main as bench_main


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_quick_ack_run_measures_every_request_kind_and_writes_its_section(tmp_path: Path) -> None:
    doc = tmp_path / "benchmarks.md"
    doc.write_text("# Benchmarks\n\n## Gate fan-out\n\nkept as it was\n")

    assert bench_main(["--only", "ack", "--quick", "--one-connection", "--output", str(doc)]) == 0

    text = doc.read_text()
    assert "## Gate fan-out\n\nkept as it was\n" in text
    for title in ("### `/deploy help` (slash command)", "### `/oncall api-oncall` (slash command)",
                  "### Button click (`block_actions`) on a release that does not exist",
                  "### `/deploy api to staging` (slash command, a real release request)",
                  "### Approve click (`block_actions`) on a release waiting for approval",
                  "### Alertmanager webhook (`POST /webhooks/alertmanager`)", "### §11 verdicts"):
        assert title in text
