"""A release-flow test bed: the full stack on simulated time, with helpers to read the thread."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import col, select

from bot.clock import ManualClock
from bot.ledger.models import Decision
from bot.outbox import queue as outbox
from bot.release.models import Release, ReleaseKind, ReleaseReport, ReleaseState
from bot.release.report_post import digest
from bot.settings import Settings
from bot.simulated_time import SimulatedTime
from bot.slack.ids import ActionId
from bot.slack_sim.interactions import Delivery
from bot.slack_sim.stack import Stack, simulated_stack
from bot.slack_sim.workspace import SimMessage
from tests.contracts.slack_contract import SlackContract

PRODUCTION_GATES = """
          - ci_green
          - {not_locked: {overridable: true}}
          - no_concurrent_deploy
          - {promoted_from: staging}
          - {approval: {count: 1, group: "@sre"}}
          - {freeze_window: ["Fri 16:00-Mon 08:00 Europe/Berlin"], overridable: true}
          - oncall_present
"""


def release_config(provider_block: str, provider: str = "sandbox") -> str:
    return f"""
providers:
{provider_block}
services:
  api:
    channel: "#api-releases"
    provider: {provider}
    repo: acme/api
    workflow: deploy.yml
    runbook: https://wiki.example.com/runbooks/api
    rotation: api-oncall
    environments:
      staging:
        gates: [ci_green, not_locked, no_concurrent_deploy]
      production:
        gates:{PRODUCTION_GATES}
        deployers: ["@api-devs"]
        overriders: ["@sre"]
rotations:
  api-oncall:
    channel: "#api-oncall"
    timezone: Europe/Berlin
    handoff: {{every: week, day: monday, at: "10:00"}}
    primaries: [U01OPS1, U01OPS2]
    shadows: [U01DEV1]
    services: [api]
"""


SANDBOX = "  sandbox: {kind: sandbox, run_duration: 30s}"


@dataclass
class Scenario:
    stack: Stack
    clock: ManualClock
    time: SimulatedTime

    async def command(self, user: str, text: str, *, command: str = "/deploy") -> Delivery:
        delivery = await self.stack.slack.slash_command(user, command, text, channel="#api-releases")
        await self.stack.settle()
        return delivery

    def ephemerals(self, user: str) -> list[str]:
        return [e.text for e in self.stack.workspace.events if e.kind == "ephemeral" and e.user == user]

    async def release(self, release_id: int) -> Release:
        async with self.stack.ctx.db.session() as session:
            found = await session.get(Release, release_id)
        assert found is not None
        return found

    async def releases(self) -> list[Release]:
        async with self.stack.ctx.db.session() as session:
            return list((await session.exec(select(Release).order_by(col(Release.id)))).all())

    async def ledger(self, release_id: int | None = None) -> list[Decision]:
        async with self.stack.ctx.db.session() as session:
            query = select(Decision).order_by(col(Decision.seq))
            if release_id is not None:
                query = query.where(Decision.release_id == release_id)
            return list((await session.exec(query)).all())

    async def permalinks(self, release_id: int) -> list[str | None]:
        """The permalink of each ledger row of the release (None where none was posted for it)."""
        rows = await self.ledger(release_id)
        async with self.stack.ctx.db.session() as session:
            links = await outbox.permalinks(session, [d.seq for d in rows])
        return [links.get(d.seq) for d in rows]

    def thread(self, release: Release) -> list[SimMessage]:
        assert release.channel_id and release.message_ts
        return sorted(self.stack.workspace.thread(release.channel_id, release.message_ts), key=lambda m: m.ts)

    def thread_text(self, release: Release) -> str:
        return "\n".join(_all_text(m) for m in self.thread(release))

    async def reports(self, release_id: int) -> list[ReleaseReport]:
        async with self.stack.ctx.db.session() as session:
            return list((await session.exec(select(ReleaseReport).where(ReleaseReport.release_id == release_id)
                                            .order_by(col(ReleaseReport.id)))).all())

    async def assert_ends_with_report(self, release_id: int) -> ReleaseReport:
        """The finished release's thread ends with its post-release report, as stored and as chained."""
        release = await self.release(release_id)
        assert not ReleaseState(release.state).in_flight and release.state != ReleaseState.QUEUED, release.state
        reports = await self.reports(release_id)
        assert reports, f"release #{release_id} ({release.state}) has no report"
        report = reports[-1]
        assert report.state == release.state
        last = self.thread(release)[-1]
        verb = {ReleaseKind.ROLLBACK: "Rollback", ReleaseKind.DRILL: "Rollback drill"}.get(
            ReleaseKind(release.kind), "Release")
        assert last.blocks[0]["text"]["text"] == f"Post-release report · {verb} #{release_id}"
        assert last.text == report.text
        [row] = [d for d in await self.ledger(release_id) if d.seq == report.decision_seq]
        assert (row.kind, row.outcome) == ("report", release.state)
        assert row.evidence["report_sha256"] == digest(report.data)
        return report

    def parent(self, release: Release) -> SimMessage:
        assert release.channel_id and release.message_ts
        return self.stack.workspace.messages[(release.channel_id, release.message_ts)]

    async def press(self, user: str, release: Release, action_id: str) -> Delivery:
        for message in reversed(self.thread(release)):
            for block in message.blocks:
                for element in block.get("elements", []):
                    if element.get("action_id") == action_id:
                        delivery = await self.stack.slack.block_action(
                            user, message, action_id=action_id, block_id=block.get("block_id"),
                            value=element.get("value"))
                        await self.stack.settle()
                        return delivery
        raise AssertionError(f"no {action_id} button in the thread of release #{release.id}")


async def delivered_three_times(s: Scenario, send: Callable[[], Awaitable[Delivery]], *, at_once: bool) -> None:
    """Send a request, then Slack's retries 1 and 2 of it: after it finished, or while it still runs."""
    assert (await send()).status == 200
    if at_once:
        retries = await asyncio.gather(s.stack.slack.replay(retry_num=1), s.stack.slack.replay(retry_num=2))
    else:
        await s.stack.settle()
        retries = [await s.stack.slack.replay(retry_num=1)]
        await s.stack.settle()
        retries.append(await s.stack.slack.replay(retry_num=2))
    assert [r.status for r in retries] == [200, 200]
    await s.stack.settle()


def _all_text(message: SimMessage) -> str:
    parts = [message.text]
    for block in message.blocks:
        text = block.get("text")
        if isinstance(text, dict):
            parts.append(text.get("text", ""))
    return "\n".join(parts)


@asynccontextmanager
async def scenario(tmp_path: Path, contract: SlackContract, *, config: str, start: datetime | None = None,
                   environ: dict[str, str] | None = None, time: SimulatedTime | None = None,
                   database_url: str | None = None) -> AsyncIterator[Scenario]:
    """The stack on simulated time starting at `start` (or on the given `time`), on SQLite in
    `tmp_path` unless given a `database_url`."""
    path = tmp_path / "switchman.yml"
    path.write_text(config)
    database_url = database_url or f"sqlite:///{tmp_path / 'switchman.db'}"
    settings = Settings.from_env({"SWITCHMAN_DATABASE_URL": database_url,
                                  "SWITCHMAN_CONFIG": str(path), **(environ or {})})
    if time is None:
        assert start is not None, "give start or time"
        time = SimulatedTime(start)
    async with simulated_stack(settings, checker=contract, time=time) as stack:
        yield Scenario(stack, time.clock, time)
        await stack.settle()
        assert stack.api.violations == [], f"calls Slack would have rejected: {stack.api.violations}"
        assert stack.ctx.background.failures == 0, "a background task failed"


def texts(blocks: list[dict[str, Any]]) -> str:
    return "\n".join(b["text"]["text"] for b in blocks if isinstance(b.get("text"), dict))


def verified_canary_config(health_url: str) -> str:
    """api on the sandbox: staging, then a two-stage canary production with an approval, a 5 m bake,
    an http check against `health_url` and automatic rollback; one rotation."""
    return f"""
providers:
{SANDBOX}
services:
  api:
    channel: "#api-releases"
    provider: sandbox
    repo: acme/api
    workflow: deploy.yml
    environments:
      staging:
        gates: [ci_green]
      production:
        strategy: canary
        stages: [10, 100]
        bake: 5m
        gates: [ci_green, not_locked, {{approval: {{count: 1, group: "@sre"}}}}]
        verify:
          - {{http: {{url: "{health_url}", status: 200}}}}
        auto_rollback: true
        deployers: ["@api-devs"]
rotations:
  api-oncall:
    channel: "#api-oncall"
    timezone: Europe/Berlin
    handoff: {{every: week, day: monday, at: "10:00"}}
    primaries: [U01OPS1]
    services: [api]
"""


async def ship(s: Scenario, ref: str, *, stages: int = 2, requester: str = "U0ALICE",
               approver: str = "U0CAROL") -> int:
    """`requester` deploys `ref` to production of `verified_canary_config`, `approver` approves; each
    stage bakes 5 minutes. The release's id."""
    await s.command(requester, f"api {ref} to production")
    release = (await s.releases())[-1]
    await s.press(approver, release, ActionId.APPROVE)
    for _ in range(stages):
        await s.time.advance(timedelta(minutes=5))
        await s.stack.settle()
    return release.id or 0
