"""The web release log over a long history (§10, issue 15): p95 of the release list and a release page.

    .venv/bin/python -m bench --only weblog [--quick] [--releases N] [--requests N] [--output PATH] [--no-write]

A history of 100k releases (`bench.evidence_history`, chained like the real ledger) is written to a fresh,
migrated SQLite file. The `/log/` routes are served by aiohttp on 127.0.0.1 exactly as `switchman serve`
mounts them, and one client with a signed session cookie asks, one request at a time:

- the release list, newest first (page 1), unfiltered and filtered by service and environment, by
  outcome, by person (requested, approved or overrode), and by a 30-day date range;
- deep pages of the list, reached by keyset (`before=`) near the oldest releases;
- single release pages (decisions, their chain check, report, overrides), at random ids.

Every request also stores its page view, as in production. Each kind is timed end to end at the client
(p50, p95, max); the bar is p95 under 200 ms at 100k releases. Results go to the "Web release log" section
of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shlex
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import aiohttp
from aiohttp import web
from slack_sdk.web.async_client import AsyncWebClient

from bench import machine
from bench.evidence_history import APPROVERS, NOW, batches, write_sqlite
from bench.report import publish
from bench.servers import ROOT
from bot.clock import ManualClock
from bot.config.models import SwitchmanConfig
from bot.context import AppContext
from bot.settings import Settings
from bot.storage.database import Database
from bot.storage.migrate import upgrade
from bot.web import log_pages
from bot.web.log_access import COOKIE, session_token
from bot.web.server import start_site

SECTION_TITLE = "Web release log"
RELEASES, QUICK_RELEASES = 100_000, 2_000
REQUESTS, QUICK_REQUESTS = 200, 20
TARGET_MS = 200.0
SECRET = "bench-weblog-" + "0123456789abcdef" * 3
DEFAULT_OUTPUT = ROOT / "docs" / "benchmarks.md"
PACKAGES = ("aiohttp", "jinja2", "sqlalchemy", "aiosqlite")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench --only weblog", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_RELEASES} releases, {QUICK_REQUESTS} requests "
                                                             "per kind (a smoke run, not a measurement)")
    parser.add_argument("--releases", type=int, help=f"history size (default {RELEASES})")
    parser.add_argument("--requests", type=int, help=f"requests per kind (default {REQUESTS})")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--no-write", action="store_true", help="print the section instead of writing it")
    args = parser.parse_args(argv)
    args.releases = args.releases or (QUICK_RELEASES if args.quick else RELEASES)
    args.requests = args.requests or (QUICK_REQUESTS if args.quick else REQUESTS)
    return args


@dataclass
class Timing:
    kind: str
    path_example: str
    millis: list[float]

    def p(self, fraction: float) -> float:
        ordered = sorted(self.millis)
        return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def _config() -> SwitchmanConfig:
    return SwitchmanConfig.model_validate({
        "providers": {"sim": {"kind": "sandbox"}},
        "services": {name: {"channel": f"#{name}", "provider": "sim", "repo": f"acme/{name}",
                            "environments": {"staging": {}, "production": {}}} for name in ("api", "web", "worker")},
    })


def _history(url: str, releases: int) -> None:
    upgrade(url)
    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
        for batch in batches(releases):
            write_sqlite(conn, batch)
        conn.execute("ANALYZE")


def _paths(releases: int, requests: int, rnd: random.Random) -> dict[str, list[str]]:
    day = (NOW - timedelta(days=200)).date()
    return {
        "list, page 1": ["/log/releases"] * requests,
        "list by service and environment": [f"/log/releases?service={rnd.choice(('api', 'web', 'worker'))}"
                                            f"&environment={rnd.choice(('staging', 'production'))}"
                                            for _ in range(requests)],
        "list by outcome": [f"/log/releases?outcome={rnd.choice(('failed', 'rolled_back', 'blocked'))}"
                            for _ in range(requests)],
        "list by person": [f"/log/releases?person={rnd.choice(APPROVERS)}" for _ in range(requests)],
        "list by 30-day range": [f"/log/releases?since={day}&until={day + timedelta(days=30)}"] * requests,
        "list, deep keyset page": [f"/log/releases?before={rnd.randint(1, max(2, releases // 50))}"
                                   for _ in range(requests)],
        "release page": [f"/log/releases/{rnd.randint(1, releases)}" for _ in range(requests)],
    }


async def _measure(url: str, releases: int, requests: int) -> list[Timing]:
    settings = Settings.from_env({"SWITCHMAN_DATABASE_URL": url, "SWITCHMAN_WEB_LOG_SECRET": SECRET})
    clock = ManualClock(NOW + timedelta(days=1))
    db = Database(url)
    ctx = AppContext(settings=settings, config=_config(), db=db, slack=AsyncWebClient(token="xoxb-bench"),
                     clock=clock)
    app = web.Application()
    log_pages.add_routes(app, ctx)
    runner, port = await start_site(app, "127.0.0.1", 0)
    token, _ = session_token(SECRET.encode(), ctx.config.web_log, who="U0AUDITOR", now=clock.now())
    timings = []
    try:
        async with aiohttp.ClientSession(f"http://127.0.0.1:{port}", cookies={COOKIE: token},
                                         connector=aiohttp.TCPConnector(limit=1)) as client:
            for kind, paths in _paths(releases, requests, random.Random(7)).items():
                for path in paths[:3]:  # warm-up
                    async with client.get(path) as response:
                        await response.read()
                millis = []
                for path in paths:
                    started = time.perf_counter()
                    async with client.get(path) as response:
                        await response.read()
                        if response.status != 200:
                            raise RuntimeError(f"{path}: HTTP {response.status}")
                    millis.append((time.perf_counter() - started) * 1000)
                timings.append(Timing(kind, paths[0], millis))
    finally:
        await runner.cleanup()
        await db.dispose()
    return timings


def render(timings: list[Timing], *, releases: int, command: str, started: datetime,
           facts: list[tuple[str, str]]) -> str:
    lines = [f"## {SECTION_TITLE}", "", f"`{command}` — {started:%Y-%m-%d %H:%M %Z}", "",
             *[f"- {name}: {value}" for name, value in facts], "",
             f"{releases:,} generated releases on SQLite; one client, one request at a time, each timed end to end "
             f"(the page view is stored too). Bar: p95 under {TARGET_MS:.0f} ms.", "",
             "| Request | Example | n | p50 ms | p95 ms | max ms | Under the bar |",
             "|---|---|---:|---:|---:|---:|---|"]
    for t in timings:
        lines.append(f"| {t.kind} | `{t.path_example}` | {len(t.millis)} | {statistics.median(t.millis):.1f} | "
                     f"{t.p(0.95):.1f} | {max(t.millis):.1f} | {'yes' if t.p(0.95) < TARGET_MS else '**no**'} |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None, *, shown: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    shown_argv = list(shown if shown is not None else sys.argv[1:] if argv is None else argv)
    started = datetime.now().astimezone()
    busy_before = machine.cpu_busy()
    with tempfile.TemporaryDirectory(prefix="switchman-weblog-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'history.db'}"
        print(f"writing {args.releases:,} releases…", file=sys.stderr, flush=True)
        _history(url, args.releases)
        timings = asyncio.run(_measure(url, args.releases, args.requests))
    busy_after = machine.cpu_busy()
    section = render(timings, releases=args.releases, started=started,
                     command=shlex.join([".venv/bin/python", "-m", "bench", *shown_argv]),
                     facts=[*machine.base_facts(PACKAGES), *machine.busy_fact(busy_before, busy_after)])
    publish(section, args.output, SECTION_TITLE, no_write=args.no_write)
    slow = [t for t in timings if t.p(0.95) >= TARGET_MS]
    return 1 if slow and not args.quick else 0
