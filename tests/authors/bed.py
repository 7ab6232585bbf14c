"""The author-loop test bed: the full stack on simulated time against the fake GitHub (its compare
carrying git author emails) and the fake Slack, both checked against their contracts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlmodel import col, select

from bot.authors.models import AuthorNotice
from bot.settings import Settings
from bot.simulated_time import SimulatedTime
from bot.slack_sim.stack import simulated_stack
from bot.slack_sim.workspace import SimEvent, Workspace
from tests.contracts.slack_contract import SlackContract
from tests.fakes.github_server import FakeGitHub
from tests.release.scenario import Scenario

TOKEN = "ghp_" + "a" * 36
ALICE = "U0ALICE"  # the requester
ADA, GRACE = "U0ADA", "U0GRACE"  # commit authors Slack knows
SHA0, SHA1, SHA2 = "a0" * 20, "b1" * 20, "d2" * 20  # what runs first; the change; a later one
C1, C2, C3, C4, C5 = ("c1" * 20, "c2" * 20, "c3" * 20, "c4" * 20, "c5" * 20)
# SHA0...SHA1 brings five commits: two by Ada, one by Grace (her address capitalised), a bot's, and one by
# somebody Slack does not know. The head commit is Grace's.
COMMITS = [(C1, "Cache the session lookup", "ada", "Ada L"), (C2, "Expire the cache", "ada", "Ada L"),
           (C4, "Bump aiohttp", "dependabot[bot]", "dependabot[bot]"), (C5, "Fix typo", None, "Stranger"),
           (SHA1, "Handle empty carts", "grace", "Grace H")]
EMAILS = ["ada@acme.test", "ada@acme.test", "49699333+dependabot[bot]@users.noreply.github.com",
          "stranger@elsewhere.test", "Grace@Acme.test"]


def config(github_url: str) -> str:
    return f"""
providers:
  gh: {{kind: github_actions, api_url: "{github_url}", token_env: GITHUB_TOKEN}}
services:
  api:
    channel: "#api-releases"
    provider: gh
    repo: acme/api
    workflow: deploy.yml
    environments:
      staging:
        gates: [ci_green]
      production:
        gates: [ci_green, {{promoted_from: staging}}]
"""


def prepare_github(github: FakeGitHub) -> None:
    """v1.0 (SHA0), v1.1 (SHA1) and v1.2 (SHA2) with green CI, their comparisons, and runs that finish as
    they are polled."""
    for tag, sha in (("v1.0", SHA0), ("v1.1", SHA1)):
        github.add_ref(tag, sha)
        github.add_check_run(sha, "build")
    github.set_comparison(SHA0, SHA1, COMMITS, ["src/cart.py"], emails=EMAILS)
    github.set_behind(SHA1, SHA0, len(COMMITS))
    github.add_ref("v1.2", SHA2)
    github.add_check_run(SHA2, "build")
    github.set_comparison(SHA1, SHA2, [(SHA2, "Show the cart total", "ada", "Ada L")], ["src/cart.py"],
                          emails=["ada@acme.test"])
    github.set_behind(SHA2, SHA1, 1)
    answer_run = github._get_workflow_run

    def progresses(values: dict[str, str], query: dict[str, str], body: Any) -> Any:
        run_id = int(values["run_id"])
        status = github.runs[run_id]["status"] if run_id in github.runs else None
        if status == "queued":
            github.advance_run(run_id, "in_progress")
        elif status == "in_progress":
            github.advance_run(run_id, "completed", "success")
        return answer_run(values, query, body)

    github._get_workflow_run = progresses  # type: ignore[method-assign]


def add_authors(workspace: Workspace) -> None:
    workspace.add_user(ADA, "ada", tz="America/New_York", email="ada@acme.test")
    workspace.add_user(GRACE, "grace", tz="Asia/Tokyo", email="grace@acme.test")


@dataclass
class Bed:
    s: Scenario
    workspace: Workspace

    def dms(self, user: str) -> list[SimEvent]:
        """The messages posted into `user`'s DM with the bot."""
        im = next((c.id for c in self.workspace.channels.values() if c.is_im and c.im_user == user), None)
        return [e for e in self.workspace.events if e.kind == "message" and e.channel == im]

    async def notices(self) -> list[AuthorNotice]:
        async with self.s.stack.ctx.db.session() as session:
            return list((await session.exec(select(AuthorNotice).order_by(col(AuthorNotice.id)))).all())

    def lookups(self) -> list[str]:
        return [c.params["email"] for c in self.s.stack.api.calls_of("users.lookupByEmail")]

    async def deliver(self, seconds: float = 1) -> None:
        """Let the delivery job and the outbox run (`seconds` of simulated time)."""
        await self.s.stack.settle()
        await self.s.time.advance(timedelta(seconds=seconds))
        await self.s.stack.settle()


@asynccontextmanager
async def bed(tmp_path: Path, contract: SlackContract, github: FakeGitHub, time: SimulatedTime,
              workspace: Workspace | None = None) -> AsyncIterator[Bed]:
    """The stack on `time`, on SQLite in `tmp_path` (so a second `bed` on the same path is a restart)."""
    path = tmp_path / "switchman.yml"
    path.write_text(config(github.url))
    settings = Settings.from_env({"SWITCHMAN_DATABASE_URL": f"sqlite:///{tmp_path / 'switchman.db'}",
                                  "SWITCHMAN_CONFIG": str(path), "GITHUB_TOKEN": TOKEN})
    workspace = workspace or Workspace()
    async with simulated_stack(settings, checker=contract, time=time, workspace=workspace) as stack:
        add_authors(workspace)
        yield Bed(Scenario(stack, time.clock, time), workspace)
        await stack.settle()
        assert stack.api.violations == [], f"calls Slack would have rejected: {stack.api.violations}"
        assert stack.ctx.background.failures == 0, "a background task failed"
