"""`switchman serve` does not load matplotlib (and numpy) until a trend chart is drawn: they weigh about
60 MB of memory, against §11's bounded memory with hundreds of releases and rotations in one process."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
import bot.cli, bot.serve, bot.runtime, bot.slack.app_factory, bot.web.server
print(sorted(m for m in ("matplotlib", "numpy") if m in sys.modules))
"""


def test_serving_loads_no_charting_library() -> None:
    found = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=120)

    assert found.stdout.strip() == "[]"
