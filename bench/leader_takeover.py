"""Leader takeover: how long after the leading replica is SIGKILLed another one leads (§10).

    .venv/bin/python -m bench --only takeover [--replicas N] [--trials N] [--rotations N]
                                             [--quick] [--output PATH] [--no-write]

Starts a throwaway PostgreSQL on loopback (as an unprivileged user when run as root, with
`tests/support/postgres_server.py`, as the replica tests do) and `--replicas` `switchman serve`
processes on it (`tests/replicas/cluster.py`), with `--rotations` hourly rotations, so that taking
over includes planning their handoffs. Each trial finds the leader (`switchman_leader 1` on
/metrics), SIGKILLs it, and polls the survivors' /metrics every 20 ms until one says it leads, then
until it has planned every rotation's next handoff again (`switchman_scheduled_jobs`); a
replacement replica is then started, so every trial kills one of `--replicas`. Without PostgreSQL's
server binaries the section says so and nothing is measured.
"""

from __future__ import annotations

import argparse
import asyncio
import shlex
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bench import machine
from bench.inflight_scale import BOT_TOKEN, GITHUB_TOKEN, SIGNING_SECRET, config_text, scrape
from bench.report import publish
from bench.servers import ROOT

if TYPE_CHECKING:
    from tests.replicas.cluster import Cluster, Replica

SECTION_TITLE = "Leader takeover after SIGKILL"
DEFAULT_OUTPUT = ROOT / "docs" / "benchmarks.md"
POLL_S = 0.02
GIVE_UP_S = 60.0


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench --only takeover", description=__doc__.splitlines()[0])
    parser.add_argument("--replicas", type=int, default=3, help="replicas running at each kill (default 3)")
    parser.add_argument("--trials", type=int, default=5, help="leaders killed, one after the other (default 5)")
    parser.add_argument("--rotations", type=int, default=200, help="rotations the new leader plans (default 200)")
    parser.add_argument("--quick", action="store_true", help="2 replicas, 2 trials, 20 rotations (a smoke run)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--no-write", action="store_true", help="print the section instead of writing it")
    args = parser.parse_args(argv)
    if args.quick:
        args.replicas, args.trials, args.rotations = 2, 2, 20
    if args.replicas < 2 or args.trials < 1 or args.rotations < 1:
        parser.error("--replicas is at least 2; --trials and --rotations at least 1")
    return args


@dataclass(frozen=True)
class Trial:
    leads_s: float  # from the SIGKILL to a survivor saying it leads
    planned_s: float  # …to that survivor having planned every rotation's jobs


@dataclass(frozen=True)
class Outcome:
    trials: list[Trial]
    postgres: str
    replicas: int
    rotations: int
    note: str | None = None  # why nothing was measured


async def _leading(url: str) -> tuple[bool, int]:
    try:
        metrics = await scrape(url)
    except OSError:
        return False, 0
    return metrics.get("switchman_leader") == 1.0, int(metrics.get("switchman_scheduled_jobs", 0))


async def measure(args: argparse.Namespace, work: Path) -> Outcome:
    from sqlalchemy import create_engine

    from bot.config.loader import load_config
    from bot.slack_sim.seed import seed_workspace
    from bot.slack_sim.web_api import SlackWebApi
    from bot.slack_sim.workspace import Workspace
    from tests.replicas.cluster import Cluster
    from tests.support.postgres_server import postgres_unavailable_reason, running_postgres
    from tests.support.serve_process import serve_env

    reason = postgres_unavailable_reason()
    if reason is not None:
        return Outcome([], "", args.replicas, args.rotations, note=f"PostgreSQL cannot be started here: {reason}")
    config_path = work / "switchman.yml"
    config_path.write_text(config_text("http://127.0.0.1:9", 1, args.rotations))
    workspace = Workspace()
    seed_workspace(workspace, load_config(config_path))
    api = SlackWebApi(workspace, token=BOT_TOKEN)
    slack_url = await api.start()
    # Each rotation always has its handoff job (its reminder comes and goes: it has fired when due a minute
    # before the handoff), and start-up planning schedules all of them in one step, with no await between.
    expected_jobs = args.rotations
    trials: list[Trial] = []
    try:
        with running_postgres(work) as server:
            import psycopg

            with psycopg.connect(server.url("postgresql")) as conn:
                version = conn.execute("SHOW server_version").fetchone()
            env = serve_env(work, slack_url, bot_token=BOT_TOKEN, config=config_path,
                            SLACK_SIGNING_SECRET=SIGNING_SECRET, GITHUB_TOKEN=GITHUB_TOKEN,
                            SWITCHMAN_DATABASE_URL=server.url())
            cluster = Cluster(work, env, create_engine(server.url()))
            try:
                await cluster.start(args.replicas)
                leader, _ = await cluster.one_leader(within=GIVE_UP_S)
                for _ in range(args.trials):
                    trial, leader = await _kill_and_wait(cluster, leader, expected_jobs)
                    trials.append(trial)
                    await cluster.start(1)  # back to --replicas for the next kill
            finally:
                await cluster.stop()
    finally:
        await api.stop()
    return Outcome(trials, f"PostgreSQL {version[0] if version else '?'}", args.replicas, args.rotations)


async def _kill_and_wait(cluster: Cluster, leader: Replica, expected_jobs: int) -> tuple[Trial, Replica]:
    """SIGKILL `leader`; how long until a survivor leads, then has planned every job; and that survivor."""
    survivors = [r for r in cluster.replicas if r.alive and r is not leader]
    leader.process.send_signal(signal.SIGKILL)
    killed = time.perf_counter()
    await leader.process.wait()
    leads_s: float | None = None
    while time.perf_counter() - killed < GIVE_UP_S:
        states = await asyncio.gather(*(_leading(r.url) for r in survivors))
        now = time.perf_counter() - killed
        leading = [(replica, jobs) for replica, (lead, jobs) in zip(survivors, states, strict=True) if lead]
        if leading and leads_s is None:
            leads_s = now
        if leading and leading[0][1] >= expected_jobs:
            assert leads_s is not None
            return Trial(leads_s, now), leading[0][0]
        await asyncio.sleep(POLL_S)  # the survivors are polled, 50 times a second
    raise RuntimeError(f"no survivor led with its jobs planned within {GIVE_UP_S:g} s of the SIGKILL")


def render(command: str, started: datetime, facts: list[tuple[str, str]], outcome: Outcome) -> str:
    lines = [
        f"## {SECTION_TITLE}",
        "",
        "Several `switchman serve` replicas (real processes, HTTP mode) on one throwaway PostgreSQL on loopback,",
        "with hourly rotations whose handoffs the new leader plans again. Each trial SIGKILLs the leader and polls",
        "the survivors' /metrics every 20 ms: *leads* is when one of them says `switchman_leader 1` (it holds the",
        "advisory lock and has begun a new epoch), *planned* when it has also planned every rotation's next",
        "handoff (`switchman_scheduled_jobs` at least the number of rotations; they are planned in one step).",
        "Followers try for the lock every second (`bot/leadership.py` `TRY_EVERY`); PostgreSQL frees a killed",
        "leader's lock as soon as the kernel closes its connection. A new",
        "replica is started after each trial, so each kill leaves one fewer than the replicas listed. Generated by",
        "`bench/leader_takeover.py`; the machine is shared with other work, so figures are noisy.",
        "",
        f"- **Command:** `{command}`",
        f"- **Date:** {started.strftime('%Y-%m-%d %H:%M %Z')} (system clock)",
        *[f"- **{name}:** {value}" for name, value in facts],
    ]
    if outcome.note is not None:
        lines += ["", f"Not measured: {outcome.note}.", ""]
        return "\n".join(lines)
    leads = [t.leads_s for t in outcome.trials]
    planned = [t.planned_s for t in outcome.trials]
    lines += [
        f"- **Set-up:** {outcome.replicas} replicas, {outcome.rotations:,} rotations, {len(outcome.trials)} trials, "
        f"{outcome.postgres}",
        "",
        "| from the SIGKILL until a survivor… | min | median | max |",
        "|---|---:|---:|---:|",
        f"| leads | {min(leads):.2f} s | {statistics.median(leads):.2f} s | {max(leads):.2f} s |",
        f"| leads with every rotation's jobs planned | {min(planned):.2f} s | {statistics.median(planned):.2f} s "
        f"| {max(planned):.2f} s |",
        "",
        "Trials: " + ", ".join(f"{t.leads_s:.2f} s / {t.planned_s:.2f} s" for t in outcome.trials) + ".",
        "",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None, *, shown: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = datetime.now().astimezone()
    with tempfile.TemporaryDirectory(prefix="switchman-bench-takeover-") as tmp:
        outcome = asyncio.run(measure(args, Path(tmp)))
    shown_argv = list(shown if shown is not None else ["--only", "takeover", *(argv or [])])
    command = shlex.join([".venv/bin/python", "-m", "bench", *shown_argv])
    section = render(command, started, machine.base_facts(), outcome)
    publish(section, args.output, SECTION_TITLE, no_write=args.no_write)
    if outcome.trials:
        median = statistics.median(t.leads_s for t in outcome.trials)
        print(f"  takeover: median {median:.2f} s to lead", file=sys.stderr)
    else:
        print(f"  takeover not measured: {outcome.note}", file=sys.stderr)
    return 0
