"""Gate fan-out (§11: gates run concurrently, total ≈ the slowest): 8 `http` gates, each answered late.

    .venv/bin/python -m bench --only gates [--gates N] [--delay MS] [--rounds N] [--quick]
                                          [--output PATH] [--no-write]

A local aiohttp server (its own thread and event loop, 127.0.0.1, a free port) answers every
`GET /gate/<n>` with `{"ok": true}` after `--delay` ms. Switchman's context is built as `switchman
serve` builds it (`bot.runtime.build_context`: example config, a fresh SQLite database, the real
httpx client), and its gate runner (`bot.release.gates.runner.run_gates`, what a release's gate step
calls) evaluates `--gates` `http` gates pointed at that server, all at once; then each gate alone.
Each round measures both; the report gives the median and worst of the rounds, and the ratio of
all gates together to the slowest gate alone (target: within 1.2×).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from aiohttp import web

from bench import machine
from bench.report import publish
from bench.servers import ROOT

SECTION_TITLE = "Gate fan-out"
TARGET_RATIO = 1.2
DEFAULT_OUTPUT = ROOT / "docs" / "benchmarks.md"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench --only gates", description=__doc__.splitlines()[0])
    parser.add_argument("--gates", type=int, default=8, help="http gates evaluated together (default 8)")
    parser.add_argument("--delay", type=int, default=200, metavar="MS", help="each gate's answer delay (default 200)")
    parser.add_argument("--rounds", type=int, default=10, help="measured rounds (default 10), after one warm-up")
    parser.add_argument("--quick", action="store_true", help="2 gates, 20 ms, 2 rounds (a smoke run)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--no-write", action="store_true", help="print the section instead of writing it")
    args = parser.parse_args(argv)
    if args.quick:
        args.gates, args.delay, args.rounds = 2, 20, 2
    if args.gates < 1 or args.delay < 0 or args.rounds < 1:
        parser.error("--gates and --rounds are at least 1, --delay at least 0")
    return args


class SlowGateServer:
    """An aiohttp server on its own thread and loop: every gate URL answers after `delay_s`."""

    def __init__(self, delay_s: float) -> None:
        self.delay_s = delay_s
        self.port = 0
        self._ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, name="slow-gate-server", daemon=True)
        self._stop: asyncio.Event | None = None

    def __enter__(self) -> SlowGateServer:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the slow gate server did not start within 10 s")
        return self

    def __exit__(self, *_: object) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    def url(self, n: int) -> str:
        return f"http://127.0.0.1:{self.port}/gate/{n}"

    def _serve(self) -> None:
        self._loop.run_until_complete(self._main())

    async def _main(self) -> None:
        async def answer(_: web.Request) -> web.Response:
            await asyncio.sleep(self.delay_s)
            return web.json_response({"ok": True})

        app = web.Application()
        app.router.add_get("/gate/{n}", answer)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self.port = runner.addresses[0][1]
        self._stop = asyncio.Event()
        self._ready.set()
        await self._stop.wait()
        await runner.cleanup()


async def measure(gates: int, delay_s: float, rounds: int, work: Path) -> tuple[list[float], list[float]]:
    """(all gates together, slowest gate alone) in seconds, per measured round."""
    from bot.config.gates import HttpCheck
    from bot.release import gating
    from bot.release.gates.runner import run_gates
    from bot.release.gates.types import GateInput
    from bot.release.models import Verdict
    from bot.runtime import build_context, close_context
    from bot.settings import EXAMPLE_CONFIG, Settings

    settings = Settings(config_path=EXAMPLE_CONFIG, database_url=f"sqlite:///{work / 'gates.db'}",
                        slack_api_url="http://127.0.0.1:9/api/", bot_token="xoxb-0000-0000-benchmarkonly")
    ctx = await build_context(settings)
    try:
        service = next(iter(ctx.config.services))
        deps = gating.gate_deps(ctx, service)
        inp = GateInput(release_id=1, service=service, environment="production", ref="main", sha="0" * 40,
                        requested_by="U0BENCH")
        with SlowGateServer(delay_s) as server:
            checks = [HttpCheck(url=server.url(n), json_field="ok", equals=True) for n in range(gates)]

            async def evaluate(subset: list[HttpCheck]) -> float:
                began = time.perf_counter()
                results = [r async for r in run_gates(subset, inp, deps)]
                took = time.perf_counter() - began
                failed = [r for r in results if r.outcome.verdict != Verdict.PASS]
                if len(results) != len(subset) or failed:
                    raise RuntimeError(f"a gate did not pass, so the run would not measure fan-out: "
                                       f"{[(r.gate, r.outcome.evidence) for r in failed]}")
                return took

            await evaluate(checks)  # warm-up: connections, imports
            together: list[float] = []
            slowest_alone: list[float] = []
            for _ in range(rounds):
                together.append(await evaluate(checks))
                slowest_alone.append(max([await evaluate([check]) for check in checks]))
        return together, slowest_alone
    finally:
        await close_context(ctx)


def render(args: argparse.Namespace, command: str, started: datetime, facts: list[tuple[str, str]],
           together: list[float], alone: list[float]) -> str:
    median_t, median_a = statistics.median(together), statistics.median(alone)
    ratio = median_t / median_a
    worst_ratio = max(t / a for t, a in zip(together, alone, strict=True))
    verdict = "**pass**" if ratio <= TARGET_RATIO else "**FAIL**"
    return "\n".join([
        f"## {SECTION_TITLE}",
        "",
        f"{args.gates} `http` gates, each pointed at a local aiohttp server (its own thread and event loop) that",
        f"answers after {args.delay} ms, evaluated by Switchman's gate runner (`run_gates`, as a release's gate step",
        "does) with the context `switchman serve` builds. Each round times all gates together, then each gate",
        "alone; the ratio compares all together with the slowest one alone. Generated by `bench/gate_fanout.py`.",
        "",
        f"- **Command:** `{command}`",
        f"- **Date:** {started.strftime('%Y-%m-%d %H:%M %Z')} (system clock)",
        *[f"- **{name}:** {value}" for name, value in facts],
        f"- **Rounds:** {args.rounds} measured, after one warm-up",
        "",
        "| gates | delay | all together (median / worst) | slowest alone (median / worst) "
        "| ratio (median / worst round) | target |",
        "|---:|---:|---:|---:|---:|---:|",
        f"| {args.gates} | {args.delay} ms | {median_t * 1000:.0f} / {max(together) * 1000:.0f} ms "
        f"| {median_a * 1000:.0f} / {max(alone) * 1000:.0f} ms | {ratio:.2f}× / {worst_ratio:.2f}× "
        f"| ≤ {TARGET_RATIO:g}×: {verdict} |",
        "",
    ])


def main(argv: Sequence[str] | None = None, *, shown: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = datetime.now().astimezone()
    with tempfile.TemporaryDirectory(prefix="switchman-bench-gates-") as tmp:
        together, alone = asyncio.run(measure(args.gates, args.delay / 1000, args.rounds, Path(tmp)))
    shown_argv = list(shown if shown is not None else ["--only", "gates", *(argv or [])])
    command = shlex.join([".venv/bin/python", "-m", "bench", *shown_argv])
    facts = machine.base_facts()
    section = render(args, command, started, facts, together, alone)
    publish(section, args.output, SECTION_TITLE, no_write=args.no_write)
    print(f"  gates together {statistics.median(together) * 1000:.0f} ms, slowest alone "
          f"{statistics.median(alone) * 1000:.0f} ms", file=sys.stderr)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
