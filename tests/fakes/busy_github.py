"""The fake GitHub as the long-running tests (chaos, replicas) use it: CI green on every version, runs
that finish after one or two polls, and a count of stages dispatched more than once."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

from tests.contracts.github_contract import GitHubContract
from tests.fakes.github_server import FakeGitHub


async def fake_github(token: str, versions: list[str]) -> FakeGitHub:
    """GitHub with CI green on every version, whose runs finish after one or two polls."""
    github = await FakeGitHub(GitHubContract.load(), clock=lambda: datetime.now(UTC), token=token).start()
    for version in versions:
        github.add_check_run(github.add_ref(version), "build")
    answer_run = github._get_workflow_run

    def run_moves_on_when_polled(values: dict[str, str], query: dict[str, str], body: Any) -> Any:
        run_id = int(values["run_id"])
        status = github.runs[run_id]["status"] if run_id in github.runs else None
        if status == "queued" and run_id % 2 == 0:
            github.advance_run(run_id, "in_progress")
        elif status in ("queued", "in_progress"):
            github.advance_run(run_id, "completed", "success")
        return answer_run(values, query, body)

    github._get_workflow_run = run_moves_on_when_polled  # type: ignore[method-assign]
    return github


def duplicate_dispatches(github: FakeGitHub) -> list[str]:
    counts = Counter((d["inputs"]["release_id"], d["inputs"]["stage"]) for d in github.dispatches)
    return [f"release {r} stage {s} dispatched {n} times" for (r, s), n in counts.items() if n > 1]
