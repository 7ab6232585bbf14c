"""In-flight scale: many releases polling a CI and many rotations with timed handoffs, in one process.

    .venv/bin/python -m bench --only scale [--releases N] [--rotations N] [--idle S] [--busy S]
                                          [--quick] [--output PATH] [--no-write]

One `switchman serve` runs as a real process (as `tests/replicas` start it) on a generated config and a
fresh SQLite database: `--releases` services, each deploying to staging through GitHub Actions on the
fake GitHub (`tests/fakes/github_server.py`, on loopback, every request checked against the contract),
and `--rotations` rotations handing off every hour at minutes spread over the hour (so about one in
sixty hands off at each minute, and as many get their reminder a minute before), against the
simulated Slack Web API. The benchmark then

1. measures the process idle (no release) for `--idle` seconds;
2. sends one signed `/deploy svc-N v1.0.0 to staging` per service and waits until every release has
   dispatched its workflow run (the runs stay in progress);
3. measures it busy (every release polling its run) for `--busy` seconds;
4. completes every run and waits until every release has succeeded.

It reads CPU time (utime + stime) from /proc/PID/stat, peak RSS from VmHWM in /proc/PID/status, and the
lateness of timed jobs from the process's own `/metrics` (`switchman_scheduled_job_lateness_*`, measured
by the scheduler as each job starts).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shlex
import signal
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

from bench import machine
from bench.inflight_report import FINISH_WAIT_S, SECTION_TITLE, Result, Window, render
from bench.report import publish
from bench.servers import ROOT

DEFAULT_OUTPUT = ROOT / "docs" / "benchmarks.md"
BOT_TOKEN = "xoxb-0000-0000-benchmarkonly"
SIGNING_SECRET = "bench0123456789abcdef0123456789ab"
GITHUB_TOKEN = "ghp_" + "b" * 36
REF = "v1.0.0"
DEPLOYER = "U0ALICE"
PEOPLE = ("U01OPS1", "U01OPS2", "U01DEV1", "U01DEV2", "U01DEV3", "U01LEAD")
SEND_AT_ONCE = 16  # slash commands in flight at once, as a busy workspace would send them
RESEND_ROUNDS = 10  # rounds of asking again for the commands the interaction lane refused as busy
BUSY_PAUSE_S = 1.0  # how long a sender waits after a busy ack before asking again
CLK_TCK = os.sysconf("SC_CLK_TCK")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench --only scale", description=__doc__.splitlines()[0])
    parser.add_argument("--releases", type=int, default=1000, help="concurrent releases (default 1000)")
    parser.add_argument("--rotations", type=int, default=1000, help="rotations (default 1000)")
    parser.add_argument("--idle", type=float, default=10.0, help="seconds measured idle (default 10)")
    parser.add_argument("--busy", type=float, default=20.0, help="seconds measured busy (default 20)")
    parser.add_argument("--quick", action="store_true", help="50 releases, 50 rotations, 3 s windows (a smoke run)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--no-write", action="store_true", help="print the section instead of writing it")
    args = parser.parse_args(argv)
    if args.quick:
        args.releases, args.rotations, args.idle, args.busy = 50, 50, 3.0, 3.0
    if args.releases < 1 or args.rotations < 1 or args.idle <= 0 or args.busy <= 0:
        parser.error("--releases and --rotations are at least 1; --idle and --busy are positive")
    return args


def config_text(github_url: str, releases: int, rotations: int) -> str:
    services = "".join(f"""
  svc-{n:04d}:
    channel: "#svc-{n:04d}"
    provider: gh
    repo: acme/api
    workflow: deploy.yml
    environments:
      staging:
        gates: []
""" for n in range(releases))
    rotation_blocks = "".join(f"""
  rot-{n:04d}:
    channel: "#rot-{n:04d}"
    timezone: UTC
    handoff: {{every: hour, at: "00:{n % 60:02d}"}}
    reminder_before: 1m
    primaries: [{PEOPLE[n % 3]}, {PEOPLE[(n + 1) % 3]}]
    shadows: [{PEOPLE[3 + n % 3]}]
""" for n in range(rotations))
    return f"""
providers:
  gh: {{kind: github_actions, api_url: "{github_url}", token_env: GITHUB_TOKEN, timeout: 10s, retries: 2}}
services:{services}
rotations:{rotation_blocks}
"""


class CiRuns:
    """The fake GitHub, with workflow runs that go in progress when first polled and stay there until
    `finish()`; then each completes successfully at its next poll."""

    def __init__(self, github: Any) -> None:
        self.github = github
        self.finishing = False
        answer_run = github._get_workflow_run

        def run_stays_in_progress(values: dict[str, str], query: dict[str, str], body: Any) -> Any:
            run = github.runs.get(int(values["run_id"]))
            if run is not None and run["status"] == "queued":
                github.advance_run(run["id"], "in_progress")
            elif run is not None and run["status"] == "in_progress" and self.finishing:
                github.advance_run(run["id"], "completed", "success")
            return answer_run(values, query, body)

        github._get_workflow_run = run_stays_in_progress
        github.requests = _Forgetful()  # a long run would otherwise keep every request it ever got
        github.contract = self.contract = SampledContract(github.contract)

    def finish(self) -> None:
        self.finishing = True

    @property
    def dispatched(self) -> int:
        return len(self.github.dispatches)

    def polls(self) -> int:
        return int(self.github.requests.seen)


class SampledContract:
    """The GitHub contract, checking the first `FULLY` requests and answers of each operation and then one
    in `EVERY`: validating every poll of a thousand runs with jsonschema would cost the benchmark's own
    process more CPU than Switchman uses, on the same two cores."""

    FULLY, EVERY = 50, 10

    def __init__(self, contract: Any) -> None:
        self.contract = contract
        self.seen: Counter[tuple[str, str]] = Counter()
        self.checked = 0

    def match(self, method: str, path: str) -> Any:
        return self.contract.match(method, path)

    def _due(self, kind: str, method: str, path: str) -> bool:
        found = self.contract.match(method, path)
        key = (kind, found.operation.operation_id if found else f"{method} {path}")
        self.seen[key] += 1
        due = found is None or self.seen[key] <= self.FULLY or self.seen[key] % self.EVERY == 0
        self.checked += due
        return due

    def check_request(self, method: str, path: str, *rest: Any) -> list[str]:
        return list(self.contract.check_request(method, path, *rest)) if self._due("request", method, path) else []

    def check_response(self, method: str, path: str, *rest: Any) -> list[str]:
        return list(self.contract.check_response(method, path, *rest)) if self._due("response", method, path) else []


class _Forgetful(list[Any]):
    """Stands in for the fake's request log: counts requests, keeps none."""

    seen = 0

    def append(self, _: Any) -> None:
        self.seen += 1


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime (fields 14 and 15 of stat)


def memory_mb(pid: int, key: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {key} in /proc/{pid}/status")


async def scrape(url: str) -> dict[str, float]:
    async with aiohttp.ClientSession() as session, session.get(f"{url}/metrics") as resp:
        text = await resp.text()
    values: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            with contextlib.suppress(ValueError):
                values[name] = float(value)
    return values


def released_services(database: Path) -> set[str]:
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30)) as conn:
        return {service for (service,) in conn.execute("SELECT DISTINCT service FROM releases").fetchall()}


async def settled(database: Path) -> None:
    """Until the number of releases stops growing for a second: the lane has taken what it will take."""
    seen = -1
    while True:
        count = sum(release_states(database).values())
        if count == seen:
            return
        seen = count
        await asyncio.sleep(1.0)


def release_states(database: Path) -> Counter[str]:
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30)) as conn:
        return Counter({state: count for state, count in
                        conn.execute("SELECT state, count(*) FROM releases GROUP BY state").fetchall()})


async def keep_reading(process: asyncio.subprocess.Process, log: list[str]) -> None:
    assert process.stderr is not None
    async for raw in process.stderr:
        log.append(raw.decode(errors="replace").rstrip())


def late_jobs_in(log: list[str]) -> Counter[str]:
    """The kinds of timed job the process said started more than a second late."""
    late: Counter[str] = Counter()
    for line in log:
        entry = json.loads(line) if line.startswith("{") else {}
        if entry.get("event") == "scheduled job started late":
            late[str(entry.get("job_name"))] += 1
    return late


def errors_in(log: list[str]) -> list[str]:
    """Each error the process logged, as its event, task and the last line of its traceback."""
    found = []
    for line in log:
        entry = json.loads(line) if line.startswith("{") else {}
        if entry.get("level") in ("error", "critical"):
            cause = str(entry.get("traceback") or "").strip().splitlines()[-1:] or [""]
            found.append(f"{entry.get('event')} ({entry.get('task') or entry.get('logger')}): {cause[0]}")
    return found


def told_busy(ack_body: str) -> bool:
    """Whether a slash command's ack is the interaction lane's busy answer (so nothing was started)."""
    from bot.slack.responder import BUSY

    if not ack_body.startswith("{"):
        return False
    return bool(json.loads(ack_body).get("text") == BUSY)


async def measure(args: argparse.Namespace, work: Path) -> Result:
    from bot.config.loader import load_config
    from bot.slack_sim.interactions import SlackSide
    from bot.slack_sim.seed import seed_workspace
    from bot.slack_sim.web_api import SlackWebApi
    from bot.slack_sim.workspace import Workspace
    from bot.storage.migrate import upgrade
    from tests.contracts.github_contract import GitHubContract
    from tests.fakes.github_server import FakeGitHub
    from tests.support.serve_process import serve_env, start_serve

    github = await FakeGitHub(GitHubContract.load(), clock=lambda: datetime.now(UTC), token=GITHUB_TOKEN).start()
    github.add_ref(REF)
    ci = CiRuns(github)
    config_path = work / "switchman.yml"
    config_path.write_text(config_text(github.url, args.releases, args.rotations))
    config = load_config(config_path)
    workspace = Workspace()
    seed_workspace(workspace, config)
    api = SlackWebApi(workspace, token=BOT_TOKEN)
    slack_url = await api.start()
    env = serve_env(work, slack_url, bot_token=BOT_TOKEN, config=config_path, SLACK_SIGNING_SECRET=SIGNING_SECRET,
                    GITHUB_TOKEN=GITHUB_TOKEN)
    database = work / "serve.db"
    await asyncio.to_thread(upgrade, env["SWITCHMAN_DATABASE_URL"])
    log: list[str] = []
    process: asyncio.subprocess.Process | None = None
    reader: asyncio.Task[None] | None = None
    try:
        began = time.perf_counter()
        process, port, log = await start_serve(work, env)
        ready_s = time.perf_counter() - began
        reader = asyncio.create_task(keep_reading(process, log))
        rss_ready = memory_mb(process.pid, "VmRSS")
        url = f"http://127.0.0.1:{port}"
        pid = process.pid
        windows: list[Window] = []

        async def window(name: str, seconds: float) -> None:
            before = await scrape(url)
            before_cpu, started = cpu_seconds(pid), time.perf_counter()
            await asyncio.sleep(seconds)  # the measured window: the process runs on its own meanwhile
            after_cpu, took = cpu_seconds(pid), time.perf_counter() - started
            after = await scrape(url)
            jobs = after.get("switchman_scheduled_job_lateness_seconds_count", 0) - before.get(
                "switchman_scheduled_job_lateness_seconds_count", 0)
            unfinished = args.releases - release_states(database).get("succeeded", 0) if name != "idle" else 0
            windows.append(Window(name, took, after_cpu - before_cpu, unfinished, int(jobs)))

        await window("idle", args.idle)

        side = SlackSide(api, f"{url}/slack/events", SIGNING_SECRET)
        acks: Counter[int] = Counter()
        gate = asyncio.Semaphore(SEND_AT_ONCE)
        resent = 0

        async def deploy(n: int) -> None:
            nonlocal resent
            async with gate:
                while True:
                    answer = await side.slash_command(DEPLOYER, "/deploy", f"svc-{n:04d} {REF} to staging",
                                                      channel=f"#svc-{n:04d}")
                    acks[answer.status] += 1
                    if not told_busy(answer.body):
                        return
                    resent += 1  # told "busy" in the ack (decision 0010): ask again after a pause, as a person would
                    await asyncio.sleep(BUSY_PAUSE_S)

        started, cpu_before = time.perf_counter(), cpu_seconds(pid)
        await asyncio.gather(*(deploy(n) for n in range(args.releases)))
        # A command whose lane filled up while it was acked is told "busy" by response_url and created nothing
        # (decision 0009); like a person, the benchmark asks again once the lane has drained.
        for _ in range(RESEND_ROUNDS):
            await settled(database)
            missing = [n for n in range(args.releases) if f"svc-{n:04d}" not in released_services(database)]
            if not missing:
                break
            resent += len(missing)
            await asyncio.gather(*(deploy(n) for n in missing))
        print(f"  {resent} /deploy command(s) asked again after the interaction lane answered busy", flush=True)
        deadline = time.monotonic() + max(120.0, args.releases * 0.3)
        while ci.dispatched < args.releases:
            if time.monotonic() > deadline or process.returncode is not None:
                raise RuntimeError(f"only {ci.dispatched} of {args.releases} releases dispatched their run; "
                                   f"release states: {dict(release_states(database))}")
            await asyncio.sleep(0.2)  # poll the fake's count of dispatches
        dispatch_s = time.perf_counter() - started
        windows.append(Window("starting", dispatch_s, cpu_seconds(pid) - cpu_before, args.releases, 0))

        await window("busy", args.busy)

        ci.finish()
        started = time.perf_counter()
        finish_s: float | None = None
        deadline = time.monotonic() + FINISH_WAIT_S
        while time.monotonic() < deadline and process.returncode is None:
            if release_states(database).get("succeeded", 0) >= args.releases:
                finish_s = time.perf_counter() - started
                break
            await asyncio.sleep(0.5)  # re-read the database twice a second
        metrics = await scrape(url)
        peak, rss = memory_mb(pid, "VmHWM"), memory_mb(pid, "VmRSS")
        succeeded = release_states(database).get("succeeded", 0)
    finally:
        if process is not None and process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), timeout=30)
            except TimeoutError:
                process.kill()
                await process.wait()
        if reader is not None:
            await asyncio.gather(reader, return_exceptions=True)
        (work / "serve.log").write_text("\n".join(log))
        await api.stop()
        await github.stop()
    errors = errors_in(log)
    if github.violations:
        raise RuntimeError(f"Switchman sent requests the GitHub contract rejects: {github.violations[:3]}")
    return Result(
        releases=args.releases, rotations=args.rotations, ready_s=ready_s, windows=windows, dispatch_s=dispatch_s,
        finish_s=finish_s, succeeded=succeeded, peak_rss_mb=peak, rss_ready_mb=rss_ready, rss_after_mb=rss,
        lateness_max_s=metrics.get("switchman_scheduled_job_lateness_max_seconds", float("nan")),
        lateness_count=int(metrics.get("switchman_scheduled_job_lateness_seconds_count", 0)),
        jobs_waiting=int(metrics.get("switchman_scheduled_jobs", 0)), errors_logged=len(errors), acks=acks,
        late_jobs=late_jobs_in(log),
        github_requests=ci.polls(), github_checked=ci.contract.checked, resent=resent,
        notes=[f"{n} × {e[:300]}" for e, n in Counter(errors).most_common(5)])


def main(argv: Sequence[str] | None = None, *, shown: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = datetime.now().astimezone()
    with tempfile.TemporaryDirectory(prefix="switchman-bench-scale-") as tmp:
        result = asyncio.run(measure(args, Path(tmp)))
    shown_argv = list(shown if shown is not None else ["--only", "scale", *(argv or [])])
    command = shlex.join([".venv/bin/python", "-m", "bench", *shown_argv])
    section = render(command, started, machine.base_facts(), result)
    publish(section, args.output, SECTION_TITLE, no_write=args.no_write)
    busy = next(w for w in result.windows if w.name == "busy")
    print(f"  peak RSS {result.peak_rss_mb:.0f} MB, busy {busy.cpu_per_minute:.1f} CPU s/min, "
          f"largest lateness {result.lateness_max_s:.3f} s", file=sys.stderr)
    return 0
