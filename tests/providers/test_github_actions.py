"""The GitHub Actions provider against the contract-checking fake GitHub."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from bot.clock import ManualClock
from bot.errors import ProviderError
from bot.providers.base import CiVerdict, Commit, PipelineRun, RunState
from bot.providers.github_actions import GitHubActions
from bot.providers.github_runs import SEARCH_DELAYS
from tests.contracts.github_contract import GitHubContract
from tests.fakes.github_server import FakeGitHub
from tests.providers.conftest import TOKEN, RecordingSleep, github_config, target

# --- refs -------------------------------------------------------------------------------------------


async def test_resolve_ref_returns_the_full_sha(github: FakeGitHub, provider: GitHubActions) -> None:
    sha = github.add_ref("release/2024.05")
    assert await provider.resolve_ref("acme/api", "release/2024.05") == sha
    assert github.requests[-1].path == "/repos/acme/api/commits/release/2024.05/status"


async def test_unknown_ref_is_not_found(github: FakeGitHub, provider: GitHubActions) -> None:
    with pytest.raises(ProviderError, match=r"^ref nope not found in acme/api$"):
        await provider.resolve_ref("acme/api", "nope")


async def test_a_repository_the_token_cannot_see(github: FakeGitHub, provider: GitHubActions) -> None:
    with pytest.raises(ProviderError, match=r"^ref main not found in acme/secret \(or the GitHub token cannot"):
        await provider.resolve_ref("acme/secret", "main")


async def test_missing_repo_is_a_clear_error(provider: GitHubActions) -> None:
    with pytest.raises(ProviderError, match="no repo configured"):
        await provider.resolve_ref(None, "main")


# --- CI ---------------------------------------------------------------------------------------------


async def test_ci_passes_when_checks_and_statuses_succeed(github: FakeGitHub, provider: GitHubActions) -> None:
    sha = github.add_ref("main")
    github.add_check_run(sha, "lint")
    github.add_check_run(sha, "docs", conclusion="skipped")
    github.add_status(sha, "ci/jenkins", "success")
    status = await provider.ci_status("acme/api", sha)
    assert (status.verdict, status.summary) == (CiVerdict.PASS, "3 checks passed")
    assert status.url == f"{github.url}/acme/api/commit/{sha}/checks"


async def test_ci_fails_naming_the_failing_checks(github: FakeGitHub, provider: GitHubActions) -> None:
    sha = github.add_ref("main")
    github.add_check_run(sha, "lint")
    failing = github.add_check_run(sha, "test", conclusion="failure")
    github.add_check_run(sha, "e2e", conclusion="timed_out")
    github.add_status(sha, "ci/jenkins", "error")
    status = await provider.ci_status("acme/api", sha)
    assert status.verdict is CiVerdict.FAIL
    assert status.summary == "test failed, e2e timed out, ci/jenkins errored"
    assert status.failing == ["test", "e2e", "ci/jenkins"]
    assert status.url == failing["html_url"]


async def test_ci_pending_and_none(github: FakeGitHub, provider: GitHubActions) -> None:
    sha = github.add_ref("main")
    github.add_check_run(sha, "build", status="in_progress")
    github.add_check_run(sha, "lint")
    pending = await provider.ci_status("acme/api", sha)
    assert (pending.verdict, pending.summary) == (CiVerdict.PENDING, "1 of 2 checks still running: build")
    bare = github.add_ref("bare")
    assert (await provider.ci_status("acme/api", bare)).verdict is CiVerdict.NONE


async def test_ci_reads_every_page_of_check_runs(github: FakeGitHub, provider: GitHubActions) -> None:
    sha = github.add_ref("main")
    for n in range(149):
        github.add_check_run(sha, f"shard-{n}")
    github.add_check_run(sha, "last-shard", conclusion="failure")
    status = await provider.ci_status("acme/api", sha)
    assert status.failing == ["last-shard"]
    assert [r.query["page"] for r in github.calls("checks/list-for-ref")] == ["1", "2"]
    assert {r.query["per_page"] for r in github.calls("checks/list-for-ref")} == {"100"}


# --- compare ----------------------------------------------------------------------------------------


async def test_compare_lists_commits_files_and_link(github: FakeGitHub, provider: GitHubActions) -> None:
    base, head = "b" * 40, "c" * 40
    github.set_comparison(base, head, commits=[
        ("1" * 40, "Add index\n\nLong body", "ada", "Ada Lovelace"),
        ("2" * 40, "Fix typo", None, "Grace Hopper"),  # no GitHub account: fall back to the git author
    ], files=["migrations/0042_add_index.sql", "app.py"],
        committed=["2026-03-02T09:30:00Z", "2026-03-03T10:00:00+02:00"], emails=["ada@acme.test", "not an address"])
    preview = await provider.compare("acme/api", base, head)
    assert preview.commits == [  # the committer's date (a rebase keeps the author's, which is older)
        Commit("1" * 40, "Add index", "ada", f"{github.bodies.base_url}/acme/api/commit/{'1' * 40}",
               datetime(2026, 3, 2, 9, 30, tzinfo=UTC), author_email="ada@acme.test"),  # the git author's email
        Commit("2" * 40, "Fix typo", "Grace Hopper", f"{github.bodies.base_url}/acme/api/commit/{'2' * 40}",
               datetime(2026, 3, 3, 8, 0, tzinfo=UTC)),
    ]
    assert (preview.base_sha, preview.head_sha, preview.total_commits, preview.ahead_by) == (base, head, 2, 2)
    assert preview.files == ["migrations/0042_add_index.sql", "app.py"]
    assert preview.url == f"{github.bodies.base_url}/acme/api/compare/{base}...{head}"


async def test_compare_says_when_head_is_an_ancestor_of_base(github: FakeGitHub, provider: GitHubActions) -> None:
    base, head = "b" * 40, "a" * 40
    github.set_behind(base, head, behind_by=3)
    preview = await provider.compare("acme/api", base, head)
    assert (preview.commits, preview.total_commits, preview.ahead_by) == ([], 0, 0)


async def test_compare_without_base_is_empty_and_asks_nothing(github: FakeGitHub, provider: GitHubActions) -> None:
    preview = await provider.compare("acme/api", None, "c" * 40)
    assert (preview.commits, preview.total_commits, preview.url) == ([], 0, None)
    assert github.requests == []


async def test_compare_of_unknown_commits(github: FakeGitHub, provider: GitHubActions) -> None:
    with pytest.raises(ProviderError, match="does not have both commits"):
        await provider.compare("acme/api", "b" * 40, "c" * 40)


# --- dispatch ---------------------------------------------------------------------------------------


async def test_dispatch_sends_ref_and_inputs_and_takes_the_run_id(github: FakeGitHub, provider: GitHubActions) -> None:
    run = await provider.dispatch(target(rollback=True))
    assert github.dispatches == [{
        "ref": "main", "return_run_details": True,
        "inputs": {"environment": "production", "strategy": "canary", "stage": "10", "release_id": "42",
                   "rollback": "true", "sha": "a" * 40},
    }]
    assert run.state is RunState.QUEUED
    assert int(run.id) in github.runs and run.url == github.runs[int(run.id)]["html_url"]
    assert github.calls("actions/list-workflow-runs") == []


async def test_dispatch_answered_204_finds_the_run_by_its_title(github: FakeGitHub, provider: GitHubActions,
                                                                clock: ManualClock, sleep: RecordingSleep) -> None:
    github.dispatch_returns_run = False
    github.run_visible_after = 2  # GitHub lists a new run a moment after the dispatch
    github.add_run(title="deploy production release 42 stage 10", created=clock.now() - timedelta(hours=1))
    github.add_run(title="deploy production release 421 stage 10")  # another release, same prefix
    github.add_run(title="deploy production release 42 stage 50")  # another stage of this release
    run = await provider.dispatch(target())
    assert github.runs[int(run.id)]["display_title"] == "deploy production release 42 stage 10"
    assert github.runs[int(run.id)]["created_at"] == "2024-05-06T12:00:00Z"
    assert sleep.delays == [1.0, 2.0]
    query = github.calls("actions/list-workflow-runs")[0].query
    assert query == {"event": "workflow_dispatch", "branch": "main", "per_page": "20"}


async def test_a_run_is_not_claimed_twice(github: FakeGitHub, provider: GitHubActions,
                                          sleep: RecordingSleep) -> None:
    github.dispatch_returns_run = False
    first = await provider.dispatch(target())
    github.run_visible_after = 1  # the retried stage's run (same title) shows up one search late
    second = await provider.dispatch(target())
    assert first.id != second.id
    assert sleep.delays == [1.0]


async def test_dispatch_204_without_a_recognisable_run_explains_run_name(
        github: FakeGitHub, provider: GitHubActions, sleep: RecordingSleep) -> None:
    github.dispatch_returns_run = False
    github.run_title = lambda inputs: "Deploy"  # the workflow has no run-name
    with pytest.raises(ProviderError, match=r"no run titled 'release 42' appeared within 19s; .*run-name"):
        await provider.dispatch(target())
    assert sleep.delays == list(SEARCH_DELAYS)
    assert len(github.calls("actions/list-workflow-runs")) == len(SEARCH_DELAYS) + 1


async def test_an_enterprise_server_without_run_details_gets_a_plain_dispatch(
        github: FakeGitHub, provider: GitHubActions) -> None:
    github.dispatch_returns_run = False
    github.rejects_return_run_details = True
    run = await provider.dispatch(target())
    assert [("return_run_details" in d) for d in github.dispatches] == [False]
    assert len(github.calls("actions/create-workflow-dispatch")) == 2
    assert int(run.id) in github.runs


async def test_dispatch_is_not_repeated_after_a_server_error(github: FakeGitHub, provider: GitHubActions) -> None:
    github.inject(502, operation_id="actions/create-workflow-dispatch", message="Bad Gateway")
    with pytest.raises(ProviderError, match=r"^GitHub failed to start workflow deploy\.yml on acme/api at main after "
                                            r"1 try: 502 Bad Gateway — Bad Gateway; it may have acted"):
        await provider.dispatch(target())
    assert len(github.calls("actions/create-workflow-dispatch")) == 1


async def test_a_service_without_workflow(provider: GitHubActions) -> None:
    with pytest.raises(ProviderError, match="has no workflow configured"):
        await provider.dispatch(target(workflow=None))


# --- poll and cancel --------------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "conclusion", "state", "detail"), [
    ("queued", None, RunState.QUEUED, "queued"),
    ("waiting", None, RunState.QUEUED, "waiting for approval of a protected environment"),
    ("requested", None, RunState.QUEUED, "queued"),
    ("pending", None, RunState.QUEUED, "queued"),
    ("in_progress", None, RunState.RUNNING, "in progress"),
    ("completed", "success", RunState.SUCCEEDED, "succeeded"),
    ("completed", "cancelled", RunState.CANCELLED, "cancelled"),
    ("completed", "timed_out", RunState.FAILED, "timed_out: job deploy failed"),
])
async def test_poll_maps_run_states(github: FakeGitHub, provider: GitHubActions, status: str,
                                    conclusion: str | None, state: RunState, detail: str) -> None:
    github.add_ref("main", "a" * 40)
    run_id = github.add_run(title="deploy production release 42 stage 10")
    github.advance_run(run_id, status, conclusion)
    polled = await provider.poll(target(), PipelineRun(str(run_id), RunState.QUEUED))
    assert (polled.state, polled.detail) == (state, detail)
    assert polled.url == github.runs[run_id]["html_url"]


async def test_a_failed_run_names_its_failing_jobs(github: FakeGitHub, provider: GitHubActions) -> None:
    github.add_ref("main", "a" * 40)
    run = await provider.dispatch(target())
    github.advance_run(int(run.id), "in_progress")
    assert (await provider.poll(target(), run)).state is RunState.RUNNING
    github.advance_run(int(run.id), "completed", "failure")
    github.set_jobs(int(run.id), [("build", "success"), ("deploy-canary", "failure"), ("smoke", "failure")])
    polled = await provider.poll(target(), run)
    assert (polled.state, polled.detail) == (RunState.FAILED, "failure: jobs deploy-canary, smoke failed")
    assert github.calls("actions/list-jobs-for-workflow-run")[0].query == {"filter": "latest", "per_page": "100"}


async def test_poll_says_when_the_ref_moved(github: FakeGitHub, provider: GitHubActions) -> None:
    github.add_ref("main", "d" * 40)
    run = await provider.dispatch(target(sha="a" * 40))
    polled = await provider.poll(target(sha="a" * 40), run)
    assert polled.detail == "queued (ran on ddddddd, not aaaaaaa: main moved since the release)"


async def test_cancel_a_running_run_and_a_finished_one(github: FakeGitHub, provider: GitHubActions) -> None:
    run = await provider.dispatch(target())
    await provider.cancel(target(), run)
    assert github.runs[int(run.id)]["conclusion"] == "cancelled"
    await provider.cancel(target(), run)  # already finished: GitHub answers 409, which is fine
    assert [r.operation_id for r in github.requests[-2:]] == ["actions/cancel-workflow-run",
                                                             "actions/get-workflow-run"]


# --- deployments ------------------------------------------------------------------------------------


async def test_report_mirrors_the_release_into_one_deployment(github: FakeGitHub, provider: GitHubActions,
                                                              client: httpx.AsyncClient, clock: ManualClock) -> None:
    run = await provider.dispatch(target())
    await provider.report(target(), run, "running", "Stage 10% of release 42 deploying")
    await provider.report(target(stage=50), run, "succeeded", "Release 42 " + "x" * 200)
    assert len(github.deployments) == 1
    deployment = github.deployments[0]
    assert github.calls("repos/create-deployment")[0].body == {
        "ref": "a" * 40, "task": "deploy", "environment": "production", "auto_merge": False,
        "required_contexts": [], "description": "Stage 10% of release 42 deploying",
        "payload": {"release_id": 42, "stage": 10, "strategy": "canary", "service": "api", "rollback": False},
        "transient_environment": False, "production_environment": True,
    }
    statuses = github.deployment_statuses[deployment["id"]]
    assert [s["state"] for s in statuses] == ["in_progress", "success"]
    assert statuses[0]["log_url"] == run.url
    assert len(statuses[1]["description"]) == 140

    # After a restart the deployment is found again, not created twice.
    restarted = GitHubActions(github_config(github.url), TOKEN, client, clock=clock)
    await restarted.report(target(stage=100), None, "inactive", "Rolled back")
    assert len(github.deployments) == 1
    assert [s["state"] for s in github.deployment_statuses[deployment["id"]]][-1] == "inactive"
    assert github.calls("repos/list-deployments")[-1].query == {"sha": "a" * 40, "environment": "production",
                                                               "per_page": "100"}


async def test_report_refuses_an_unknown_state(provider: GitHubActions) -> None:
    with pytest.raises(ValueError, match="no GitHub deployment state for 'exploded'"):
        await provider.report(target(), None, "exploded", "?")


# --- transport, enterprise, auth --------------------------------------------------------------------


async def test_reads_retry_on_502_and_429(github: FakeGitHub, provider: GitHubActions, sleep: RecordingSleep,
                                          caplog: pytest.LogCaptureFixture) -> None:
    sha = github.add_ref("main")
    github.inject(502, operation_id="repos/get-combined-status-for-ref")
    github.inject(429, operation_id="repos/get-combined-status-for-ref", headers={"Retry-After": "3"})
    caplog.set_level(logging.DEBUG)
    assert await provider.resolve_ref("acme/api", "main") == sha
    assert len(sleep.delays) == 2 and 0.25 <= sleep.delays[0] <= 0.5 and sleep.delays[1] == 3.0
    retried = [r for r in caplog.records if r.getMessage() == "provider request retried"]
    assert [r.__dict__["outcome"] for r in retried] == ["502 Bad Gateway", "429 Too Many Requests"]
    assert all(r.__dict__["operation"] == "look up ref main in acme/api" for r in retried)
    assert TOKEN not in caplog.text and all(TOKEN not in str(v) for r in caplog.records for v in vars(r).values())


async def test_github_enterprise_base_url(github_contract: GitHubContract, clock: ManualClock,
                                          client: httpx.AsyncClient, sleep: RecordingSleep) -> None:
    ghes = await FakeGitHub(github_contract, clock=clock.now, token=TOKEN, prefix="/api/v3").start()
    try:
        sha = ghes.add_ref("main")
        ghes.add_check_run(sha, "build")
        provider = GitHubActions(github_config(ghes.url), TOKEN, client, sleep=sleep, clock=clock)
        status = await provider.ci_status("acme/api", await provider.resolve_ref("acme/api", "main"))
        assert status.url == f"{ghes.bodies.base_url}/acme/api/commit/{sha}/checks"
        assert ghes.violations == []
    finally:
        await ghes.stop()


async def test_a_bad_token_is_refused_once_and_never_quoted(github: FakeGitHub, client: httpx.AsyncClient,
                                                            sleep: RecordingSleep) -> None:
    wrong = "ghp_" + "W" * 36
    provider = GitHubActions(github_config(github.url), wrong, client, sleep=sleep)
    with pytest.raises(ProviderError) as error:
        await provider.resolve_ref("acme/api", "main")
    assert str(error.value) == "GitHub refused to look up ref main in acme/api: 401 Unauthorized — " \
                               "Bad credentials (check the provider token)"
    assert len(github.requests) == 1 and sleep.delays == []


async def test_every_request_carries_the_github_headers(github: FakeGitHub, provider: GitHubActions) -> None:
    github.add_ref("main")
    await provider.resolve_ref("acme/api", "main")
    headers = github.requests[0].headers
    assert headers["Authorization"] == f"Bearer {TOKEN}"
    assert headers["Accept"] == "application/vnd.github+json"
    assert headers["X-GitHub-Api-Version"] == "2022-11-28"
    assert headers["User-Agent"] == "switchman"
