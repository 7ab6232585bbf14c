"""The Events API v2 as a PagerDuty client sees it: the real `pdpyras.EventsAPISession` against `switchman serve`.

Only the session's base URL changes (pdpyras posts to `<base>/v2/enqueue`), both at the root and
under `/webhooks/events`. Trigger, a repeated trigger with the same dedup_key, acknowledge and
resolve act on one page row, and the pair on call is DMed about it; an unknown routing key is
refused as a failed authentication (401, §6) in PagerDuty's body shape `{status, message, errors}`,
and stores nothing.
"""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import warnings
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.config.loader import load_config
from bot.slack_sim.seed import seed_workspace
from bot.slack_sim.stack import STACK_RATE_LIMIT
from bot.slack_sim.web_api import SlackWebApi
from bot.slack_sim.workspace import Workspace
from tests.contracts.slack_contract import SlackContract
from tests.support.serve_process import serve_env, start_serve

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # pdpyras warns that it is deprecated; its wire is what clients send
    import pdpyras

BOT_TOKEN = "xoxb-4242-4242-pdpyrastestsecret"
SIGNING_SECRET = "0123456789abcdef0123456789abcdef"
ROUTING_KEY = "e93facc04764012d7bfb002500d5d1a6"
CONFIG = f"""
providers:
  sandbox: {{kind: sandbox}}
services:
  db:
    channel: "#db-releases"
    provider: sandbox
    runbook: https://wiki.example.com/runbooks/db
    environments:
      staging: {{}}
rotations:
  db-oncall:
    channel: "#db-oncall"
    timezone: UTC
    handoff: {{every: week, day: monday, at: "10:00"}}
    primaries: [U01OPS1]
    shadows: [U01DEV1]
    services: [db]
    routing_keys: [{ROUTING_KEY}]
"""


@dataclass
class Served:
    url: str
    database: Path
    workspace: Workspace
    api: SlackWebApi

    def pages(self) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.database) as db:
            return db.execute("SELECT id, rotation, source, dedup_key, status, acked_by, resolved_by, title "
                              "FROM pages ORDER BY id").fetchall()

    def dm_texts(self, user: str) -> list[str]:
        ims = {c.id for c in self.workspace.channels.values() if c.is_im and c.im_user == user}
        return [m.text for m in sorted(self.workspace.messages.values(), key=lambda m: m.ts) if m.channel in ims]


@pytest.fixture
async def served(tmp_path: Path, slack_contract: SlackContract) -> AsyncIterator[Served]:
    config = tmp_path / "switchman.yml"
    config.write_text(CONFIG)
    workspace = Workspace()
    seed_workspace(workspace, load_config(config))
    api = SlackWebApi(workspace, token=BOT_TOKEN, checker=slack_contract, rate_limit=STACK_RATE_LIMIT)
    base_url = await api.start()
    env = serve_env(tmp_path, base_url, bot_token=BOT_TOKEN, config=config, SLACK_SIGNING_SECRET=SIGNING_SECRET)
    process, port, _ = await start_serve(tmp_path, env)
    try:
        yield Served(f"http://127.0.0.1:{port}", tmp_path / "serve.db", workspace, api)
        assert api.violations == []
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.wait(), timeout=30)
        await api.stop()


def session(base_url: str, key: str = ROUTING_KEY) -> pdpyras.EventsAPISession:
    events = pdpyras.EventsAPISession(key)
    events.url = base_url  # the one change a PagerDuty user makes
    events.retry = {}  # a refusal must surface, not be retried
    return events


async def until(condition: Callable[[], bool], what: str, within: float = 30) -> None:
    """Wait for the served process's background work (the outbox) with a deadline."""
    try:
        async with asyncio.timeout(within):
            while True:
                if condition():
                    return
                await asyncio.sleep(0.05)  # polling another process's state, not a fixed wait
    except TimeoutError:
        raise AssertionError(f"timed out waiting until {what}") from None


@pytest.mark.parametrize("prefix", ["", "/webhooks/events"])
async def test_pdpyras_triggers_dedups_acknowledges_and_resolves_one_page(served: Served, prefix: str) -> None:
    events = session(served.url + prefix)

    key = await asyncio.to_thread(events.trigger, "Disk on db-1 is 95% full", "db-1.example.com",
                                  dedup_key="db-1/disk", severity="error",
                                  custom_details={"free": "5%"}, links=[{"href": "https://grafana.example.com/d/1"}])
    again = await asyncio.to_thread(events.trigger, "Disk on db-1 is 96% full", "db-1.example.com",
                                    dedup_key="db-1/disk")
    generated = await asyncio.to_thread(events.trigger, "Replication lag", "db-2.example.com")

    assert (key, again) == ("db-1/disk", "db-1/disk")
    assert generated and generated != key
    rows = served.pages()
    assert [(r[1], r[2], r[3], r[4]) for r in rows] == [
        ("db-oncall", "events", "db-1/disk", "triggered"), ("db-oncall", "events", generated, "triggered")]
    assert rows[0][7] == "Disk on db-1 is 95% full"
    await until(lambda: len(served.dm_texts("U01OPS1")) == 2 and len(served.dm_texts("U01DEV1")) == 2,
                "the primary and the shadow are DMed about each page once")
    assert "Disk on db-1 is 95% full" in served.dm_texts("U01OPS1")[0]

    assert await asyncio.to_thread(events.acknowledge, key) == key
    assert served.pages()[0][4:6] == ("acknowledged", "events-api")
    await until(lambda: "acknowledged" in served.dm_texts("U01OPS1")[0], "the primary's DM shows the ack")

    assert await asyncio.to_thread(events.resolve, key) == key
    assert served.pages()[0][4] == "resolved" and served.pages()[1][4] == "triggered"
    await until(lambda: all("resolved" in served.dm_texts(u)[0] for u in ("U01OPS1", "U01DEV1")),
                "both DMs show the page resolved")

    # Acting on a dedup key with no open page changes nothing, as at PagerDuty.
    assert await asyncio.to_thread(events.resolve, key) == key
    assert len(served.pages()) == 2


async def test_pdpyras_with_an_unknown_routing_key_is_refused_and_nothing_is_stored(served: Served) -> None:
    events = session(served.url, key="0" * 32)

    with pytest.raises(pdpyras.PDHTTPError) as refused:
        await asyncio.to_thread(events.trigger, "Disk full", "db-1.example.com", dedup_key="db-1/disk")

    response = refused.value.response
    assert response.status_code == 401
    assert response.json() == {"status": "unauthorized", "message": "Event object is invalid",
                               "errors": ["Invalid routing key"]}
    assert served.pages() == []
    assert served.dm_texts("U01OPS1") == []
