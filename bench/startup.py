"""Start-up: time from `serve()` to ready with many rotations and in-flight releases to resume.

    .venv/bin/python -m bench --only startup [--rotations N] [--releases N] [--quick]
                                            [--output PATH] [--no-write]

Generates a config from the example: `--rotations` copies of its rotation (each its own weekly
handoff to plan) and `--releases` copies of its `api` service (so each can have a release in flight;
one per environment is the rule), all on the sandbox provider. A fresh SQLite database is migrated
and given one release per service in `requested`, as a crash would leave them. Then `bot.serve.serve`
runs in this process, exactly as `switchman serve` does (token check against the simulated Slack
Web API on loopback, migrations, context, job planning for every rotation, resuming every release,
the Bolt app, the HTTP site), and the benchmark times it until it says it is serving (its `ready`
event, set after the "serving" log line), then stops it with SIGTERM's path.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import os
import shlex
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import yaml

from bench import machine
from bench.report import publish
from bench.servers import ROOT

SECTION_TITLE = "Start-up with rotations and releases to resume"
DEFAULT_OUTPUT = ROOT / "docs" / "benchmarks.md"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench --only startup", description=__doc__.splitlines()[0])
    parser.add_argument("--rotations", type=int, default=1000, help="rotations in the config (default 1000)")
    parser.add_argument("--releases", type=int, default=100, help="in-flight releases to resume (default 100)")
    parser.add_argument("--quick", action="store_true", help="20 rotations, 5 releases (a smoke run)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--no-write", action="store_true", help="print the section instead of writing it")
    args = parser.parse_args(argv)
    if args.quick:
        args.rotations, args.releases = 20, 5
    if args.rotations < 1 or args.releases < 1:
        parser.error("--rotations and --releases are at least 1")
    return args


def generated_config(work: Path, rotations: int, services: int) -> Path:
    from bot.settings import EXAMPLE_CONFIG

    config = yaml.safe_load(EXAMPLE_CONFIG.read_text())
    template = config["rotations"]["api-oncall"]
    for n in range(1, rotations):
        rotation = copy.deepcopy(template)
        for unique in ("usergroups", "routing_keys", "services"):  # names Slack or Alertmanager know once
            rotation.pop(unique, None)
        config["rotations"][f"rotation-{n:04d}"] = rotation
    service = config["services"]["api"]
    for n in range(1, services):
        config["services"][f"svc-{n:04d}"] = copy.deepcopy(service)
    path = work / "switchman.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


async def _seed_releases(database_url: str, services: list[str]) -> None:
    from bot.release.models import Release, ReleaseState
    from bot.storage.database import Database

    db = Database(database_url)
    try:
        async with db.session() as session:
            now = datetime.now(UTC)
            for n, service in enumerate(services):
                session.add(Release(service=service, environment="staging", ref=f"v1.{n}.0", requested_by="U01OPS1",
                                    state=ReleaseState.REQUESTED, request_key=f"bench-startup-{n}", created_at=now,
                                    updated_at=now))
            await session.commit()
    finally:
        await db.dispose()


async def measure(rotations: int, releases: int, work: Path) -> tuple[float, int]:
    """Seconds from `serve()` to ready, and the rotations the loaded config holds."""
    from bot.config.loader import load_config
    from bot.serve import serve
    from bot.settings import Settings
    from bot.slack_sim.seed import seed_workspace
    from bot.slack_sim.web_api import SlackWebApi
    from bot.slack_sim.workspace import Workspace
    from bot.storage.migrate import upgrade

    config_path = generated_config(work, rotations, releases)
    config = load_config(config_path)
    database_url = f"sqlite:///{work / 'startup.db'}"
    await asyncio.to_thread(upgrade, database_url)
    await _seed_releases(database_url, list(config.services)[:releases])
    token = "xoxb-0000-0000-benchmarkonly"
    workspace = Workspace()
    seed_workspace(workspace, config)
    api = SlackWebApi(workspace, token=token)
    base_url = await api.start()
    try:
        settings = Settings(config_path=config_path, database_url=database_url, slack_api_url=base_url,
                            bot_token=token, signing_secret="bench0123456789abcdef0123456789ab")
        ready = asyncio.Event()
        began = time.perf_counter()
        serving = asyncio.create_task(serve(settings, host="127.0.0.1", port=0, ready=ready))
        waiting = asyncio.create_task(ready.wait())
        done, _ = await asyncio.wait({serving, waiting}, return_when=asyncio.FIRST_COMPLETED)
        took = time.perf_counter() - began
        if serving in done:
            serving.result()  # raises why it stopped
            raise RuntimeError("serve() returned before it was ready")
        os.kill(os.getpid(), signal.SIGTERM)  # serve's own handler: drain and close, as on a real stop
        await serving
    finally:
        await api.stop()
    return took, len(config.rotations)


def render(command: str, started: datetime, facts: list[tuple[str, str]], rotations: int, releases: int,
           took: float) -> str:
    return "\n".join([
        f"## {SECTION_TITLE}",
        "",
        "`bot.serve.serve` in-process, as `switchman serve` runs it, against the simulated Slack Web API on",
        "loopback: token check, migrations (already applied), the context, planning every rotation's next handoff,",
        "resuming every in-flight release (last, in the background), the Bolt app and the HTTP site, timed until it",
        "says it is serving. The",
        "config is the example's, with its rotation and its `api` service copied; each service has one release",
        "left in `requested`. Generated by `bench/startup.py`.",
        "",
        f"- **Command:** `{command}`",
        f"- **Date:** {started.strftime('%Y-%m-%d %H:%M %Z')} (system clock)",
        *[f"- **{name}:** {value}" for name, value in facts],
        "",
        "| rotations | in-flight releases | time to ready |",
        "|---:|---:|---:|",
        f"| {rotations:,} | {releases:,} | {took:.2f} s |",
        "",
    ])


def main(argv: Sequence[str] | None = None, *, shown: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = datetime.now().astimezone()
    with tempfile.TemporaryDirectory(prefix="switchman-bench-startup-") as tmp:
        took, rotations = asyncio.run(measure(args.rotations, args.releases, Path(tmp)))
    shown_argv = list(shown if shown is not None else ["--only", "startup", *(argv or [])])
    command = shlex.join([".venv/bin/python", "-m", "bench", *shown_argv])
    section = render(command, started, machine.base_facts(), rotations, args.releases, took)
    publish(section, args.output, SECTION_TITLE, no_write=args.no_write)
    print(f"  ready in {took:.2f} s with {rotations} rotations and {args.releases} releases", file=sys.stderr)
    return 0
