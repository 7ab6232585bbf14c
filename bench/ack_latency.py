"""Slack ack latency (§11): Switchman against three reference servers, driven by wrk.

    .venv/bin/python -m bench [--duration S] [--warmup S] [--quick] [--pin] [--output PATH]
                              [--no-write] [--strict]

Starts, each as its own process on a free 127.0.0.1 port: the fake Slack Web API, a raw
aiohttp handler, a bare async Bolt app with its default runner, the same app with
`process_before_response=True` (see bench.reference_apps) and `switchman serve` on the example
config (production's gates cut down, see `bench_config`). Before any load it checks that every
server acks the signed `/deploy help` with 200 and Switchman's reply and refuses a bad signature,
that every server acks every other kind of request, and that Switchman logs no error; it also
requests a production release and waits until it waits for approval, for the Approve clicks.
Then for each kind of request (bench.slack_requests) and server it runs wrk at 1 connection
(`-t1 -c1`) and at 50 (`-t2 -c50`), each after a warm-up, and stops on any non-2xx answer or
socket error. After each Switchman run it records the background work left (its
`switchman_background_tasks` gauge) and the interaction lane's counts (its metrics), and restarts
Switchman if that work does not finish soon, so runs do not inherit each other's work.
The results and the §11 verdicts go to the "Slack ack latency" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import sqlite3
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import yaml

from bench import machine, report
from bench.report import Background, Measurement, RunReport, ServerSpec
from bench.servers import ROOT, Server, ServerFailed, clean_env, python_module, start, switchman_executable
from bench.slack_requests import (
    BOT_TOKEN,
    CLICK_ACTION_ID,
    EVENTS_PATH,
    SIGNING_SECRET,
    WEBHOOK_SECRET,
    SignedRequest,
    build,
    command_body,
    command_reply,
    send,
    sign,
)
from bench.wrk import WrkError, command_line, ensure_wrk, wrk_version
from bench.wrk import run as run_wrk
from bot.settings import EXAMPLE_CONFIG

SERVERS = (
    ServerSpec("raw", "raw aiohttp, signature check only", 0.15),
    ServerSpec("bolt-default", "bare Bolt, default runner", 10.6),
    ServerSpec("bolt-inline", "bare Bolt, `process_before_response=True`", 0.29),
    ServerSpec("switchman", "Switchman (`switchman serve`)", None),
)
LOADS = ((1, 1), (2, 50))  # (wrk threads, connections)
# The kinds of request, in the order they are measured (bench.slack_requests). `deploy` comes last: its
# releases keep the release engine busy after its runs. Every Slack kind is measured on all four servers;
# the Alertmanager webhook on the raw handler (which checks only its bearer token) and Switchman, since
# Bolt serves no webhooks.
KINDS = ("command", "oncall", "click", "approve", "alert", "deploy")
WEBHOOK_SERVERS = ("raw", "switchman")
# The production release the Approve clicks approve: requested by a member of its deployer group.
APPROVAL_REQUESTER = "U0ALICE"
APPROVAL_WAIT_S = 30.0
DEFAULT_OUTPUT = ROOT / "docs" / "benchmarks.md"
# Switchman's gauge of background tasks in flight (bot/web/metrics.py). After each run and warm-up the
# benchmark waits this long for it to reach 0; if it does not, Switchman is restarted before the next
# (measured) run, so no run inherits the work of another.
BACKLOG_METRIC = "switchman_background_tasks"
DRAIN_TIMEOUT_S = 3.0
# A restart exists to drop the backlog a run left, so the benchmark does not give `switchman serve` its
# 10 s shutdown grace (bot/runtime.py) to finish that backlog: SIGTERM, then SIGKILL after this long. It
# took 87 s of the benchmark's 287 s with the full grace.
STOP_WITHIN_S = 2.0


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description="Slack ack latency benchmark (§11).")
    # 2 s: 44 wrk runs (6 kinds of request, 4 servers, 2 loads) then take about 2 min 15 s plus the servers' drains and
    # restarts, about 4 to 5 minutes in all: room for the rest of `make bench` within 10 minutes on 2 cores.
    parser.add_argument("--duration", type=int, default=2, metavar="S", help="seconds per wrk run (default 2)")
    parser.add_argument("--warmup", type=int, default=1, metavar="S", help="seconds of warm-up before each run "
                                                                         "(default 1)")
    parser.add_argument("--quick", action="store_true", help="1 s runs and 1 s warm-ups (a smoke run)")
    parser.add_argument("--one-connection", action="store_true",
                        help="measure at 1 connection only (half the runs; the test suite's smoke run): no p99 "
                             "verdicts")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT,
                        help="markdown file whose 'Slack ack latency' section is rewritten "
                             "(default docs/benchmarks.md)")
    parser.add_argument("--no-write", action="store_true", help="print the section instead of writing it")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a §11 bar is missed")
    parser.add_argument("--pin", action="store_true",
                        help="run each server on the last CPU and wrk (and the fake Slack) on the others, so load "
                             "generator and server never share a core (§11's figures are unpinned)")
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.warmup = 1, 1
    if args.duration < 1 or args.warmup < 1:
        parser.error("--duration and --warmup are whole seconds, at least 1")
    args.loads = LOADS[:1] if args.one_connection else LOADS
    args.server_cpus = args.load_cpus = None
    if args.pin:
        cpus = sorted(os.sched_getaffinity(0))
        if len(cpus) < 2:
            parser.error("--pin needs at least two CPUs")
        args.server_cpus, args.load_cpus = frozenset(cpus[-1:]), frozenset(cpus[:-1])
    return args


def main(argv: Sequence[str] | None = None, *, shown: Sequence[str] | None = None) -> int:
    """Runs the benchmark; `shown` is the command line to print in the report (default: `argv`)."""
    args = parse_args(argv)
    shown_argv = list(shown if shown is not None else sys.argv[1:] if argv is None else argv)
    wrk = ensure_wrk()
    started = datetime.now().astimezone()
    busy_before = _busy("before the benchmark started")
    try:
        measurements, kinds, click_note = _measure(wrk, args)
    except (ServerFailed, WrkError) as error:
        print(f"\nbenchmark failed: {error}", file=sys.stderr)
        return 2
    busy_after = _busy("after the benchmark (its servers stopped)")
    verdicts = report.verdicts(measurements, kinds, click_note)
    run_report = RunReport(
        command=shlex.join([".venv/bin/python", "-m", "bench", *shown_argv]),
        started=started,
        machine=machine.machine_facts(wrk_version(wrk), busy_before, busy_after),
        duration_s=args.duration,
        warmup_s=args.warmup,
        wrk_commands=[shlex.join(command_line("http://127.0.0.1:PORT/slack/events", threads=t, connections=c,
                                              duration_s=args.duration)) for t, c in args.loads],
        placement=(f"pinned (`--pin`): servers on CPU {_cpu_list(args.server_cpus)}, wrk and the fake Slack on "
                   f"CPU {_cpu_list(args.load_cpus)}" if args.pin
                   else "not pinned: servers, wrk and the fake Slack share all cores, as in §11's figures"),
        measurements=measurements,
        click_note=click_note,
        verdicts=verdicts,
    )
    section = report.render(run_report)
    if args.no_write:
        print("\n" + section)
    else:
        report.write_section(args.output, section)
        print(f"\nwrote the '{report.SECTION_TITLE}' section of {args.output}")
    for v in verdicts:
        state = "n/a " if v.passed is None else ("pass" if v.passed else "FAIL")
        print(f"  [{state}] {v.bar}: {v.measured}")
    missed = any(v.passed is False for v in verdicts)
    return 1 if missed and args.strict else 0


def _cpu_list(cpus: frozenset[int] | None) -> str:
    return ",".join(str(c) for c in sorted(cpus or ()))


def _busy(when: str) -> float | None:
    """How busy the CPU was over one second with none of our load running; warns when it was."""
    busy = machine.cpu_busy()
    if busy is not None and busy > machine.BUSY_WARNING:
        print(f"warning: the CPU was {busy:.0%} busy {when} (another process?); "
              f"the numbers are noisier than on an idle machine", file=sys.stderr, flush=True)
    return busy


def servers_for(kind: str) -> list[ServerSpec]:
    return [spec for spec in SERVERS if kind != "alert" or spec.key in WEBHOOK_SERVERS]


def bench_config(work: Path) -> Path:
    """The example config, with production's gates cut to ci_green, not_locked and an approval by 10 of @sre.

    Staging, which `/deploy api to staging` releases to, is the example's as it is. Production keeps its
    approval gate with the largest count allowed, so the release the Approve clicks approve stays waiting
    however many of the benchmark's approvers vote; the gates that would stop it before it waits (promoted
    from staging, the freeze window, someone on call) are left out.
    """
    config = yaml.safe_load(EXAMPLE_CONFIG.read_text())
    config["services"]["api"]["environments"]["production"]["gates"] = [
        "ci_green", "not_locked", {"approval": {"count": 10, "group": "@sre"}}]
    path = work / "switchman.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def _measure(wrk: str, args: argparse.Namespace) -> tuple[list[Measurement], list[str], str | None]:
    with tempfile.TemporaryDirectory(prefix="switchman-bench-") as tmp, contextlib.ExitStack() as stack:
        work = Path(tmp)
        config = bench_config(work)
        print("starting the fake Slack Web API and four servers …", flush=True)
        fake = start("fake-slack", "fake Slack Web API",
                     python_module("bench.reference_apps", "fake-slack", "--config", str(config)),
                     env=clean_env({}), log_dir=work, cpus=args.load_cpus)
        stack.callback(fake.stop)
        fleet = Fleet(work, str(fake.info["base_url"]), stack, args.server_cpus, config)
        response_url = str(fake.info["response_url"])
        for spec in SERVERS:
            fleet.start(spec)
        for spec in SERVERS:
            _check_command(spec, fleet.servers[spec.key], response_url)
        click_note = _probe_clicks(fleet.switchman, response_url)
        if click_note:
            raise ServerFailed(click_note)
        fleet.release_id = _release_waiting_for_approval(fleet.switchman, response_url, work)
        kinds = list(KINDS)
        for kind in kinds[1:]:
            for spec in servers_for(kind):
                _check_acked(spec, fleet.servers[spec.key], kind, response_url, fleet.release_id)
        _no_errors_logged(fleet.switchman, "answering the first requests")
        runs = len(args.loads) * sum(len(servers_for(kind)) for kind in kinds)
        print(f"{runs} wrk runs of {args.duration} s (+{args.warmup} s warm-up each), "
              f"about {runs * (args.duration + args.warmup)} s", flush=True)
        measurements: list[Measurement] = []
        for kind in kinds:
            for spec in servers_for(kind):
                for threads, connections in args.loads:
                    measurements.append(_one_run(wrk, spec, fleet, kind, threads, connections, response_url,
                                                 args, work))
        for spec in SERVERS:
            server = fleet.servers[spec.key]
            if server.process.poll() is not None:
                raise ServerFailed(f"{spec.label} exited during the benchmark; its log ends:\n{server.log_tail()}")
        return measurements, kinds, None


def _release_waiting_for_approval(switchman: Server, response_url: str, work: Path) -> int:
    """Request `api` to production and wait until the release waits for approval; its id."""
    stamp = int(time.time())
    body = command_body(response_url, text="api to production", user=APPROVAL_REQUESTER, trigger=f"approval{stamp}")
    request = SignedRequest("deploy", body, "application/x-www-form-urlencoded", stamp,
                            sign(SIGNING_SECRET, body, stamp))
    answer = send(switchman.root_url + EVENTS_PATH, request)
    if answer.status != 200:
        raise ServerFailed(f"Switchman answered /deploy api to production with HTTP {answer.status}: "
                           f"{answer.body[:300]!r}")
    deadline = time.monotonic() + APPROVAL_WAIT_S
    state = None
    while time.monotonic() < deadline:
        with contextlib.closing(sqlite3.connect(work / "switchman.db", timeout=5)) as db:
            row = db.execute("SELECT id, state FROM releases WHERE environment = 'production' "
                             "ORDER BY id DESC LIMIT 1").fetchone()
        if row is not None:
            state = row[1]
            if state == "awaiting_approval":
                return int(row[0])
        time.sleep(0.2)
    raise ServerFailed(f"the production release did not come to wait for approval within {APPROVAL_WAIT_S:.0f} s "
                       f"(last state: {state}); Switchman's log ends:\n{switchman.log_tail()}")


class Fleet:
    """The running servers by key; Switchman can be restarted when its background work will not drain."""

    def __init__(self, work: Path, api_url: str, stack: contextlib.ExitStack,
                 cpus: frozenset[int] | None, config: Path) -> None:
        self.work = work
        self.api_url = api_url
        self.stack = stack
        self.cpus = cpus
        self.config = config
        self.release_id: int | None = None  # the release waiting for approval that `approve` clicks approve
        self.servers: dict[str, Server] = {}
        self.unfinished: set[str] = set()  # servers left with background work from an earlier run

    @property
    def switchman(self) -> Server:
        return self.servers["switchman"]

    def start(self, spec: ServerSpec) -> Server:
        server = _start_server(spec, self.api_url, self.work, self.cpus, self.config)
        self.stack.callback(server.stop, timeout=STOP_WITHIN_S)
        self.servers[spec.key] = server
        return server

    def restart(self, spec: ServerSpec) -> Server:
        self.unfinished.discard(spec.key)
        self.servers[spec.key].stop(timeout=STOP_WITHIN_S)
        return self.start(spec)

    def ready(self, spec: ServerSpec) -> Server:
        """The server, restarted first if an earlier run left it work (which stopping cancels)."""
        return self.restart(spec) if spec.key in self.unfinished else self.servers[spec.key]


def _start_server(spec: ServerSpec, api_url: str, work: Path, cpus: frozenset[int] | None, config: Path) -> Server:
    if spec.key == "switchman":
        env = clean_env({
            "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SWITCHMAN_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "SWITCHMAN_SLACK_API_URL": api_url, "SWITCHMAN_CONFIG": str(config),
            "SWITCHMAN_DATABASE_URL": f"sqlite:///{work / 'switchman.db'}",
        })
        argv = [str(switchman_executable()), "serve", "--host", "127.0.0.1", "--port", "0"]
        return start(spec.key, spec.label, argv, env=env, log_dir=work, cwd=work, cpus=cpus)
    argv = python_module("bench.reference_apps", spec.key, "--slack-api-url", api_url)
    return start(spec.key, spec.label, argv, env=clean_env({}), log_dir=work, cpus=cpus)


def _check_command(spec: ServerSpec, server: Server, response_url: str) -> None:
    """The server must ack the signed command with 200 and Switchman's reply, and refuse a bad signature."""
    url = server.root_url + EVENTS_PATH
    request = build("command", response_url=response_url)
    answer = send(url, request)
    if answer.status != 200:
        raise ServerFailed(f"{spec.label} answered the signed /deploy help with HTTP {answer.status}: "
                           f"{answer.body[:300]!r}\n{server.log_tail()}")
    try:
        body = json.loads(answer.body)
    except json.JSONDecodeError as error:
        raise ServerFailed(f"{spec.label} answered /deploy help with a non-JSON body: {answer.body[:300]!r}") from error
    if body != command_reply():
        raise ServerFailed(f"{spec.label} answered /deploy help with a different reply than Switchman's: "
                           f"{answer.body[:300]!r}")
    forged = SignedRequest(request.kind, request.body, request.content_type, request.timestamp, "v0=" + "0" * 64)
    if send(url, forged).status != 401:
        raise ServerFailed(f"{spec.label} did not refuse a bad signature with 401, so it does not check signatures")


def _probe_clicks(switchman: Server, response_url: str) -> str | None:
    """None when Switchman acks a click on CLICK_ACTION_ID; otherwise why clicks cannot be measured."""
    answer = send(switchman.root_url + EVENTS_PATH, build("click", response_url=response_url))
    if answer.status == 200:
        return None
    if answer.status == 404:
        return (f"Switchman has no listener for button action_id `{CLICK_ACTION_ID}` yet (Bolt answers the "
                f"signed click 404, unhandled request), so there is no click ack to measure.")
    raise ServerFailed(f"Switchman answered a signed click with HTTP {answer.status}: {answer.body[:300]!r}")


def _no_errors_logged(switchman: Server, during: str) -> None:
    """Numbers from an error path (a listener failing, a background task crashing) would not measure acks."""
    time.sleep(0.5)  # let background work that the last requests started finish and log
    errors = switchman.logged()
    if errors:
        first = errors[0]
        raise ServerFailed(f"Switchman logged {len(errors)} error(s) during {during}, so the benchmark would measure "
                           f"an error path; the first: {first.get('event')!r} "
                           f"{first.get('traceback', '').splitlines()[-1:]}\n{switchman.log_tail(5)}")


def _check_acked(spec: ServerSpec, server: Server, kind: str, response_url: str, release_id: int | None) -> None:
    request = build(kind, response_url=response_url, release_id=release_id)
    answer = send(server.root_url + request.path, request)
    if answer.status != 200:
        raise ServerFailed(f"{spec.label} answered the signed {kind} request with HTTP {answer.status}: "
                           f"{answer.body[:300]!r}")


def _one_run(wrk: str, spec: ServerSpec, fleet: Fleet, kind: str, threads: int, connections: int,
             response_url: str, args: argparse.Namespace, work: Path) -> Measurement:
    # Signed just before each run (Bolt refuses timestamps more than five minutes old), and built anew for the
    # measured run, so its requests are new invocations, not retries of the warm-up's.
    warmup = build(kind, response_url=response_url, release_id=fleet.release_id)
    server = fleet.ready(spec)
    run_wrk(wrk, server.root_url + warmup.path, warmup, threads=threads, connections=connections,
            duration_s=args.warmup, work_dir=work, cpus=args.load_cpus)
    if spec.key == "switchman" and _drain(server) is None:
        server = fleet.restart(spec)  # start the measured run without the warm-up's backlog
    request = build(kind, response_url=response_url, release_id=fleet.release_id)
    url = server.root_url + request.path
    errors_before = len(server.logged())
    lane_before = _lane_counts(server) if spec.key == "switchman" else None
    began = time.monotonic()
    cpu_before = server.cpu_seconds()
    result = run_wrk(wrk, url, request, threads=threads, connections=connections, duration_s=args.duration,
                     work_dir=work, cpus=args.load_cpus)
    cpu_after = server.cpu_seconds()
    cpu_us = (None if cpu_before is None or cpu_after is None or not result.requests
              else (cpu_after - cpu_before) / result.requests * 1e6)
    background = None
    if spec.key == "switchman":
        pending = server.metric(BACKLOG_METRIC)
        drained_in = _drain(server)
        lane_after = _lane_counts(server)
        lane = (None if lane_after is None or lane_before is None
                else {k: v - lane_before.get(k, 0) for k, v in lane_after.items()})
        background = Background(None if pending is None else int(pending), drained_in,
                                len(server.logged()) - errors_before, lane)
        if drained_in is None:
            fleet.unfinished.add(spec.key)  # the next run restarts it, so it does not inherit this work
    print(f"  {spec.key:<13} {kind:<7} c={connections:<3} p50 {result.p50_ms:8.3f} ms  p90 {result.p90_ms:8.3f} ms  "
          f"p99 {result.p99_ms:8.3f} ms  {result.requests_per_s:9.0f} req/s  "
          f"cpu/req {'?' if cpu_us is None else f'{cpu_us:.0f} us'}  ({time.monotonic() - began:.0f} s)"
          + (f"\n{'':16}background: {background.describe()}" if background else ""), flush=True)
    return Measurement(spec, kind, result, cpu_us, background)


# The interaction lane's counters on Switchman's /metrics page (bot/web/metrics.py), by the names the report uses.
LANE_METRICS = {"started": "switchman_interaction_lane_started_total",
                "merged": "switchman_interaction_lane_merged_total",
                "refused": "switchman_interaction_lane_refused_total",
                "unanswered": "switchman_interaction_lane_refused_unanswered_total"}


def _lane_counts(server: Server) -> dict[str, int] | None:
    """The interaction lane's counts since Switchman started, from its metrics (None when unreadable)."""
    counts = {}
    for name, metric in LANE_METRICS.items():
        value = server.metric(metric)
        if value is None:
            return None
        counts[name] = int(value)
    return counts


def _drain(server: Server, timeout: float = DRAIN_TIMEOUT_S) -> float | None:
    """Seconds until Switchman's background tasks reach 0, or None if they do not within `timeout`."""
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        pending = server.metric(BACKLOG_METRIC)
        if pending is None or pending == 0:
            return time.monotonic() - began
        time.sleep(0.2)
    return None
