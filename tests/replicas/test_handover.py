"""Leadership changing hands in the middle of rollouts, without a step lost or repeated (§10).

SIGTERM on the leader: it takes no new work, lets its steps in flight finish, lets the lock go and
exits; the other replica takes the releases over. A leader whose lock connection is cut (the
server ends that session) stops leading at once and the releases go on under whoever leads next.
Either way each stage of each release is dispatched once, its pipeline result recorded once and
its verification recorded once.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import create_engine

from bot.slack_sim.interactions import Delivery
from bot.slack_sim.web_api import SlackWebApi
from bot.storage.leadership import LOCK_KEY
from tests.contracts.slack_contract import SlackContract
from tests.fakes.github_server import FakeGitHub
from tests.replicas.cluster import Cluster, duplicate_dispatches, fake_github, fresh_database
from tests.replicas.replica_log import logged
from tests.replicas.scenario import (
    BOT_TOKEN,
    DEPLOYERS,
    GITHUB_TOKEN,
    SIGNING_SECRET,
    Command,
    config_file,
    deliver,
    refused,
    sides_for,
    workspace_for,
)
from tests.support.postgres_server import PostgresServer
from tests.support.serve_process import serve_env

SERVICES = ["alpha", "beta", "gamma"]
STAGES = 2


@asynccontextmanager
async def two_replicas(tmp_path: Path, slack_contract: SlackContract, server: PostgresServer
                       ) -> AsyncIterator[tuple[Cluster, SlackWebApi, FakeGitHub]]:
    api = SlackWebApi(workspace_for(SERVICES), token=BOT_TOKEN, checker=slack_contract)
    base_url = await api.start()
    github = await fake_github(GITHUB_TOKEN, ["v1"])
    url = fresh_database(server, "handover")
    env = serve_env(tmp_path, base_url, bot_token=BOT_TOKEN, config=config_file(tmp_path, github.url, SERVICES),
                    SLACK_SIGNING_SECRET=SIGNING_SECRET, GITHUB_TOKEN=GITHUB_TOKEN, SWITCHMAN_DATABASE_URL=url)
    cluster = Cluster(tmp_path, env, create_engine(url))
    try:
        await cluster.start(2)
        yield cluster, api, github
    finally:
        await cluster.stop()
        await api.stop()
        await github.stop()


async def deploy_everything(cluster: Cluster, api: SlackWebApi) -> None:
    answers: list[Delivery] = []
    commands = [Command(DEPLOYERS[k % len(DEPLOYERS)], "/deploy", f"{s} v1 to staging", f"#{s}-releases")
                for k, s in enumerate(SERVICES)]
    await deliver(commands, sides_for(api, cluster.replicas), answers)
    assert refused(answers) == []
    await cluster.until("a release is rolling out", lambda: cluster.scalar(
        "SELECT count(*) FROM releases WHERE state IN ('rolling_out', 'verifying')") > 0, within=30)


def steps_lost_or_repeated(cluster: Cluster, github: FakeGitHub) -> list[str]:
    found = duplicate_dispatches(github) + cluster.twice_verified() + cluster.twice_recorded_stages()
    for release_id, kind in [*cluster.rows("SELECT id, 'verification' FROM releases"),
                             *cluster.rows("SELECT id, 'pipeline:%' FROM releases")]:
        recorded = cluster.scalar(f"SELECT count(*) FROM decisions WHERE release_id = {release_id} "
                                  f"AND kind = 'stage_result' AND actor LIKE '{kind}'")
        if recorded != STAGES:
            found.append(f"release {release_id}: {recorded} {kind} results of {STAGES} stages")
    return found


async def test_sigterm_hands_leadership_over_mid_rollout(tmp_path: Path, slack_contract: SlackContract,
                                                         postgres_server: PostgresServer) -> None:
    async with two_replicas(tmp_path, slack_contract, postgres_server) as (cluster, api, github):
        leader, _ = await cluster.one_leader(within=10)
        await deploy_everything(cluster, api)

        leader.process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(leader.process.wait(), timeout=60) == 0
        successor, takeover = await cluster.one_leader(within=10)
        await cluster.until("every release is finished", lambda: cluster.unfinished() == 0, within=90)
        states = dict(cluster.rows("SELECT state, count(*) FROM releases GROUP BY state"))
        problems = steps_lost_or_repeated(cluster, github)
        print(f"\nhandover: SIGTERM → the other replica leads after {takeover:.2f}s; releases {states}")

    assert successor is not leader
    assert logged(leader.log, "leadership handed over")
    assert logged(successor.log, "leadership taken")
    assert states == {"succeeded": len(SERVICES)}
    assert problems == []
    assert len(github.dispatches) == len(SERVICES) * STAGES


async def test_a_leader_whose_lock_connection_is_cut_stops_leading(tmp_path: Path, slack_contract: SlackContract,
                                                                   postgres_server: PostgresServer) -> None:
    async with two_replicas(tmp_path, slack_contract, postgres_server) as (cluster, api, github):
        leader, _ = await cluster.one_leader(within=10)
        await deploy_everything(cluster, api)

        # The leadership lock of this cluster's database only: a ledger append holds an advisory lock too, and
        # tests in other workers may hold theirs on the same server. A bigint key is split into classid/objid.
        cut = cluster.scalar(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_locks WHERE locktype = 'advisory' AND granted "
            f"AND classid = {LOCK_KEY >> 32} AND objid = {LOCK_KEY & 0xFFFF_FFFF} AND objsubid = 1 "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")
        await cluster.until("the leader notices", lambda: logged(leader.log, "leadership lost"), within=10)
        _, takeover = await cluster.one_leader(within=10)
        await cluster.until("every release is finished", lambda: cluster.unfinished() == 0, within=90)
        states = dict(cluster.rows("SELECT state, count(*) FROM releases GROUP BY state"))
        problems = steps_lost_or_repeated(cluster, github)
        print(f"\nhandover: lock connection cut → one replica leads again after {takeover:.2f}s; releases {states}")

    assert cut == 1
    assert states == {"succeeded": len(SERVICES)}
    assert problems == []
    assert len(github.dispatches) == len(SERVICES) * STAGES


async def test_restarting_a_follower_mid_bake_changes_nothing(tmp_path: Path, slack_contract: SlackContract,
                                                              postgres_server: PostgresServer) -> None:
    """The measured defect: a replica restarted during a bake used to free the leader's leases and run
    the stage's verification a second time."""
    async with two_replicas(tmp_path, slack_contract, postgres_server) as (cluster, api, github):
        leader, _ = await cluster.one_leader(within=10)
        follower = next(r for r in cluster.replicas if r is not leader)
        await deploy_everything(cluster, api)
        await cluster.until("a release is baking", lambda: cluster.scalar(
            "SELECT count(*) FROM releases WHERE state = 'verifying'") > 0, within=30)

        follower.process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(follower.process.wait(), timeout=60) == 0
        await cluster.start(1)
        still, _ = await cluster.one_leader(within=10)
        await cluster.until("every release is finished", lambda: cluster.unfinished() == 0, within=90)
        states = dict(cluster.rows("SELECT state, count(*) FROM releases GROUP BY state"))
        problems = steps_lost_or_repeated(cluster, github)

    assert still is leader
    assert logged(cluster.replicas[-1].log, "following")
    assert states == {"succeeded": len(SERVICES)}
    assert problems == []
    assert len(github.dispatches) == len(SERVICES) * STAGES
