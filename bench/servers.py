"""Starting and stopping the benchmarked servers, each as its own process on a free loopback port.

A server is ready when its log (stdout and stderr, written to a file so a chatty server can
never block on a full pipe) holds a JSON line with `"event": "serving"` and its `port`.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"


class ServerFailed(RuntimeError):
    """A server did not start, or answered the benchmark request wrongly."""


@dataclass
class Server:
    key: str
    label: str
    process: subprocess.Popen[bytes]
    log_path: Path
    port: int
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def root_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def cpu_seconds(self) -> float | None:
        """User + system CPU time of the process so far, all threads (None when /proc cannot tell)."""
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of proc(5))
        except (OSError, IndexError, ValueError):
            return None
        return ticks / os.sysconf("SC_CLK_TCK")

    def metric(self, name: str, timeout: float = 30) -> float | None:
        """The value of an unlabelled metric on the server's /metrics page (None when absent or unreachable)."""
        try:
            with urllib.request.urlopen(f"{self.root_url}/metrics", timeout=timeout) as response:
                text = response.read().decode()
        except (OSError, ValueError):
            return None
        for line in text.splitlines():
            if line.startswith(name + " "):
                try:
                    return float(line.split()[1])
                except (IndexError, ValueError):
                    return None
        return None

    def logged(self, levels: tuple[str, ...] = ("error", "critical")) -> list[dict[str, Any]]:
        """The JSON log lines (Switchman's structured log) at one of `levels`."""
        entries = []
        for entry in _json_lines(self.log_path):
            if str(entry.get("level", "")).lower() in levels:
                entries.append(entry)
        return entries

    def stop(self, timeout: float = 15) -> None:
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=timeout)


def clean_env(extra: Mapping[str, str]) -> dict[str, str]:
    """This process's environment without any Slack or Switchman setting, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "SWITCHMAN_"))}
    env.update(extra)
    return env


def start(key: str, label: str, argv: Sequence[str], *, env: Mapping[str, str], log_dir: Path,
          cwd: Path = ROOT, timeout: float = 60, cpus: frozenset[int] | None = None) -> Server:
    """Start `argv` (on `cpus` only, when given) and wait until it logs that it serves.

    Raises ServerFailed with the end of its log if it exits or does not serve within `timeout`.
    """
    log_path = log_dir / f"{key}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(list(argv), env=dict(env), cwd=cwd, stdin=subprocess.DEVNULL,
                                   stdout=log, stderr=subprocess.STDOUT, preexec_fn=pin_to(cpus))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        serving = _serving_line(log_path)
        if serving is not None:
            return Server(key, label, process, log_path, int(serving["port"]), serving)
        if process.poll() is not None:
            break
        time.sleep(0.05)
    server = Server(key, label, process, log_path, 0)
    server.stop()
    raise ServerFailed(f"{label} did not start (exit code {process.returncode}); its log ends:\n"
                       f"{server.log_tail()}")


def pin_to(cpus: frozenset[int] | None) -> Callable[[], None] | None:
    """A preexec_fn that restricts the child (and everything it starts) to `cpus`; None for no pinning."""
    if not cpus:
        return None

    def pin() -> None:
        os.sched_setaffinity(0, cpus)

    return pin


def python_module(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]


def switchman_executable() -> Path:
    """`switchman` next to this interpreter: .venv/bin/switchman when run with .venv/bin/python."""
    return Path(sys.executable).with_name("switchman")


def _serving_line(log_path: Path) -> dict[str, Any] | None:
    for entry in _json_lines(log_path):
        if entry.get("event") == "serving" and "port" in entry:
            return entry
    return None


def _json_lines(log_path: Path) -> list[dict[str, Any]]:
    try:
        text = log_path.read_text(errors="replace")
    except OSError:
        return []
    entries = []
    for line in text.splitlines():
        if not line.startswith("{"):
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(entry, dict):
            entries.append(entry)
    return entries
