"""Thread throughput under Slack's per-channel limit: a release's messages against the floor the limit sets.

    .venv/bin/python -m bench --only thread [--releases N] [--quick] [--output PATH] [--no-write]

The whole stack runs in this process on real time (`bot.slack_sim.stack.simulated_stack`, as the
console and the scenario tests run it): the simulated Slack enforces chat.postMessage's per-channel
limit (a burst of 4, then 1 a second, HTTP 429 with Retry-After past it) and Switchman's outbox paces
its posts and honours the 429s. The example config, with the sandbox provider's pipeline made
instant (so the limit, not the pipeline, sets the pace), deploys `api` to staging: `--releases`
releases, one after another, each requested by a signed `/deploy` and answered through the real Bolt
app. For each release the benchmark records, by watching the simulated workspace, when each
chat.postMessage to the release channel landed, from the `/deploy` to the last one; the floor is
what the limit allows for that many posts (those past the burst at 1 a second). Between releases
the benchmark waits until the channel's bucket is full again, so each starts with the whole burst.
"""

from __future__ import annotations

import argparse
import asyncio
import shlex
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from bench import machine
from bench.report import publish
from bench.servers import ROOT

if TYPE_CHECKING:
    from bot.slack_sim.stack import Stack

SECTION_TITLE = "Thread throughput under Slack's per-channel limit"
DEFAULT_OUTPUT = ROOT / "docs" / "benchmarks.md"
CHANNEL = "#api-releases"
DEPLOYER = "U01OPS1"
SETTLED_WITHIN_S = 120.0


@dataclass(frozen=True)
class ReleaseRun:
    posts: int  # chat.postMessage calls that landed in the release channel (top level and thread)
    elapsed_s: float  # from the /deploy to the last of them
    floor_s: float  # what the per-channel limit allows for `posts` posts
    state: str


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench --only thread", description=__doc__.splitlines()[0])
    parser.add_argument("--releases", type=int, default=3, help="releases deployed one after another (default 3)")
    parser.add_argument("--quick", action="store_true", help="one release (a smoke run)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--no-write", action="store_true", help="print the section instead of writing it")
    args = parser.parse_args(argv)
    if args.quick:
        args.releases = 1
    if args.releases < 1:
        parser.error("--releases is at least 1")
    return args


def instant_pipeline_config(work: Path) -> Path:
    """The example config with the sandbox pipeline taking no time."""
    from bot.settings import EXAMPLE_CONFIG

    config = yaml.safe_load(EXAMPLE_CONFIG.read_text())
    config["providers"]["sandbox"]["run_duration"] = "0s"
    path = work / "switchman.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


async def measure(releases: int, work: Path) -> tuple[list[ReleaseRun], float, int, int]:
    """The runs, and the limit (per second, burst) and the 429s the simulated Slack answered."""
    from sqlmodel import col, select

    from bot.release.models import IN_FLIGHT, Release, ReleaseState
    from bot.settings import Settings
    from bot.slack_sim.stack import STACK_RATE_LIMIT, simulated_stack

    limit = STACK_RATE_LIMIT
    if limit is None:
        raise RuntimeError("the simulated stack has no rate limit, so there is nothing to measure against")
    settings = Settings(config_path=instant_pipeline_config(work), database_url=f"sqlite:///{work / 'thread.db'}",
                        slack_api_url="http://127.0.0.1:9/api/")
    runs: list[ReleaseRun] = []
    async with simulated_stack(settings) as stack:
        channel = stack.workspace.resolve_channel(CHANNEL)
        if channel is None:
            raise RuntimeError(f"the simulated workspace has no {CHANNEL}")
        for n in range(releases):
            if n:  # let the channel's bucket refill, so each release starts with the full burst the floor assumes
                await asyncio.sleep(limit.burst / limit.per_second + 1)
            version = f"v1.{n}.0"
            before = {key for key in stack.workspace.messages if key[0] == channel.id}
            began = time.perf_counter()
            delivery = await stack.slack.slash_command(DEPLOYER, "/deploy", f"api {version} to staging",
                                                       channel=CHANNEL)
            if delivery.status != 200:
                raise RuntimeError(f"/deploy answered HTTP {delivery.status}: {delivery.body[:200]}")
            landed: list[float] = []
            seen = set(before)
            deadline = began + SETTLED_WITHIN_S
            state = ""
            while time.perf_counter() < deadline:
                for key in stack.workspace.messages:
                    if key[0] == channel.id and key not in seen:
                        seen.add(key)
                        landed.append(time.perf_counter())
                async with stack.ctx.db.session() as session:
                    row = (await session.exec(select(Release).order_by(col(Release.id).desc()))).first()
                state = row.state if row is not None else ""
                pending_posts = await _outbox_pending(stack)
                if state and ReleaseState(state) not in IN_FLIGHT and not pending_posts and landed:
                    break
                await asyncio.sleep(0.01)
            else:
                raise RuntimeError(f"release {version} did not finish within {SETTLED_WITHIN_S:.0f} s (state {state})")
            posts = len(landed)
            floor = max(0, posts - limit.burst) / limit.per_second
            runs.append(ReleaseRun(posts, landed[-1] - began, floor, state))
            await stack.settle()
        limited = sum(stack.api.rate_limited.values())
    return runs, limit.per_second, limit.burst, limited


async def _outbox_pending(stack: Stack) -> bool:
    """Whether Switchman's outbox still holds messages to send."""
    from sqlmodel import col, select

    from bot.outbox.models import OutboxMessage, OutboxState

    async with stack.ctx.db.session() as session:
        row = (await session.exec(select(OutboxMessage.id).where(col(OutboxMessage.state) == OutboxState.PENDING)
                                  .limit(1))).first()
    return row is not None


def render(args: argparse.Namespace, command: str, started: datetime, facts: list[tuple[str, str]],
           runs: list[ReleaseRun], per_second: float, burst: int, limited: int) -> str:
    rows = [f"| {n + 1} | {r.state} | {r.posts} | {r.elapsed_s:.2f} s | {r.floor_s:.2f} s "
            f"| {r.elapsed_s / r.floor_s:.2f}× |" if r.floor_s else
            f"| {n + 1} | {r.state} | {r.posts} | {r.elapsed_s:.2f} s | 0 s (within the burst) | — |"
            for n, r in enumerate(runs)]
    over = [r.elapsed_s - r.floor_s for r in runs]
    return "\n".join([
        f"## {SECTION_TITLE}",
        "",
        "The whole stack in one process on real time, against the simulated Slack, which enforces",
        f"chat.postMessage's per-channel limit (a burst of {burst}, then {per_second:g} a second; 429 with Retry-After",
        "past it). The example",
        "config, its sandbox pipeline made instant, deploys `api` to staging; each release is requested by a signed",
        "`/deploy`. Elapsed is from the `/deploy` to the last chat.postMessage landing in the release channel; the",
        "floor is what the limit allows for that many posts (those past the burst at the limit's rate); between",
        "releases the benchmark waits for the channel's bucket to refill. Generated by `bench/thread_throughput.py`.",
        "",
        f"- **Command:** `{command}`",
        f"- **Date:** {started.strftime('%Y-%m-%d %H:%M %Z')} (system clock)",
        *[f"- **{name}:** {value}" for name, value in facts],
        f"- **429s answered by the simulated Slack:** {limited}",
        "",
        "| release | final state | posts | elapsed | floor | elapsed ÷ floor |",
        "|---:|---|---:|---:|---:|---:|",
        *rows,
        "",
        f"Median time over the floor: {statistics.median(over):.2f} s.",
        "",
    ])


def main(argv: Sequence[str] | None = None, *, shown: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = datetime.now().astimezone()
    with tempfile.TemporaryDirectory(prefix="switchman-bench-thread-") as tmp:
        runs, per_second, burst, limited = asyncio.run(measure(args.releases, Path(tmp)))
    shown_argv = list(shown if shown is not None else ["--only", "thread", *(argv or [])])
    command = shlex.join([".venv/bin/python", "-m", "bench", *shown_argv])
    section = render(args, command, started, machine.base_facts(), runs, per_second, burst, limited)
    publish(section, args.output, SECTION_TITLE, no_write=args.no_write)
    for r in runs:
        print(f"  {r.posts} posts in {r.elapsed_s:.2f} s (floor {r.floor_s:.2f} s), {r.state}", file=sys.stderr)
    return 0
