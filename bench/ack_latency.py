"""Slack ack latency (§11): Switchman against three reference servers, driven by wrk.

    .venv/bin/python -m bench [--duration S] [--warmup S] [--quick] [--pin] [--output PATH]
                              [--no-write] [--strict]

Starts, each as its own process on a free 127.0.0.1 port: the fake Slack Web API, a raw
aiohttp handler, a bare async Bolt app with its default runner, the same app with
`process_before_response=True` (see bench.reference_apps) and `switchman serve`. Before any
load it checks that every server acks the signed `/deploy help` with 200 and Switchman's reply
and refuses a bad signature, and that Switchman logs no error. Then for each server it runs wrk
at 1 connection (`-t1 -c1`) and at 50 (`-t2 -c50`), each after a warm-up, and stops on any
non-2xx answer or socket error. Button clicks are measured the same way once Switchman has a
listener for the clicked action id; until then they are reported as skipped. After each
Switchman run it records the background work left (its `switchman_background_tasks` gauge) and
restarts Switchman if that work does not finish soon, so runs do not inherit each other's work.
The results and the §11 verdicts go to the "Slack ack latency" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from bench import machine, report
from bench.report import Background, Measurement, RunReport, ServerSpec
from bench.servers import ROOT, Server, ServerFailed, clean_env, python_module, start, switchman_executable
from bench.slack_requests import (
    BOT_TOKEN,
    CLICK_ACTION_ID,
    EVENTS_PATH,
    SIGNING_SECRET,
    SignedRequest,
    build,
    command_reply,
    send,
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
# Clicks and `/oncall` are measured on the two servers the §11 verdicts compare. The raw server answers
# any signed body alike, and Bolt's default runner acks clicks through the same 10 ms poll as
# commands, so the command runs already show both; leaving them out keeps a run near three minutes.
CLICK_SERVERS = ("bolt-inline", "switchman")
DEFAULT_OUTPUT = ROOT / "docs" / "benchmarks.md"
# Switchman's gauge of background tasks in flight (bot/web/metrics.py). After each run and warm-up the
# benchmark waits this long for it to reach 0; if it does not, Switchman is restarted before the next
# (measured) run, so no run inherits the work of another.
BACKLOG_METRIC = "switchman_background_tasks"
DRAIN_TIMEOUT_S = 3.0


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description="Slack ack latency benchmark (§11).")
    # 5 s: 16 wrk runs then take about 100 s, which keeps all of `make bench` under 10 minutes on 2 cores.
    parser.add_argument("--duration", type=int, default=5, metavar="S", help="seconds per wrk run (default 5)")
    parser.add_argument("--warmup", type=int, default=1, metavar="S", help="seconds of warm-up before each run "
                                                                         "(default 1)")
    parser.add_argument("--quick", action="store_true", help="1 s runs and 1 s warm-ups (a smoke run)")
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
                                              duration_s=args.duration)) for t, c in LOADS],
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


def _measure(wrk: str, args: argparse.Namespace) -> tuple[list[Measurement], list[str], str | None]:
    with tempfile.TemporaryDirectory(prefix="switchman-bench-") as tmp, contextlib.ExitStack() as stack:
        work = Path(tmp)
        print("starting the fake Slack Web API and four servers …", flush=True)
        fake = start("fake-slack", "fake Slack Web API", python_module("bench.reference_apps", "fake-slack"),
                     env=clean_env({}), log_dir=work, cpus=args.load_cpus)
        stack.callback(fake.stop)
        fleet = Fleet(work, str(fake.info["base_url"]), stack, args.server_cpus)
        response_url = str(fake.info["response_url"])
        for spec in SERVERS:
            fleet.start(spec)
        for spec in SERVERS:
            _check_command(spec, fleet.servers[spec.key], response_url)
        click_note = _probe_clicks(fleet.switchman, response_url)
        kinds = ["command", "oncall"] if click_note else ["command", "oncall", "click"]
        for spec in SERVERS:
            if spec.key in CLICK_SERVERS:
                for kind in kinds[1:]:
                    _check_acked(spec, fleet.servers[spec.key], kind, response_url)
        else:
            print(f"clicks skipped: {click_note}", flush=True)
        _no_errors_logged(fleet.switchman, "answering the first requests")
        runs = len(LOADS) * sum(len(SERVERS) if kind == "command" else len(CLICK_SERVERS) for kind in kinds)
        print(f"{runs} wrk runs of {args.duration} s (+{args.warmup} s warm-up each), "
              f"about {runs * (args.duration + args.warmup)} s", flush=True)
        measurements: list[Measurement] = []
        for kind in kinds:
            for spec in SERVERS:
                if kind != "command" and spec.key not in CLICK_SERVERS:
                    continue
                for threads, connections in LOADS:
                    measurements.append(_one_run(wrk, spec, fleet, kind, threads, connections, response_url,
                                                 args, work))
        for spec in SERVERS:
            server = fleet.servers[spec.key]
            if server.process.poll() is not None:
                raise ServerFailed(f"{spec.label} exited during the benchmark; its log ends:\n{server.log_tail()}")
        return measurements, kinds, click_note


class Fleet:
    """The running servers by key; Switchman can be restarted when its background work will not drain."""

    def __init__(self, work: Path, api_url: str, stack: contextlib.ExitStack,
                 cpus: frozenset[int] | None) -> None:
        self.work = work
        self.api_url = api_url
        self.stack = stack
        self.cpus = cpus
        self.servers: dict[str, Server] = {}
        self.unfinished: set[str] = set()  # servers left with background work from an earlier run

    @property
    def switchman(self) -> Server:
        return self.servers["switchman"]

    def start(self, spec: ServerSpec) -> Server:
        server = _start_server(spec, self.api_url, self.work, self.cpus)
        self.stack.callback(server.stop)
        self.servers[spec.key] = server
        return server

    def restart(self, spec: ServerSpec) -> Server:
        self.unfinished.discard(spec.key)
        self.servers[spec.key].stop()
        return self.start(spec)

    def ready(self, spec: ServerSpec) -> Server:
        """The server, restarted first if an earlier run left it work (which stopping cancels)."""
        return self.restart(spec) if spec.key in self.unfinished else self.servers[spec.key]


def _start_server(spec: ServerSpec, api_url: str, work: Path, cpus: frozenset[int] | None) -> Server:
    if spec.key == "switchman":
        env = clean_env({
            "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SWITCHMAN_SLACK_API_URL": api_url, "SWITCHMAN_CONFIG": str(EXAMPLE_CONFIG),
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


def _check_acked(spec: ServerSpec, server: Server, kind: str, response_url: str) -> None:
    answer = send(server.root_url + EVENTS_PATH, build(kind, response_url=response_url))
    if answer.status != 200:
        raise ServerFailed(f"{spec.label} answered the signed {kind} request with HTTP {answer.status}: "
                           f"{answer.body[:300]!r}")


def _one_run(wrk: str, spec: ServerSpec, fleet: Fleet, kind: str, threads: int, connections: int,
             response_url: str, args: argparse.Namespace, work: Path) -> Measurement:
    # Signed just before each run: Bolt refuses timestamps more than five minutes old.
    request = build(kind, response_url=response_url)
    server = fleet.ready(spec)
    run_wrk(wrk, server.root_url + EVENTS_PATH, request, threads=threads, connections=connections,
            duration_s=args.warmup, work_dir=work, cpus=args.load_cpus)
    if spec.key == "switchman" and _drain(server) is None:
        server = fleet.restart(spec)  # start the measured run without the warm-up's backlog
    url = server.root_url + EVENTS_PATH
    errors_before = len(server.logged())
    lane_before = _lane_counts(server)
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
        lane = (None if lane_after is None or lane_after == lane_before
                else {k: v - (lane_before or {}).get(k, 0) for k, v in lane_after.items()})
        background = Background(None if pending is None else int(pending), drained_in,
                                len(server.logged()) - errors_before, lane)
        if drained_in is None:
            fleet.unfinished.add(spec.key)  # the next run restarts it, so it does not inherit this work
    print(f"  {spec.key:<13} {kind:<7} c={connections:<3} p50 {result.p50_ms:8.3f} ms  p90 {result.p90_ms:8.3f} ms  "
          f"p99 {result.p99_ms:8.3f} ms  {result.requests_per_s:9.0f} req/s  "
          f"cpu/req {'?' if cpu_us is None else f'{cpu_us:.0f} us'}  ({time.monotonic() - began:.0f} s)"
          + (f"\n{'':16}background: {background.describe()}" if background else ""), flush=True)
    return Measurement(spec, kind, result, cpu_us, background)


LANE_COUNTS = ("started", "merged", "refused", "unanswered")


def _lane_counts(server: Server) -> dict[str, int] | None:
    """The interaction lane's counts (since Switchman started) from its last "idle after a burst" line."""
    bursts = [e for e in server.logged(("warning",)) if e.get("event") == "interaction lane idle after a burst"]
    if not bursts:
        return None
    return {name: int(bursts[-1].get(name, 0)) for name in LANE_COUNTS}


def _drain(server: Server, timeout: float = DRAIN_TIMEOUT_S) -> float | None:
    """Seconds until Switchman's background tasks reach 0, or None if they do not within `timeout`."""
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        pending = server.metric(BACKLOG_METRIC)
        if pending is None or pending == 0:
            return time.monotonic() - began
        time.sleep(0.2)
    return None
