"""Three `switchman serve` replicas on one PostgreSQL, one leader, and a SIGKILL of that leader (§10).

300 signed Slack deliveries are spread over the replicas — deploys of several services (each a
two-stage canary with a 1 s bake, so every stage is dispatched and then verified), approvals
clicked through followers, pages that escalate after 2 s, `/oncall` and `/deploy status` — about a
quarter of them delivered again as Slack retries (the same body, X-Slack-Retry-Num) to another
replica. A rotation hands over during the run (at a whole minute of the wall clock: the replicas run
on real time). Halfway, with releases rolling out, the leader is SIGKILLed; the rest goes to the
survivors. Then: every delivery was answered, exactly one survivor leads within 10 s (the takeover
time is printed), every release finished, no stage was dispatched, recorded or verified twice,
each approval and the handoff happened once, every page escalated once, nothing was posted twice,
and the ledger verifies.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine

from bot.slack_sim.interactions import Delivery, SlackSide
from bot.slack_sim.web_api import SlackWebApi
from bot.slack_sim.workspace import BOT_USER_ID, Workspace
from tests.contracts.slack_contract import SlackContract
from tests.replicas.cluster import Cluster, audit_verify, duplicate_dispatches, fake_github, fresh_database
from tests.replicas.scenario import (
    BOT_TOKEN,
    DEPLOYERS,
    GITHUB_TOKEN,
    RELAY,
    ROTATION,
    SIGNING_SECRET,
    Command,
    approve_button,
    click_approve,
    config_file,
    deliver,
    fill,
    posted_twice,
    refused,
    sides_for,
    workspace_for,
)
from tests.support.postgres_server import PostgresServer
from tests.support.serve_process import serve_env

SERVICES = [f"svc{n}" for n in range(6)]
APPROVED = SERVICES[:2]  # these need an approval from @sre: a click on the Approve button
VERSIONS = ["v1", "v2"]
CLICKS = len(APPROVED) * len(VERSIONS) * 2  # each click, and Slack's retry of it
DELIVERIES = 300
TAKEOVER_WITHIN = 10.0


async def approve_everything(cluster: Cluster, workspace: Workspace, sides: list[SlackSide],
                             answers: list[Delivery], *, releases: int, within: float) -> None:
    """Approve each release that waits for it, as someone other than its requester, through a follower."""
    clicked: set[int] = set()
    deadline = time.monotonic() + within
    while len(clicked) < releases:
        waiting = await asyncio.to_thread(cluster.rows, "SELECT id, requested_by, channel_id, message_ts "
                                                        "FROM releases WHERE state = 'awaiting_approval'")
        for release_id, requester, channel, ts in waiting:
            found = approve_button(workspace, channel, ts) if channel and ts else None
            if release_id in clicked or found is None:
                continue
            approver = next(u for u in DEPLOYERS if u != requester)
            await click_approve(sides, release_id, approver, found, answers)
            clicked.add(release_id)
        if time.monotonic() > deadline:
            raise AssertionError(f"only {len(clicked)} of {releases} releases came to wait for an approval")
        await asyncio.sleep(0.2)  # re-read the database (another process) five times a second


def wave(version: str, pages: int) -> list[Command]:
    deploys = [Command(DEPLOYERS[k % len(DEPLOYERS)], "/deploy", f"{s} {version} to staging", f"#{s}-releases",
                       retried=True) for k, s in enumerate(SERVICES)]
    paged = [Command(DEPLOYERS[k % len(DEPLOYERS)], "/oncall", f'page {ROTATION} "{version} page {k}"',
                     "#ops-oncall", retried=True) for k in range(pages)]
    return deploys + paged


async def test_three_replicas_survive_a_sigkill_of_the_leader(tmp_path: Path, slack_contract: SlackContract,
                                                               postgres_server: PostgresServer) -> None:
    started = time.monotonic()
    workspace = workspace_for(SERVICES)
    api = SlackWebApi(workspace, token=BOT_TOKEN, checker=slack_contract)
    base_url = await api.start()
    github = await fake_github(GITHUB_TOKEN, VERSIONS)
    url = fresh_database(postgres_server, "replicas")
    # The relay rotation hands over at the first whole minute at least 20 s away: during the run.
    handoff_at = (datetime.now(UTC) + timedelta(seconds=80)).replace(second=0, microsecond=0)
    env = serve_env(tmp_path, base_url, bot_token=BOT_TOKEN,
                    config=config_file(tmp_path, github.url, SERVICES, APPROVED, handoff_at.minute),
                    SLACK_SIGNING_SECRET=SIGNING_SECRET, GITHUB_TOKEN=GITHUB_TOKEN, SWITCHMAN_DATABASE_URL=url)
    cluster = Cluster(tmp_path, env, create_engine(url))
    answers: list[Delivery] = []
    first = fill(wave("v1", pages=3), (DELIVERIES - CLICKS) // 2, SERVICES)
    second = fill(wave("v2", pages=3), DELIVERIES - CLICKS - sum(c.deliveries for c in first), SERVICES)
    approving: asyncio.Task[None] | None = None
    try:
        await cluster.start(3)
        leader, _ = await cluster.one_leader(within=TAKEOVER_WITHIN)
        sides = sides_for(api, cluster.replicas)
        followers = [s for s, r in zip(sides, cluster.replicas, strict=True) if r is not leader]
        approving = asyncio.create_task(approve_everything(
            cluster, workspace, followers, answers, releases=len(APPROVED) * len(VERSIONS), within=150))
        await deliver(first, sides, answers)
        await cluster.until("a release is rolling out", lambda: cluster.scalar(
            "SELECT count(*) FROM releases WHERE state IN ('rolling_out', 'verifying')") > 0, within=30)
        in_flight_at_kill = cluster.scalar("SELECT count(*) FROM releases WHERE state IN "
                                           "('gating', 'rolling_out', 'verifying', 'queued', 'requested')")

        leader.process.kill()
        await leader.process.wait()
        survivors = [s for s, r in zip(sides, cluster.replicas, strict=True) if r is not leader]
        sending = asyncio.create_task(deliver(second, survivors, answers))
        new_leader, takeover = await cluster.one_leader(within=TAKEOVER_WITHIN)
        await sending
        await approving

        releases = len(SERVICES) * len(VERSIONS)
        await cluster.until(f"{releases} releases exist", lambda: cluster.scalar(
            "SELECT count(*) FROM releases") == releases, within=30)
        await cluster.until("every release is finished", lambda: cluster.unfinished() == 0, within=120)
        await cluster.until("every page escalated", lambda: cluster.scalar(
            "SELECT count(*) FROM pages WHERE escalation_level < 1") == 0, within=30)
        await cluster.until("the relay rotation has handed over", lambda: cluster.scalar(
            f"SELECT count(*) FROM oncall_handoff_runs WHERE rotation = '{RELAY}' AND completed_at IS NOT NULL "
            "AND message_ts IS NOT NULL") > 0, within=100)
        await cluster.until("the outbox is drained", lambda: cluster.scalar(
            "SELECT count(*) FROM outbox_messages WHERE state = 'pending'") == 0, within=60)
        states = dict(cluster.rows("SELECT state, count(*) FROM releases GROUP BY state"))
        pages = cluster.rows("SELECT id, escalated_to FROM pages ORDER BY id")
        twice_verified = cluster.twice_verified()
        twice_recorded = cluster.twice_recorded_stages()
        handoffs = cluster.rows(f"SELECT shift_start FROM oncall_handoff_runs WHERE rotation = '{RELAY}' "
                                "AND completed_at IS NOT NULL")
        approvals = dict(cluster.rows("SELECT release_id, count(*) FROM decisions WHERE kind = 'approval' "
                                      "GROUP BY release_id"))
        failed_messages = cluster.scalar("SELECT count(*) FROM outbox_messages WHERE state = 'failed'")
    finally:
        if approving is not None:
            approving.cancel()
            await asyncio.gather(approving, return_exceptions=True)
        await cluster.stop()
        await api.stop()
        await github.stop()

    dispatched_twice = duplicate_dispatches(github)
    twice_in_slack = posted_twice(workspace)
    relay_channel = workspace.channel_by_name("relay-oncall").id  # type: ignore[union-attr]
    relay_posts = Counter(m.text for m in workspace.messages.values()
                          if m.user == BOT_USER_ID and m.channel == relay_channel)
    audit_rc, audit_out = await audit_verify(env, tmp_path)
    bad = refused(answers)
    print(f"\nreplicas: {len(answers)} deliveries, {len(bad)} not answered well; releases {states}; "
          f"{in_flight_at_kill} in flight at the SIGKILL\n"
          f"replicas: takeover after the SIGKILL: {takeover:.2f}s (port {leader.port} → {new_leader.port})\n"
          f"replicas: dispatches {len(github.dispatches)}, twice: {dispatched_twice}; verified twice: "
          f"{twice_verified}; stage results twice: {twice_recorded}\n"
          f"replicas: approvals recorded per release {approvals}; handoffs of {RELAY}: {len(handoffs)} "
          f"(due {handoff_at:%H:%M:%S}); messages posted twice: {twice_in_slack}\n"
          f"replicas: pages {len(pages)}, escalations {[len(to) for _, to in pages]}; outbox failed: "
          f"{failed_messages}; audit verify: {audit_rc}\n"
          f"replicas: wall time {time.monotonic() - started:.0f}s")

    assert len(answers) == DELIVERIES
    assert bad == []
    assert takeover <= TAKEOVER_WITHIN
    assert states == {"succeeded": len(SERVICES) * len(VERSIONS)}
    assert dispatched_twice == [] and twice_verified == [] and twice_recorded == []
    assert len(github.dispatches) == len(SERVICES) * len(VERSIONS) * 2  # two canary stages each
    assert len(pages) == 6 and all(to == ["U01LEAD"] for _, to in pages)
    assert sorted(approvals.values()) == [1] * len(APPROVED) * len(VERSIONS)  # a click's retry approves nothing more
    assert [start for (start,) in handoffs] == [handoff_at]
    assert twice_in_slack == [] and all(n == 1 for n in relay_posts.values()), relay_posts
    assert failed_messages == 0
    assert audit_rc == 0, audit_out
    assert api.violations == [] and github.violations == []
