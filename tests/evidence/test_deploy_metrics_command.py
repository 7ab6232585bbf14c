"""`/deploy metrics` through signed requests to the real Bolt app, after real releases on the sandbox.

Two releases go to production on simulated time — one healthy, one whose verification fails and is
rolled back automatically — and one to staging; the answer's Block Kit is checked by the fake
Slack against Slack's limits, and its figures against the stored history.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.ledger.models import DecisionKind
from bot.release.models import ReleaseKind, ReleaseState
from bot.slack.metrics_blocks import span
from bot.slack_sim.workspace import SimEvent
from tests.contracts.slack_contract import SlackContract
from tests.release.scenario import Scenario, scenario, ship, verified_canary_config
from tests.support.local_http import serve

ALICE, BOB, CAROL = "U0ALICE", "U0BOB", "U0CAROL"
WEDNESDAY = datetime(2026, 11, 18, 10, tzinfo=UTC)


class Health:
    def __init__(self) -> None:
        self.status = 200
        self.url = ""


@pytest.fixture
async def health() -> AsyncIterator[Health]:
    endpoint = Health()

    async def answer(_: web.Request) -> web.Response:
        return web.json_response({"ok": endpoint.status == 200}, status=endpoint.status)

    app = web.Application()
    app.router.add_get("/healthz", answer)
    runner, address = await serve(app)
    endpoint.url = f"http://{address}/healthz"
    yield endpoint
    await runner.cleanup()


@pytest.fixture
async def s(tmp_path: Path, slack_contract: SlackContract, health: Health) -> AsyncIterator[Scenario]:
    async with scenario(tmp_path, slack_contract, config=verified_canary_config(health.url),
                        start=WEDNESDAY) as running:
        yield running


def answers(s: Scenario, user: str) -> list[SimEvent]:
    return [e for e in s.stack.workspace.events if e.kind == "ephemeral" and e.user == user]


def fields(event: SimEvent) -> dict[str, str]:
    """Each field's bold label → the text under it."""
    found: dict[str, str] = {}
    for block in event.blocks:
        for field in block.get("fields", []):
            label, _, value = field["text"].partition("\n")
            found[label.strip("*")] = value
    return found


def header(event: SimEvent) -> str:
    block: dict[str, Any] = event.blocks[0]
    assert block["type"] == "header"
    return str(block["text"]["text"])


async def test_metrics_after_a_good_release_and_a_rolled_back_one(s: Scenario, health: Health) -> None:
    await s.command(ALICE, "api v0.9.0 to staging")  # not production: never counted
    good = await ship(s, "v1.0.0")
    health.status = 503
    bad = await ship(s, "v1.1.0", stages=1)  # its first stage's verification fails: rolled back
    health.status = 200
    await s.time.advance(timedelta(hours=1))
    await s.stack.settle()

    releases = {r.id: r for r in await s.releases()}
    assert releases[good].state == ReleaseState.SUCCEEDED
    assert releases[bad].state == ReleaseState.ROLLED_BACK
    rollback = next(r for r in releases.values() if r.kind == ReleaseKind.ROLLBACK)
    assert rollback.state == ReleaseState.SUCCEEDED
    go = {d.release_id: d.decided_at for d in await s.ledger() if d.kind == DecisionKind.DECISION
          and d.outcome == "GO"}

    before = await s.releases()
    await s.command(BOB, "metrics api")
    answer = answers(s, BOB)[-1]
    assert header(answer) == "Delivery metrics: api production, last 90 days"
    f = fields(answer)
    assert f["Deployment frequency"] == "0.1 per week (1 successful deploy)"  # 1 ÷ (90/7)
    lead = releases[good].verified_at - releases[good].created_at  # type: ignore[operator]
    assert f["Lead time (request → production)"] == f"median {span(lead)} · p90 {span(lead)} (n=1)"
    # The good release was production's first: nothing to compare it with, so no commit time.
    assert f["Lead time (first commit → production)"] == "no data; 1 without commit times"
    assert f["Change failure rate"] == "50% (1 of 2 that reached rollout)"
    detect = releases[bad].detected_at - go[bad]  # type: ignore[operator]
    assert f["Time to detect a regression"] == f"median {span(detect)} · p90 {span(detect)} (n=1)"
    restore = rollback.verified_at - releases[bad].detected_at  # type: ignore[operator]
    assert f["Time to restore"] == f"median {span(restore)} · p90 {span(restore)} (n=1)"
    took = rollback.verified_at - rollback.created_at  # type: ignore[operator]
    assert f["Time to rollback"] == f"median {span(took)} · p90 {span(took)} (n=1); 1 of 1 rollbacks succeeded"
    assert f["Special handling"] == "0 of 2 deploys had an override (0%)"
    assert f["Started by developers"] == "100% (2 of 2 deploys)"
    assert f["Deployers"] == f"1 person; <@{ALICE}> has 100% of 2 deploys"
    assert f["Approvers"] == f"1 person; <@{CAROL}> has 100% of 2 approvals"
    # Where the good release's wait went, from its stored instants: it never queued; it waited for
    # CAROL from its WAITING decision to GO; the gates took the rest before GO; then rollout and bake.
    started = releases[good].started_at
    assert started == releases[good].created_at
    waiting = next(d.decided_at for d in await s.ledger(good) if d.outcome == "WAITING")
    parts = {"Queue": timedelta(0), "Gates": waiting - started, "Waiting for approval": go[good] - waiting,  # type: ignore[operator]
             "Rollout and bake": releases[good].verified_at - go[good]}  # type: ignore[operator]
    whole = sum(parts.values(), timedelta(0))
    assert whole == lead
    for label, took_part in parts.items():
        assert f[f"{label} — {took_part / whole:.0%}"] == f"median {span(took_part)} · p90 {span(took_part)} (n=1)"
    assert await s.releases() == before  # asking changed nothing

    await s.command(BOB, "metrics --days 1")  # every service; same releases, shorter window
    every = answers(s, BOB)[-1]
    assert header(every) == "Delivery metrics: api production, last 1 day"
    assert fields(every)["Deployment frequency"] == "7.0 per week (1 successful deploy)"


async def test_an_empty_history_answers_no_data(s: Scenario) -> None:
    await s.command(BOB, "metrics api --days 30")
    f = fields(answers(s, BOB)[-1])
    assert f["Deployment frequency"] == "0.0 per week (0 successful deploys)"
    assert f["Change failure rate"] == "no data (0 of 0 that reached rollout)"
    assert f["Lead time (request → production)"] == "no data"
    assert f["Deployers"] == "no data"


async def test_an_unknown_service_gets_where_the_usage_is_and_nothing_changes(s: Scenario) -> None:
    delivery = await s.command(BOB, "metrics nosuch")
    body = delivery.json()
    assert body["response_type"] == "ephemeral"
    assert "no service `nosuch`" in body["text"] and body["text"].endswith("`/deploy help` for the full usage.")
    assert not any("Delivery metrics" in e.text for e in answers(s, BOB))
    assert await s.releases() == []
    assert s.stack.api.calls_of("chat.postMessage") == []
