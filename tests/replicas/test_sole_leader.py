"""On SQLite the one `switchman serve` process leads, with no lock: `/metrics` says so, and the log."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine

from bot.slack_sim.web_api import SlackWebApi
from tests.contracts.slack_contract import SlackContract
from tests.replicas.cluster import Cluster, fake_github
from tests.replicas.replica_log import logged
from tests.replicas.scenario import BOT_TOKEN, GITHUB_TOKEN, SIGNING_SECRET, config_file, workspace_for
from tests.support.serve_process import serve_env


async def test_the_only_process_on_sqlite_leads(tmp_path: Path, slack_contract: SlackContract) -> None:
    api = SlackWebApi(workspace_for(["solo"]), token=BOT_TOKEN, checker=slack_contract)
    base_url = await api.start()
    github = await fake_github(GITHUB_TOKEN, ["v1"])
    env = serve_env(tmp_path, base_url, bot_token=BOT_TOKEN, config=config_file(tmp_path, github.url, ["solo"]),
                    SLACK_SIGNING_SECRET=SIGNING_SECRET, GITHUB_TOKEN=GITHUB_TOKEN)
    cluster = Cluster(tmp_path, env, create_engine(f"sqlite:///{tmp_path / 'serve.db'}"))
    try:
        await cluster.start(1)
        only, _ = await cluster.one_leader(within=10)
    finally:
        await cluster.stop()
        await api.stop()
        await github.stop()
    assert logged(only.log, "leading")
