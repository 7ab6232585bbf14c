"""Chaos: 50 releases over 5 environments, 20 % of Slack calls failing, one SIGKILL of `switchman serve`.

A real `switchman serve` runs against the fake Slack (rate limit on, a seeded fifth of all Web API
calls failing: 429, 500, an answer held past the 1 s client timeout, an answer lost after Slack
did the call) and the fake GitHub Actions (which outlives the process, so it can count every
workflow_dispatch). Midway, once 20 releases have an outcome, the process is SIGKILLed and a new
one is started on the same database. Afterwards nothing may be left in flight, no decision may be
missing, no message may appear twice in Slack, no stage may have been dispatched twice, and the
ledger's hash chain must verify. The counts are printed (`pytest -s` shows them).

Chaos stays on to the end, the final drain of the outbox included. Two things are reported, not
asserted: a `/deploy` that Bolt turned away because its auth.test met chaos (typed again, as a
person would), and decision messages whose permalink request failed (the outbox does not retry it).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, text

from bot.slack_sim.failures import DEFAULT_RATE_LIMIT, InjectedFailure
from bot.slack_sim.interactions import SlackSide
from bot.slack_sim.web_api import SlackWebApi
from bot.slack_sim.workspace import BOT_USER_ID, Workspace
from tests.contracts.slack_contract import SlackContract
from tests.fakes.busy_github import duplicate_dispatches, fake_github
from tests.support.serve_process import SWITCHMAN, serve_env, start_serve

BOT_TOKEN = "xoxb-4242-4242-chaostestsecret"
SIGNING_SECRET = "0123456789abcdef0123456789abcdef"
GITHUB_TOKEN = "ghp_" + "c" * 36
SERVICES = [f"svc{n}" for n in range(5)]
VERSIONS = [f"v{k}" for k in range(1, 11)]
BEFORE_KILL = 6  # versions requested per service before the SIGKILL; the rest go to the new process
KILL_AT_OUTCOMES = 20
SEED = 20261118
CHAOS_RATE = 0.2
CHAOS = (
    InjectedFailure(status=429, retry_after=1),
    InjectedFailure(status=500, error="internal_error"),
    # Held: Slack does the call, slowly; the client gives up after 1 s, the call lands at 1.5 s.
    InjectedFailure(delay=1.5),
    # Lost: Slack does the call, then the answer is a 500.
    InjectedFailure(drop_response=True),
)
TERMINAL = {"succeeded", "failed", "blocked", "cancelled", "rejected", "rolled_back", "superseded"}
GATES = ("not_quarantined", "ci_green", "not_locked")
USERS = {"U0ALICE": "alice", "U0BOB": "bob", "U0CAROL": "carol"}


def config_text(github_url: str) -> str:
    services = "".join(f"""
  {name}:
    channel: "#{name}-releases"
    provider: gh
    repo: acme/api
    workflow: deploy-{name}.yml
    environments:
      staging:
        gates: [ci_green, not_locked]
""" for name in SERVICES)
    return f"""
providers:
  gh: {{kind: github_actions, api_url: "{github_url}", token_env: GITHUB_TOKEN, timeout: 5s}}
services:{services}"""


class Watch:
    """Waits, with a deadline, for a condition on serve.db or the workspace, re-checking on every change."""

    def __init__(self, workspace: Workspace, db: Engine) -> None:
        self.db = db
        self._changed = asyncio.Event()
        workspace.subscribers.append(lambda _: self._changed.set())

    def scalar(self, sql: str) -> int:
        with self.db.connect() as conn:
            return int(conn.execute(text(sql)).scalar_one())

    async def until(self, what: str, predicate: Callable[[], bool], within: float) -> None:
        deadline = time.monotonic() + within
        # In a thread: the fake Slack and GitHub share this event loop and must not wait on SQLite locks.
        while not await asyncio.to_thread(predicate):
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out after {within:g}s waiting until {what}")
            self._changed.clear()
            # A change in Slack wakes us at once; the database (another process) is re-read at least
            # every half second.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(left, 0.5))


async def deploy(slack: SlackSide, channels: dict[str, str], service: str, versions: list[str],
                 turned_away: list[str]) -> None:
    """Each `/deploy` in turn, as a person types them; one Bolt turned away is typed again.

    Bolt checks the bot token with auth.test on the first request a process gets, outside the outbox;
    when chaos fails that call, Bolt answers "reinstall this app" and the command is dropped (nothing
    is created). A person would try again, so the test does, and reports how often (`turned_away`).
    """
    users = list(USERS)
    for k, version in enumerate(versions):
        while True:
            delivery = await slack.slash_command(users[k % len(users)], "/deploy",
                                                 f"{service} {version} to staging", channel=channels[service])
            assert delivery.status == 200, delivery.body
            if "reinstall this app" not in delivery.body:
                break
            turned_away.append(f"{service} {version}")


def missing_decisions(db: Engine) -> list[str]:
    """What the ledger lacks: every gate's verdict, the decision, the stage result and the outcome."""
    missing = []
    with db.connect() as conn:
        releases = conn.execute(text("SELECT id, state FROM releases ORDER BY id")).all()
        rows = conn.execute(text("SELECT release_id, kind, actor, outcome FROM decisions")).all()
    kinds: dict[int, Counter[str]] = {}
    outcomes: dict[int, list[str]] = {}
    for release_id, kind, actor, outcome in rows:
        kinds.setdefault(release_id, Counter())[actor if kind == "gate_verdict" else kind] += 1
        if kind == "outcome":
            outcomes.setdefault(release_id, []).append(outcome)
    for release_id, state in releases:
        have = kinds.get(release_id, Counter())
        wanted = ["outcome"]
        if state == "succeeded":
            wanted += [f"gate:{g}" for g in GATES] + ["decision", "stage_result"]
        missing += [f"release {release_id} ({state}): no {w}" for w in wanted if not have[w]]
        if outcomes.get(release_id, [state]) != [state]:
            missing.append(f"release {release_id} ({state}): outcomes {outcomes[release_id]}")
    return missing


def duplicate_messages(workspace: Workspace) -> list[str]:
    """Extra copies Slack shows: an outbox row posted more than once, or two rows saying the same in a thread."""
    mine = [m for m in workspace.messages.values() if m.user == BOT_USER_ID]
    by_row = Counter(((m.metadata or {}).get("event_payload") or {}).get("outbox_id") for m in mine)
    found = [f"outbox row {row} posted again" for row, n in by_row.items() if row is not None for _ in range(n - 1)]
    rows_by_text: dict[tuple[str, str, str], set[Any]] = {}
    for m in mine:
        if m.thread_ts is not None:
            rows_by_text.setdefault((m.channel, m.thread_ts, m.text), set()).add(
                ((m.metadata or {}).get("event_payload") or {}).get("outbox_id"))
    found += [f"said again in thread {thread} of {channel}: {said[:80]!r}"
              for (channel, thread, said), rows in rows_by_text.items() for _ in range(len(rows) - 1)]
    return found


def stale_parents(workspace: Workspace, db: Engine) -> list[str]:
    """Releases whose thread is missing, or whose parent message does not show how the release ended."""
    with db.connect() as conn:
        rows = conn.execute(text("SELECT id, state, channel_id, message_ts FROM releases")).all()
    stale = []
    for release_id, state, channel, ts in rows:
        parent = workspace.messages.get((channel, ts))
        if parent is None or state not in parent.text:
            stale.append(f"release {release_id} ({state}): parent says {parent.text[:60] if parent else None!r}")
    return stale


def unreported(workspace: Workspace, db: Engine) -> list[str]:
    """Releases that left the queue whose thread does not end with their one post-release report."""
    with db.connect() as conn:
        rows = conn.execute(text("SELECT id, state, channel_id, message_ts FROM releases "
                                 "WHERE started_at IS NOT NULL")).all()
        reports = conn.execute(text("SELECT release_id, state, text FROM release_reports ORDER BY id")).all()
    by_release: dict[int, list[tuple[str, str]]] = {}
    for release_id, state, said in reports:
        by_release.setdefault(release_id, []).append((state, said))
    found = []
    for release_id, state, channel, ts in rows:
        made = by_release.get(release_id, [])
        thread = sorted(workspace.thread(channel, ts), key=lambda m: m.ts) if channel and ts else []
        if [s for s, _ in made] != [state]:
            found.append(f"release {release_id} ({state}): reports {[s for s, _ in made]}")
        elif not thread or thread[-1].text != made[-1][1]:
            last = thread[-1].text[:60] if thread else None
            found.append(f"release {release_id} ({state}): thread ends with {last!r}")
    return found


async def keep_reading(process: asyncio.subprocess.Process, lines: list[str]) -> None:
    """Read serve's log as it goes: a full stderr pipe would stall the process."""
    assert process.stderr is not None
    async for raw in process.stderr:
        lines.append(raw.decode().rstrip())


async def audit_verify(env: dict[str, str], cwd: Path) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(str(SWITCHMAN), "audit", "verify", env=env, cwd=cwd,
                                                   stdout=asyncio.subprocess.PIPE,
                                                   stderr=asyncio.subprocess.STDOUT)
    output, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, output.decode()


async def test_fifty_releases_through_slack_chaos_and_a_sigkill(tmp_path: Path,
                                                                slack_contract: SlackContract) -> None:
    started = time.monotonic()
    workspace = Workspace()
    for user, name in USERS.items():
        workspace.add_user(user, name)
    channels = {s: workspace.add_channel(f"#{s}-releases").id for s in SERVICES}
    api = SlackWebApi(workspace, token=BOT_TOKEN, checker=slack_contract, rate_limit=DEFAULT_RATE_LIMIT)
    base_url = await api.start()
    github = await fake_github(GITHUB_TOKEN, VERSIONS)
    config = tmp_path / "switchman.yml"
    config.write_text(config_text(github.url))
    env = serve_env(tmp_path, base_url, bot_token=BOT_TOKEN, config=config, SLACK_SIGNING_SECRET=SIGNING_SECRET,
                    GITHUB_TOKEN=GITHUB_TOKEN, SWITCHMAN_SLACK_TIMEOUT="1s")
    db = create_engine(f"sqlite:///{tmp_path / 'serve.db'}")
    watch = Watch(workspace, db)
    api.chaos(CHAOS_RATE, random.Random(SEED), failures=CHAOS)
    processes: list[asyncio.subprocess.Process] = []
    readers: list[asyncio.Task[None]] = []
    logs: list[list[str]] = []
    turned_away: list[str] = []
    try:
        first, port, log = await start_serve(tmp_path, env)
        processes.append(first)
        logs.append(log)
        readers.append(asyncio.create_task(keep_reading(first, log)))
        slack = SlackSide(api, f"http://127.0.0.1:{port}/slack/events", SIGNING_SECRET)
        async with asyncio.timeout(60):
            await asyncio.gather(*(deploy(slack, channels, s, VERSIONS[:BEFORE_KILL], turned_away)
                                   for s in SERVICES))
        wave = len(SERVICES) * BEFORE_KILL
        await watch.until(f"{wave} releases exist", lambda: watch.scalar("SELECT count(*) FROM releases") == wave,
                          within=30)
        await watch.until(f"{KILL_AT_OUTCOMES} releases have an outcome", lambda: watch.scalar(
            "SELECT count(*) FROM decisions WHERE kind = 'outcome'") >= KILL_AT_OUTCOMES, within=90)

        first.send_signal(signal.SIGKILL)
        await first.wait()
        killed_at = (watch.scalar("SELECT count(*) FROM decisions WHERE kind = 'outcome'"),
                     watch.scalar("SELECT count(*) FROM outbox_messages WHERE state = 'pending'"))
        second, port, log = await start_serve(tmp_path, env)
        processes.append(second)
        logs.append(log)
        readers.append(asyncio.create_task(keep_reading(second, log)))
        slack.app_url = f"http://127.0.0.1:{port}/slack/events"  # same Slack: trigger ids go on, not repeat
        async with asyncio.timeout(60):
            await asyncio.gather(*(deploy(slack, channels, s, VERSIONS[BEFORE_KILL:], turned_away)
                                   for s in SERVICES))

        total = len(SERVICES) * len(VERSIONS)
        finished = ", ".join(f"'{s}'" for s in TERMINAL)
        await watch.until(f"all {total} releases are finished", lambda: watch.scalar(
            f"SELECT count(*) FROM releases WHERE state IN ({finished})") == total, within=240)
        # Each channel takes about a hundred posts at Slack's one a second, and a row that meets chaos
        # several times in a row waits out its backoff (up to a minute a try): ample, not tight.
        await watch.until("the outbox is drained", lambda: watch.scalar(
            "SELECT count(*) FROM outbox_messages WHERE state = 'pending'") == 0, within=300)
    finally:
        for process in processes:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
                await process.wait()
        await asyncio.gather(*readers)
        await api.stop()
        await github.stop()
        (tmp_path / "serve.log").write_text(  # both processes' logs, for a failure's post-mortem
            "\n".join("\n".join(lines) for lines in logs))

    with db.connect() as conn:
        states = Counter(conn.execute(text("SELECT state FROM releases")).scalars().all())
        outbox_failed = conn.execute(text(
            "SELECT count(*) FROM outbox_messages WHERE state = 'failed'")).scalar_one()
        # Not asserted: the outbox asks for a permalink once and records none when that call fails.
        no_permalink = conn.execute(text("SELECT count(*) FROM outbox_messages WHERE state = 'sent' "
                                         "AND decision_seq IS NOT NULL AND permalink IS NULL")).scalar_one()
    stuck = sum(n for state, n in states.items() if state not in TERMINAL)
    missing = missing_decisions(db)
    stale = stale_parents(workspace, db)
    reportless = unreported(workspace, db)
    db.dispose()
    duplicates = duplicate_messages(workspace)
    dispatched_twice = duplicate_dispatches(github)
    audit_rc, audit_out = await audit_verify(env, tmp_path)
    wall = time.monotonic() - started
    print(f"\nchaos: releases {sum(states.values())} {dict(states)}; killed with {killed_at[0]} outcomes and "
          f"{killed_at[1]} outbox rows pending\n"
          f"chaos: in flight without a due next step: {stuck}\n"
          f"chaos: decisions missing: {len(missing)} {missing[:5]}\n"
          f"chaos: duplicate thread messages: {len(duplicates)} {duplicates[:5]}\n"
          f"chaos: duplicate dispatches: {len(dispatched_twice)} {dispatched_twice[:5]} "
          f"(of {len(github.dispatches)} dispatches)\n"
          f"chaos: parents not showing the outcome: {len(stale)} {stale[:5]}\n"
          f"chaos: outbox rows failed: {outbox_failed}; decision messages sent without a permalink: {no_permalink}\n"
          f"chaos: /deploy turned away by Bolt (auth.test failed) and typed again: {len(turned_away)}\n"
          f"chaos: audit verify exit code: {audit_rc} ({audit_out.strip().splitlines()[0]})\n"
          f"chaos: Slack calls failed by chaos: {sum(api.chaos_failures.values())} {dict(api.chaos_failures)}; "
          f"429s from the rate limit: {sum(api.rate_limited.values())}; Slack calls: {len(api.calls)}\n"
          f"chaos: wall time {wall:.0f}s")

    assert sum(states.values()) == 50
    assert stuck == 0
    assert missing == []
    assert stale == []
    assert duplicates == []
    assert reportless == [], reportless[:5]
    assert dispatched_twice == []
    assert audit_rc == 0, audit_out
    assert outbox_failed == 0
    assert api.violations == [] and github.violations == []
