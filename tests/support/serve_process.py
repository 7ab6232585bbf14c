"""`switchman serve` as a real process for tests: start it on a free port, read its log lines."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

SWITCHMAN = Path(sys.executable).with_name("switchman")


async def read_until_serving(process: asyncio.subprocess.Process, lines: list[str]) -> int:
    assert process.stderr is not None
    while True:
        raw = await process.stderr.readline()
        if not raw:
            raise AssertionError("serve exited before serving:\n" + "\n".join(lines))
        line = raw.decode().rstrip()
        lines.append(line)
        entry = json.loads(line) if line.startswith("{") else {}
        if entry.get("event") == "serving":
            return int(entry["port"])


def serve_env(tmp_path: Path, base_url: str, *, bot_token: str, config: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "SWITCHMAN_"))}
    env.update({"SLACK_BOT_TOKEN": bot_token, "SWITCHMAN_SLACK_API_URL": base_url, "SWITCHMAN_CONFIG": str(config),
                "SWITCHMAN_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}", **extra})
    return env


async def start_serve(tmp_path: Path, env: dict[str, str]) -> tuple[asyncio.subprocess.Process, int, list[str]]:
    """`switchman serve` on a free port; returns the process, its port and the log lines read so far."""
    process = await asyncio.create_subprocess_exec(
        str(SWITCHMAN), "serve", "--host", "127.0.0.1", "--port", "0", env=env, cwd=tmp_path,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    lines: list[str] = []
    port = await asyncio.wait_for(read_until_serving(process, lines), timeout=60)
    return process, port, lines


