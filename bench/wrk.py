"""Running wrk with `bench/wrk_request.lua` and reading its `--latency` report.

wrk is found on PATH; when missing it is installed with `apt-get install -y wrk` if we are root,
otherwise the benchmark stops with a message saying how to install it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bench.servers import pin_to
from bench.slack_requests import SignedRequest

LUA_SCRIPT = Path(__file__).with_name("wrk_request.lua")

_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
_PERCENTILE = re.compile(r"^\s*(50|75|90|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s|m|h)\s*$", re.MULTILINE)
_REQUESTS = re.compile(r"^\s*(\d+) requests in ([\d.]+)(us|ms|s|m|h)", re.MULTILINE)
_RATE = re.compile(r"^Requests/sec:\s+([\d.]+)", re.MULTILINE)
_SOCKET_ERRORS = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
_WRK_NON_2XX = re.compile(r"Non-2xx or 3xx responses: (\d+)")
_OURS = re.compile(r"BENCH_RESPONSES ok=(\d+) non2xx=(\d+) first_bad=(\d+)")


class WrkError(RuntimeError):
    """wrk failed, or its run had errors or non-2xx answers."""


@dataclass(frozen=True)
class WrkResult:
    threads: int
    connections: int
    duration_s: float
    requests: int
    requests_per_s: float
    p50_ms: float
    p75_ms: float
    p90_ms: float
    p99_ms: float
    ok: int
    non_2xx: int
    first_bad_status: int
    socket_errors: int
    output: str


def ensure_wrk() -> str:
    """The path of wrk, installing the Debian package first when it is missing and we are root."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0:
        raise SystemExit("wrk is not installed and we are not root: install it (`sudo apt-get install -y wrk`, "
                         "or build https://github.com/wg/wrk) and run the benchmark again.")
    print("wrk is missing; installing it with apt-get …", flush=True)
    install = ["apt-get", "install", "-y", "--no-install-recommends", "wrk"]
    if subprocess.run(install, check=False).returncode != 0:
        subprocess.run(["apt-get", "update"], check=False)
        subprocess.run(install, check=True)
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("apt-get reported success but wrk is still not on PATH")
    return found


def wrk_version(wrk: str) -> str:
    result = subprocess.run([wrk, "-v"], capture_output=True, text=True, check=False)
    first = (result.stdout or result.stderr).strip().splitlines()
    return first[0].split(" Copyright")[0].strip() if first else "unknown"


def command_line(url: str, *, threads: int, connections: int, duration_s: float) -> list[str]:
    """The wrk command line (without the executable path), as documented in the report."""
    return ["wrk", f"-t{threads}", f"-c{connections}", f"-d{_duration(duration_s)}", "--latency",
            "-s", str(LUA_SCRIPT.relative_to(LUA_SCRIPT.parent.parent)), url]


def run(wrk: str, url: str, request: SignedRequest, *, threads: int, connections: int, duration_s: float,
        work_dir: Path, cpus: frozenset[int] | None = None) -> WrkResult:
    """One wrk run of `request` against `url`; raises WrkError on any error or non-2xx answer."""
    body_file = work_dir / f"{request.kind}.body"
    body_file.write_text(request.body)
    env = dict(os.environ, BENCH_BODY_FILE=str(body_file), BENCH_CONTENT_TYPE=request.content_type,
               BENCH_TIMESTAMP=str(request.timestamp), BENCH_SIGNATURE=request.signature)
    if request.authorization is not None:
        env["BENCH_AUTHORIZATION"] = request.authorization
    if request.variants:  # one "signature body" line each (no body holds a newline)
        variants_file = work_dir / f"{request.kind}.variants"
        variants_file.write_text("".join(f"{signature} {body}\n" for body, signature in request.variants))
        env["BENCH_VARIANTS_FILE"] = str(variants_file)
    argv = [wrk, f"-t{threads}", f"-c{connections}", f"-d{_duration(duration_s)}", "--latency",
            "-s", str(LUA_SCRIPT), url]
    completed = subprocess.run(argv, env=env, capture_output=True, text=True, check=False,
                               timeout=duration_s + 60, preexec_fn=pin_to(cpus))
    output = completed.stdout + completed.stderr
    if completed.returncode != 0:
        raise WrkError(f"wrk exited with {completed.returncode}:\n{output}")
    result = parse(output, threads=threads, connections=connections)
    if result.non_2xx or result.socket_errors:
        raise WrkError(f"{url}: {result.non_2xx} non-2xx answers (first: HTTP {result.first_bad_status}) and "
                       f"{result.socket_errors} socket errors in {result.requests} requests; "
                       f"these numbers would not measure acks:\n{output}")
    return result


def parse(output: str, *, threads: int, connections: int) -> WrkResult:
    """Read wrk's `--latency` report and the counts printed by wrk_request.lua."""
    percentiles = {int(p): _to_ms(value, unit) for p, value, unit in _PERCENTILE.findall(output)}
    requests = _REQUESTS.search(output)
    rate = _RATE.search(output)
    ours = _OURS.search(output)
    if not requests or not rate or not ours or not {50, 75, 90, 99} <= percentiles.keys():
        raise WrkError(f"cannot read wrk's report (was --latency given, and the Lua script loaded?):\n{output}")
    socket = _SOCKET_ERRORS.search(output)
    socket_errors = sum(int(n) for n in socket.groups()) if socket else 0
    wrk_non_2xx = _WRK_NON_2XX.search(output)
    non_2xx = max(int(ours.group(2)), int(wrk_non_2xx.group(1)) if wrk_non_2xx else 0)
    return WrkResult(
        threads=threads, connections=connections,
        duration_s=_to_ms(requests.group(2), requests.group(3)) / 1000,
        requests=int(requests.group(1)), requests_per_s=float(rate.group(1)),
        p50_ms=percentiles[50], p75_ms=percentiles[75], p90_ms=percentiles[90], p99_ms=percentiles[99],
        ok=int(ours.group(1)), non_2xx=non_2xx, first_bad_status=int(ours.group(3)),
        socket_errors=socket_errors, output=output,
    )


def _to_ms(value: str, unit: str) -> float:
    return float(value) * _UNITS_MS[unit]


def _duration(seconds: float) -> str:
    return f"{max(1, round(seconds))}s"  # wrk takes whole seconds (s, m, h), not milliseconds
