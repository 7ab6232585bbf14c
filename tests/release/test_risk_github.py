"""Risk rules on what GitHub's compare says, through the fake GitHub checked against its contract.

The files and commits the rules judge come from the code host's compare (the change preview's call):
a migration path GitHub lists makes the change high risk and brings the environment's extra approval;
when GitHub does not answer the compare, the file and commit rules say "unknown" and raise nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.release.models import ReleaseState
from bot.simulated_time import SimulatedTime
from bot.slack.ids import ActionId
from tests.contracts.github_contract import GitHubContract
from tests.contracts.slack_contract import SlackContract
from tests.fakes.github_server import FakeGitHub
from tests.release.scenario import scenario

TOKEN = "ghp_" + "r" * 36
ALICE, BOB, CAROL = "U0ALICE", "U0BOB", "U0CAROL"
COMPARE = "repos/compare-commits"


@pytest.fixture
def time() -> SimulatedTime:
    return SimulatedTime(datetime(2026, 11, 18, 10, 0, tzinfo=UTC))


@pytest.fixture
async def github(time: SimulatedTime) -> AsyncIterator[FakeGitHub]:
    fake = await FakeGitHub(GitHubContract.load(), clock=time.now, token=TOKEN).start()
    answer_run = fake._get_workflow_run

    def run_completes_when_polled(values: dict[str, str], query: dict[str, str], body: object) -> object:
        run_id = int(values["run_id"])
        if run_id in fake.runs:
            fake.advance_run(run_id, "completed", "success")
        return answer_run(values, query, body)

    fake._get_workflow_run = run_completes_when_polled  # type: ignore[method-assign]
    yield fake
    await fake.stop()
    assert fake.violations == [], f"calls GitHub would have rejected: {fake.violations}"


def config(url: str) -> str:
    return f"""
providers:
  gh: {{kind: github_actions, api_url: "{url}", token_env: GITHUB_TOKEN, retries: 1}}
risk_rules:
  migrations: {{globs: ["db/migrations/**"], level: high}}
  risky_paths: {{globs: ["auth/**"], level: medium}}
services:
  api:
    channel: "#api-releases"
    provider: gh
    repo: acme/api
    workflow: deploy.yml
    environments:
      staging:
        gates: [ci_green, {{approval: {{count: 1, group: "@sre"}}}}]
        risk: {{high: {{approvals: 2}}}}
"""


async def test_the_files_github_lists_decide_the_level_and_an_unanswered_compare_is_unknown(
        tmp_path: Path, slack_contract: SlackContract, github: FakeGitHub, time: SimulatedTime) -> None:
    shas = [github.add_ref(ref, ch * 40) for ref, ch in (("v1", "a"), ("v2", "b"), ("v3", "c"))]
    for sha in shas:
        github.add_check_run(sha, "build")
    github.set_comparison(shas[0], shas[1], commits=[("d" * 40, "Add index", "alice", "Alice"),
                                                     (shas[1], "Login fix", "alice", "Alice")],
                          files=["db/migrations/0007_index.py", "auth/login.py", "src/app.py"])
    async with scenario(tmp_path, slack_contract, config=config(github.url), time=time,
                        environ={"GITHUB_TOKEN": TOKEN}) as s:
        await s.command(ALICE, "api v1 to staging")
        first = (await s.releases())[-1]
        await s.press(CAROL, first, ActionId.APPROVE)
        assert (await s.release(first.id or 0)).state == ReleaseState.SUCCEEDED

        await s.command(ALICE, "api v2 to staging")
        risky = (await s.releases())[-1]
        thread = s.thread_text(risky)
        assert "*Risk: high* — 1 migration: `db/migrations/0007_index.py`; 1 risky path: `auth/login.py`" in thread
        assert "A high-risk change here requires 2 approvals from @sre." in thread
        await s.press(CAROL, risky, ActionId.APPROVE)
        assert (await s.release(risky.id or 0)).state == ReleaseState.AWAITING_APPROVAL
        await s.press(BOB, risky, ActionId.APPROVE)
        assert (await s.release(risky.id or 0)).state == ReleaseState.SUCCEEDED

        github.inject(502, operation_id=COMPARE, times=2)  # the first try and its one retry
        await s.command(ALICE, "api v3 to staging")
        blind = (await s.releases())[-1]
        thread = s.thread_text(blind)
        assert ":grey_question: No change preview" in thread
        assert ("unknown, so not counted: migrations, risky_paths, commits, files — the code host did not answer "
                "for the change preview") in thread
        assert "*Risk: low* — no risk rule fired" in thread  # nothing guessed from the missing compare
        await s.press(CAROL, blind, ActionId.APPROVE)
        assert (await s.release(blind.id or 0)).state == ReleaseState.SUCCEEDED  # one approval: low risk
        assert len(github.calls(COMPARE)) == 3
