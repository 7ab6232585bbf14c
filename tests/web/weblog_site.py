"""A running Switchman (fake Slack on loopback) over a generated release history, for the web log tests.

The history comes from the benchmark's generator (`bench/evidence_history.py`, chained like the real
ledger). Release #7 then gets decisions the generator does not make, through the real ledger service: a
gate verdict whose evidence links to a CI page served on loopback, an approval, and an override with
its reason. `link(user)` asks `/deploy log` through the signed Slack path and returns the local URL.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
from aiohttp import web

from bench.evidence_history import APPROVERS, batches, write_sqlite
from bot.ledger.service import record
from bot.release.models import GateOverride
from bot.settings import EXAMPLE_CONFIG, Settings
from bot.simulated_time import SimulatedTime
from bot.slack_sim.stack import Stack, simulated_stack
from bot.storage.migrate import upgrade
from tests.contracts.slack_contract import SlackContract

SECRET = "weblog-test-secret-" + "9f3c1d7e" * 4
PUBLIC_URL = "http://switchman.test"
NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)  # the day after the generated history ends
TRUSTED = "10.9.0.0/16"
ALICE, BOB = "U0WEBALICE", "U0WEBBOB00"
RELEASE = 7
OVERRIDER = APPROVERS[3]
THREAD = "https://switchman-sim.slack.com/archives/C0BENCH/p1700000007000100"
OVERRIDE_REASON = "CI provider outage; the same commit passed on staging an hour ago"


@dataclass
class Site:
    stack: Stack
    time: SimulatedTime
    base: str  # http://127.0.0.1:PORT
    evidence_url: str  # where release #7's gate evidence links to
    database_url: str

    async def link(self, user: str) -> str:
        delivery = await self.stack.slack.slash_command(user, "/deploy", "log", channel="#api-releases")
        assert delivery.status == 200, delivery.body
        text = delivery.json()["text"]
        found = re.search(re.escape(PUBLIC_URL) + r"(/log/enter\?t=[A-Za-z0-9._-]+)", text)
        assert found, text
        return self.base + found.group(1)


async def _evidence_server() -> tuple[web.AppRunner, str]:
    async def ci_run(request: web.Request) -> web.Response:
        return web.Response(text=f"<!doctype html><title>CI run {request.match_info['id']}</title>"
                                 f"<h1>CI run {request.match_info['id']}: all checks passed</h1>",
                            content_type="text/html")

    app = web.Application()
    app.router.add_get("/ci/runs/{id}", ci_run)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"


def _history(database_url: str, releases: int) -> str:
    """Writes the history; returns release #RELEASE's ledger subject (`service/environment@ref`)."""
    upgrade(database_url)
    with sqlite3.connect(database_url.removeprefix("sqlite:///")) as conn:
        for batch in batches(releases, size=1000):
            write_sqlite(conn, batch)
        conn.execute("UPDATE releases SET detail = ? WHERE id = ?", (f'{{"permalink": "{THREAD}"}}', RELEASE))
        service, environment, ref = conn.execute("SELECT service, environment, ref FROM releases WHERE id = ?",
                                                 (RELEASE,)).fetchone()
    return f"{service}/{environment}@{ref}"


@asynccontextmanager
async def weblog_site(tmp_path: Path, contract: SlackContract, *, releases: int = 120) -> AsyncIterator[Site]:
    database_url = f"sqlite:///{tmp_path / 'switchman.db'}"
    subject = _history(database_url, releases)
    config = tmp_path / "switchman.yml"
    config.write_text(EXAMPLE_CONFIG.read_text() + f"\nweb_log:\n  trusted_proxies: ['{TRUSTED}']\n  page_size: 20\n")
    settings = Settings.from_env({"SWITCHMAN_DATABASE_URL": database_url, "SWITCHMAN_CONFIG": str(config),
                                  "SWITCHMAN_WEB_LOG_SECRET": SECRET, "SWITCHMAN_PUBLIC_URL": PUBLIC_URL})
    evidence_runner, evidence_base = await _evidence_server()
    time = SimulatedTime(NOW)
    try:
        async with simulated_stack(settings, checker=contract, time=time) as stack:
            evidence_url = f"{evidence_base}/ci/runs/{RELEASE}"
            at = NOW - timedelta(hours=1)
            async with stack.ctx.db.session() as session:
                await record(session, kind="gate_verdict", actor="gate:ci_green", release_id=RELEASE, outcome="fail",
                             subject=subject, decided_at=at,
                             evidence={"gate": "ci_green", "evidence": "2 of 14 checks failed", "link": evidence_url,
                                       "seconds": 1.2})
                await record(session, kind="approval", actor=APPROVERS[1], release_id=RELEASE, outcome="approved",
                             subject=subject, decided_at=at + timedelta(minutes=5))
                await record(session, kind="override", actor=OVERRIDER, release_id=RELEASE, outcome="overridden",
                             subject=subject, decided_at=at + timedelta(minutes=6),
                             evidence={"gates": ["ci_green"], "reason": OVERRIDE_REASON, "special_handling": True})
                session.add(GateOverride(release_id=RELEASE, gate="ci_green", actor=OVERRIDER, reason=OVERRIDE_REASON,
                                         decided_at=at + timedelta(minutes=6)))
                await session.commit()
            base = stack.app_url.rsplit("/slack/events", 1)[0]
            yield Site(stack, time, base, evidence_url, database_url)
    finally:
        await evidence_runner.cleanup()


async def get(url: str, *, cookies: dict[str, str] | None = None, headers: dict[str, str] | None = None,
              method: str = "GET") -> tuple[int, str, aiohttp.ClientResponse]:
    async with aiohttp.ClientSession(cookies=cookies) as session, session.request(
            method, url, headers=headers, allow_redirects=False) as response:
        return response.status, await response.text(), response
