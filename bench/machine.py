"""Facts about the machine a benchmark ran on, and how busy it was before the run.

Latency at one connection is a few hundred microseconds, so another process using a core
changes the numbers; `cpu_busy` measures that from /proc/stat so the report can say so.
"""

from __future__ import annotations

import os
import platform
import time
from importlib import metadata
from pathlib import Path

PACKAGES = ("slack_bolt", "slack_sdk", "aiohttp")
BUSY_WARNING = 0.10  # above this share of all CPU time busy before the run, the numbers are suspect


def base_facts(packages: tuple[str, ...] = PACKAGES) -> list[tuple[str, str]]:
    """CPU, memory, OS, Python and the versions of `packages`."""
    cpu = _cpuinfo_field("model name") or platform.processor() or "unknown"
    return [
        ("CPU", f"{nproc()} cores (`nproc`), {cpu}"),
        ("Memory", _memory()),
        ("OS", f"{platform.system()} {platform.release()}"),
        ("Python", f"{platform.python_implementation()} {platform.python_version()}"),
        ("Packages", ", ".join(f"{name} {_version(name)}" for name in packages)),
    ]


def busy_fact(busy_before: float | None, busy_after: float | None) -> list[tuple[str, str]]:
    """How busy the CPU was without our load, before and after the run (nothing off Linux)."""
    facts: list[tuple[str, str]] = []
    samples = [b for b in (busy_before, busy_after) if b is not None]
    if samples:
        shown = " / ".join("?" if b is None else f"{b:.0%}" for b in (busy_before, busy_after))
        note = (" — another process was using the CPU, so these numbers are noisier than on an idle machine"
                if max(samples) > BUSY_WARNING else "")
        facts.append(("CPU busy without our load", f"{shown} of all cores, in the second before / after the run "
                                                   f"(/proc/stat){note}"))
    return facts


def machine_facts(wrk_version: str, busy_before: float | None, busy_after: float | None) -> list[tuple[str, str]]:
    return [*base_facts(), ("Load generator", wrk_version), *busy_fact(busy_before, busy_after)]


def nproc() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 0


def cpu_busy(seconds: float = 1.0) -> float | None:
    """The share of all CPU time that was not idle over the next `seconds` (None off Linux)."""
    first = _cpu_times()
    if first is None:
        return None
    time.sleep(seconds)
    second = _cpu_times()
    if second is None:
        return None
    total = second[0] - first[0]
    idle = second[1] - first[1]
    return max(0.0, min(1.0, 1 - idle / total)) if total > 0 else None


def _cpu_times() -> tuple[int, int] | None:
    """(total, idle + iowait) jiffies of all CPUs, from the first line of /proc/stat."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()
    except (OSError, IndexError):
        return None
    if not fields or fields[0] != "cpu":
        return None
    values = [int(v) for v in fields[1:9]]  # user nice system idle iowait irq softirq steal
    return sum(values), values[3] + values[4]


def _cpuinfo_field(name: str) -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == name:
                return value.strip()
    except OSError:
        return None
    return None


def _memory() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                kib = int(line.split()[1])
                return f"{kib / 1024 / 1024:.1f} GiB (MemTotal)"
    except (OSError, ValueError, IndexError):
        pass
    return "unknown"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"
