"""The GitLab provider against the contract-checking fake GitLab: each call, each status, each failure."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from bot.clock import ManualClock
from bot.config.models import Provider as ProviderConfig
from bot.errors import ProviderError
from bot.providers.base import CiVerdict, DeployTarget, PipelineRun, RunState
from bot.providers.gitlab import GitLab
from bot.providers.gitlab_pipelines import RUN_STATES
from tests.contracts.gitlab_contract import GitLabContract
from tests.fakes.gitlab_server import FakeGitLab, Plan
from tests.providers.conftest import RecordingSleep

TOKEN = "glpat-" + "Pr1vateT0ken" * 2
TRIGGER = "glptt-" + "Tr1gger" * 4
SHA = "9f" * 20
OLD = "41" * 20
CREATE = "postApiV4ProjectsIdPipeline"
GET_PIPELINE = "getApiV4ProjectsIdPipelinesPipelineId"


@pytest.fixture(scope="session")
def contract() -> GitLabContract:
    return GitLabContract.load()


@pytest.fixture
async def gitlab(contract: GitLabContract, clock: ManualClock) -> AsyncIterator[FakeGitLab]:
    fake = await FakeGitLab(contract, clock=clock.now, token=TOKEN, trigger_token=TRIGGER).start()
    fake.add_ref("main", SHA)
    fake.add_ref("v1.4.2", SHA, tag=True)
    fake.add_ref("v1.4.1", OLD, tag=True)
    yield fake
    await fake.stop()
    assert fake.violations == [], "requests or responses GitLab's contract does not allow"


def config(url: str, **overrides: Any) -> ProviderConfig:
    return ProviderConfig.model_validate({"kind": "gitlab", "api_url": url, "token_env": "GITLAB_TOKEN",
                                          **overrides})


def make(gitlab: FakeGitLab, client: httpx.AsyncClient, sleep: RecordingSleep, clock: ManualClock,
         **overrides: Any) -> GitLab:
    trigger = overrides.pop("trigger_token", None)
    return GitLab(config(gitlab.url, **overrides), TOKEN, client, trigger_token=trigger, sleep=sleep, clock=clock)


@pytest.fixture
def provider(gitlab: FakeGitLab, client: httpx.AsyncClient, sleep: RecordingSleep, clock: ManualClock) -> GitLab:
    return make(gitlab, client, sleep, clock)


def target(**overrides: Any) -> DeployTarget:
    values: dict[str, Any] = {
        "repo": "acme/api", "workflow": None, "service": "api", "environment": "production", "ref": "v1.4.2",
        "sha": SHA, "strategy": "canary", "stage": 50, "release_id": 42}
    return DeployTarget(**{**values, **overrides})


# --- refs -------------------------------------------------------------------------------------------
async def test_resolve_ref_takes_tags_branches_and_commits(provider: GitLab, gitlab: FakeGitLab) -> None:
    gitlab.add_ref("feature/login", "ab" * 20)
    assert await provider.resolve_ref("acme/api", "v1.4.2") == SHA
    assert await provider.resolve_ref("acme/api", "feature/login") == "ab" * 20
    assert await provider.resolve_ref("acme/api", SHA[:10]) == SHA
    paths = [r.path for r in gitlab.calls("getApiV4ProjectsIdRepositoryCommitsSha")]
    assert paths[1] == "/api/v4/projects/acme%2Fapi/repository/commits/feature%2Flogin"
    assert all(r.headers.get("PRIVATE-TOKEN") == TOKEN for r in gitlab.requests)


async def test_an_unknown_ref_and_an_unknown_project_are_told_apart(provider: GitLab) -> None:
    with pytest.raises(ProviderError, match=r"^ref v9 not found in GitLab project acme/api$"):
        await provider.resolve_ref("acme/api", "v9")
    with pytest.raises(ProviderError, match=r"^GitLab project acme/web not found \(or the GitLab token cannot read"):
        await provider.resolve_ref("acme/web", "main")
    with pytest.raises(ProviderError, match="GitLab needs repo: group/name"):
        await provider.resolve_ref(None, "main")


async def test_refused_credentials_name_gitlab_and_never_the_token(
        gitlab: FakeGitLab, client: httpx.AsyncClient, sleep: RecordingSleep, clock: ManualClock,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = GitLab(config(gitlab.url), TOKEN + "x", client, sleep=sleep, clock=clock)
    with pytest.raises(ProviderError) as refused:
        await wrong.resolve_ref("acme/api", "main")
    assert str(refused.value) == ("GitLab refused to look up ref main in acme/api: 401 Unauthorized — "
                                  "401 Unauthorized (check the provider token)")
    provider = make(gitlab, client, sleep, clock)
    gitlab.inject(403, message=f"403 Forbidden: token {TOKEN} lacks the api scope")
    with pytest.raises(ProviderError) as forbidden:
        await provider.ci_status("acme/api", SHA)
    assert str(forbidden.value).startswith("GitLab refused to list pipelines of 9f9f9f9f in acme/api: 403 Forbidden")
    gitlab.inject(500, times=4, message=f"500 boom {TOKEN}")
    with pytest.raises(ProviderError) as failed:
        await provider.resolve_ref("acme/api", "main")
    assert "GitLab failed to look up ref main in acme/api after 4 tries: 500 Internal Server Error" in str(failed.value)
    for text in (str(refused.value), str(forbidden.value), str(failed.value), caplog.text):
        assert TOKEN not in text and "Pr1vateT0ken" not in text
    assert "[redacted]" in str(forbidden.value)


async def test_unreachable_gitlab_is_named(client: httpx.AsyncClient, sleep: RecordingSleep,
                                           clock: ManualClock) -> None:
    closed = GitLab(config("http://127.0.0.1:9", retries=1), TOKEN, client, sleep=sleep, clock=clock)
    with pytest.raises(ProviderError, match=r"^GitLab could not be reached at http://127.0.0.1:9/api/v4 after 2 tries "
                                            r"to look up ref main in acme/api: connection refused$"):
        await closed.resolve_ref("acme/api", "main")


# --- CI verdict -------------------------------------------------------------------------------------
async def test_ci_status_reads_the_newest_ci_pipeline(provider: GitLab, gitlab: FakeGitLab) -> None:
    assert (await provider.ci_status("acme/api", SHA)).verdict == CiVerdict.NONE
    gitlab.add_pipeline(SHA, "main", "failed", jobs=[("lint", "failed", "script_failure")])
    passed = gitlab.add_pipeline(SHA, "main", "success", jobs=[("build", "success", None)])
    gitlab.add_pipeline(SHA, "v1.4.2", "failed", source="api")  # a deploy pipeline, not CI
    status = await provider.ci_status("acme/api", SHA)
    assert (status.verdict, status.summary) == (CiVerdict.PASS, f"pipeline {passed} passed")
    assert status.url == f"{gitlab.url}/acme/api/-/pipelines/{passed}"

    failing = gitlab.add_pipeline(SHA, "main", "failed", jobs=[
        ("build", "success", None), ("unit-tests", "failed", "script_failure"), ("lint", "failed", None)])
    gitlab.jobs[failing][2]["allow_failure"] = True
    status = await provider.ci_status("acme/api", SHA)
    assert (status.verdict, status.summary, status.failing) == (
        CiVerdict.FAIL, f"pipeline {failing} failed: unit-tests", ["unit-tests"])

    running = gitlab.add_pipeline(SHA, "main", "running")
    status = await provider.ci_status("acme/api", SHA)
    assert (status.verdict, status.summary) == (CiVerdict.PENDING, f"pipeline {running} is running")
    skipped = gitlab.add_pipeline(SHA, "main", "skipped")
    status = await provider.ci_status("acme/api", SHA)
    assert (status.verdict, status.summary) == (CiVerdict.NONE,
                                                f"pipeline {skipped} was skipped: nothing ran for this commit")
    assert gitlab.calls("getApiV4ProjectsIdPipelines")[0].query == {
        "sha": SHA, "order_by": "id", "sort": "desc", "per_page": "20"}


async def test_ci_status_falls_back_to_api_pipelines_when_there_is_no_other(provider: GitLab,
                                                                             gitlab: FakeGitLab) -> None:
    canceled = gitlab.add_pipeline(SHA, "main", "canceled", source="api", jobs=[("test", "canceled", None)])
    status = await provider.ci_status("acme/api", SHA)
    assert (status.verdict, status.summary) == (CiVerdict.FAIL, f"pipeline {canceled} was canceled: test")


# --- compare ----------------------------------------------------------------------------------------
async def test_compare_lists_commits_files_and_ahead_by(provider: GitLab, gitlab: FakeGitLab) -> None:
    gitlab.add_commit("c1" * 20, "Add login", "Grace Hopper")
    gitlab.commits["c1" * 20].update(committed_date="2026-03-02T09:30:00.000+01:00",
                                     authored_date="2026-02-27T09:30:00.000+01:00",  # rebased: the committer counts
                                     author_email="grace@acme.test", committer_email="ci@acme.test")
    gitlab.set_comparison(OLD, SHA, ["c1" * 20, SHA], ["app/login.py", "README.md"])
    preview = await provider.compare("acme/api", OLD, SHA)
    assert preview.commits[0].committed_at == datetime(2026, 3, 2, 8, 30, tzinfo=UTC)
    assert [(c.sha, c.title, c.author) for c in preview.commits] == [("c1" * 20, "Add login", "Grace Hopper"),
                                                                    (SHA, "a change", "Ada Lovelace")]
    assert [c.author_email for c in preview.commits] == ["grace@acme.test", "ada@example.com"]  # the author's
    assert all(c.committed_at is not None and c.committed_at.tzinfo is not None for c in preview.commits)
    assert (preview.total_commits, preview.ahead_by, preview.files) == (2, 2, ["app/login.py", "README.md"])
    assert preview.url == f"{gitlab.url}/acme/api/-/compare/{OLD}...{SHA}"
    behind = await provider.compare("acme/api", SHA, OLD)  # head is an ancestor of base: nothing ahead
    assert (behind.ahead_by, behind.commits) == (0, [])
    first = await provider.compare("acme/api", None, SHA)
    assert (first.total_commits, first.ahead_by) == (0, None)
    with pytest.raises(ProviderError, match="one of deadbeef and 9f9f9f9f not found in GitLab project acme/api"):
        await provider.compare("acme/api", "deadbeef", SHA)


# --- pipelines --------------------------------------------------------------------------------------
async def test_dispatch_creates_a_pipeline_with_the_switchman_variables(provider: GitLab,
                                                                        gitlab: FakeGitLab) -> None:
    run = await provider.dispatch(target(dispatch_ref="main", ref=SHA))
    [created] = gitlab.created()
    assert run == PipelineRun(str(created), RunState.QUEUED, f"{gitlab.url}/acme/api/-/pipelines/{created}",
                              f"pipeline {created} created")
    [call] = gitlab.calls(CREATE)
    assert call.body == {"ref": "main", "variables": [
        {"key": "SWITCHMAN_ENVIRONMENT", "value": "production"}, {"key": "SWITCHMAN_STRATEGY", "value": "canary"},
        {"key": "SWITCHMAN_STAGE", "value": "50"}, {"key": "SWITCHMAN_RELEASE_ID", "value": "42"},
        {"key": "SWITCHMAN_ROLLBACK", "value": "false"}, {"key": "SWITCHMAN_SHA", "value": SHA}]}


async def test_dispatch_through_the_trigger_api_sends_the_trigger_token_not_the_private_token(
        gitlab: FakeGitLab, client: httpx.AsyncClient, sleep: RecordingSleep, clock: ManualClock) -> None:
    provider = make(gitlab, client, sleep, clock, trigger_token=TRIGGER, trigger_token_env="GITLAB_TRIGGER")
    run = await provider.dispatch(target(rollback=True))
    [call] = gitlab.calls("postApiV4ProjectsId(refRef)triggerPipeline")
    assert call.path == "/api/v4/projects/acme%2Fapi/trigger/pipeline" and "PRIVATE-TOKEN" not in call.headers
    assert call.body["token"] == TRIGGER and call.body["variables"]["SWITCHMAN_ROLLBACK"] == "true"
    assert gitlab.pipelines[int(run.id)]["source"] == "trigger"
    wrong = make(gitlab, client, sleep, clock, trigger_token=TRIGGER + "x", trigger_token_env="GITLAB_TRIGGER")
    with pytest.raises(ProviderError, match=r"404 Not Found — the trigger token is not valid for acme/api, or the "
                                            r"project does not exist$") as refused:
        await wrong.dispatch(target())
    assert TRIGGER not in str(refused.value)
    unset = make(gitlab, client, sleep, clock, trigger_token_env="GITLAB_TRIGGER")
    with pytest.raises(ProviderError, match="set the environment variable GITLAB_TRIGGER"):
        await unset.dispatch(target())


async def test_a_refused_dispatch_says_why(provider: GitLab, gitlab: FakeGitLab) -> None:
    with pytest.raises(ProviderError, match=r"^GitLab refused to start a pipeline on acme/api at nope: "
                                            r"Reference not found$"):
        await provider.dispatch(target(ref="nope"))
    with pytest.raises(ProviderError, match=r"^GitLab project acme/web not found \(or the GitLab token cannot read"):
        await provider.dispatch(target(repo="acme/web"))


async def test_a_dispatch_is_not_repeated_after_a_500_but_is_after_a_429(
        provider: GitLab, gitlab: FakeGitLab, sleep: RecordingSleep) -> None:
    gitlab.inject(500, operation_id=CREATE)
    with pytest.raises(ProviderError, match="it may have acted on the request, check GitLab before trying again"):
        await provider.dispatch(target())
    assert len(gitlab.calls(CREATE)) == 1
    gitlab.inject(429, operation_id=CREATE, headers={"Retry-After": "7"}, message="429 Too Many Requests")
    run = await provider.dispatch(target())
    assert sleep.delays == [7.0] and len(gitlab.calls(CREATE)) == 3 and gitlab.created() == [int(run.id)]


@pytest.mark.parametrize("status", sorted(RUN_STATES))
async def test_poll_maps_every_pipeline_status(provider: GitLab, gitlab: FakeGitLab, status: str) -> None:
    pipeline = gitlab.add_pipeline(SHA, "v1.4.2", status, source="api", jobs=[("deploy", "success", None)])
    polled = await provider.poll(target(), PipelineRun(str(pipeline), RunState.QUEUED))
    expected = {"created": "queued", "waiting_for_resource": "queued", "preparing": "queued",
                "waiting_for_callback": "queued", "pending": "queued", "scheduled": "queued", "manual": "queued",
                "running": "running", "canceling": "running", "success": "succeeded", "failed": "failed",
                "canceled": "cancelled", "skipped": "cancelled"}
    assert polled.state.value == expected[status]


def test_every_status_in_the_contract_is_mapped(contract: GitLabContract) -> None:
    enum = contract.spec["definitions"]["API_Entities_Ci_PipelineBasic"]["properties"]["status"]["enum"]
    assert set(enum) == set(RUN_STATES)


async def test_poll_follows_a_pipeline_and_names_the_failed_job(provider: GitLab, gitlab: FakeGitLab) -> None:
    gitlab.next_plans.append(Plan(["created", "pending", "pending", "running", "failed"], "deploy-canary",
                                  "runner_system_failure"))
    run = await provider.dispatch(target())
    seen = []
    while not run.state.finished:
        run = await provider.poll(target(), run)
        seen.append((run.state, run.detail))
    assert seen[:3] == [(RunState.QUEUED, "pending: waiting for a runner")] * 2 + [(RunState.RUNNING, "running")]
    assert run.state == RunState.FAILED
    assert run.detail == (f"pipeline {run.id} failed: job deploy-canary (stage deploy) failed: "
                          "runner_system_failure")


async def test_poll_says_when_the_ref_moved(provider: GitLab, gitlab: FakeGitLab) -> None:
    pipeline = gitlab.add_pipeline(SHA, "main", "running", source="api")
    run = await provider.poll(target(sha=OLD, ref=OLD, dispatch_ref="main"), PipelineRun(str(pipeline),
                                                                                       RunState.QUEUED))
    assert run.detail == "running (ran on 9f9f9f9f, not 41414141: main moved since the release)"
    with pytest.raises(ProviderError, match="pipeline 99999 not found in GitLab project acme/api"):
        await provider.poll(target(), PipelineRun("99999", RunState.QUEUED))


async def test_cancel_stops_the_pipeline_and_is_harmless_twice(provider: GitLab, gitlab: FakeGitLab) -> None:
    run = await provider.dispatch(target())
    await provider.cancel(target(), run)
    await provider.cancel(target(), run)
    polled = await provider.poll(target(), run)
    assert (polled.state, polled.detail) == (RunState.CANCELLED, f"pipeline {run.id} was canceled in GitLab")


async def test_find_run_after_a_restart(gitlab: FakeGitLab, client: httpx.AsyncClient, sleep: RecordingSleep,
                                        clock: ManualClock) -> None:
    since = clock.now()
    clock.advance(timedelta(seconds=5))
    earlier_stage = gitlab.add_pipeline(SHA, "v1.4.2", "success", source="api")  # stage 1, finished
    assert await make(gitlab, client, sleep, clock).find_run(target(), since=since) is None
    interrupted = gitlab.add_pipeline(SHA, "v1.4.2", "pending", source="api", name="Deploy pipeline")
    gitlab.add_pipeline(SHA, "v1.4.2", "pending", source="push")  # CI, not a deploy
    found = await make(gitlab, client, sleep, clock).find_run(target(), since=since)
    assert found is not None and found.id == str(interrupted) and found.state == RunState.QUEUED
    assert gitlab.calls("getApiV4ProjectsIdPipelines")[-1].query["ref"] == "v1.4.2"
    # Named pipelines (workflow:name) are matched on release and stage, finished or not.
    named = gitlab.add_pipeline(SHA, "v1.4.2", "success", source="api", name="deploy production release 42 stage 50")
    gitlab.add_pipeline(SHA, "v1.4.2", "running", source="api", name="deploy production release 43 stage 50")
    found = await make(gitlab, client, sleep, clock).find_run(target(), since=since)
    assert found is not None and found.id == str(named)
    assert earlier_stage not in (int(found.id), interrupted)


# --- deployments ------------------------------------------------------------------------------------
async def test_report_keeps_a_gitlab_deployment_in_step(gitlab: FakeGitLab, client: httpx.AsyncClient,
                                                        sleep: RecordingSleep, clock: ManualClock) -> None:
    provider = make(gitlab, client, sleep, clock)
    await provider.report(target(), None, "in_progress", "Stage 1/2 (50%) running")
    await provider.report(target(stage=100), None, "in_progress", "Stage 2/2 (100%) running")
    restarted = make(gitlab, client, sleep, clock)
    await restarted.report(target(stage=100), None, "success", "released by Switchman")
    [deployment] = gitlab.deployments
    assert gitlab.deployment_requests == [{"environment": "production", "sha": SHA, "ref": "v1.4.2", "tag": True,
                                           "status": "running"}]
    assert gitlab.deployment_history[deployment["id"]] == ["running", "success"]
    await provider.report(target(release_id=43, ref=SHA, dispatch_ref="main"), None, "failed", "x")
    assert gitlab.deployment_requests[-1] == {"environment": "production", "sha": SHA, "ref": "main", "tag": False,
                                              "status": "failed"}


# --- retries and timeouts ---------------------------------------------------------------------------
async def test_a_burst_of_500s_and_a_429_are_ridden_out(provider: GitLab, gitlab: FakeGitLab,
                                                        sleep: RecordingSleep) -> None:
    run = await provider.dispatch(target())
    gitlab.inject(500, operation_id=GET_PIPELINE, times=2)
    gitlab.inject(429, operation_id=GET_PIPELINE, headers={"Retry-After": "12"}, message="429 Too Many Requests")
    polled = await provider.poll(target(), run)
    assert polled.state == RunState.QUEUED and len(gitlab.calls(GET_PIPELINE)) == 4
    assert len(sleep.delays) == 3 and sleep.delays[-1] == 12.0


async def test_an_answer_held_past_the_timeout_ends_in_an_error_naming_gitlab(
        gitlab: FakeGitLab, client: httpx.AsyncClient, sleep: RecordingSleep, clock: ManualClock,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    provider = make(gitlab, client, sleep, clock, timeout="200ms", retries=1)
    run = await provider.dispatch(target())
    gitlab.hold(5, operation_id=GET_PIPELINE, times=2)
    with pytest.raises(ProviderError) as held:
        await provider.poll(target(), run)
    assert str(held.value) == (f"GitLab could not be reached at {gitlab.url}/api/v4 after 2 tries to get the state of "
                               f"pipeline {run.id} on acme/api: no answer within 0.2s")
    assert TOKEN not in caplog.text
    assert any(json.dumps(r.__dict__.get("outcome")) == '"no answer within 0.2s"' for r in caplog.records)


# --- the contract checker itself --------------------------------------------------------------------
def test_the_contract_rejects_what_gitlab_would(contract: GitLabContract) -> None:
    project = "/api/v4/projects/acme%2Fapi"
    token = {"PRIVATE-TOKEN": TOKEN}
    assert contract.check_request("GET", f"{project}/pipelines", [("sha", SHA), ("per_page", "100")], token, b"") == []
    assert contract.check_request("GET", f"{project}/pipelines", [], {}, b"") == [
        f"GET {project}/pipelines (getApiV4ProjectsIdPipelines): header PRIVATE-TOKEN missing"]
    assert "no operation in the contract matches" in contract.check_request(
        "GET", "/api/v4/projects/acme/api/pipelines", [], token, b"")[0]  # the project path must be encoded
    assert "query parameter 'branch' is not declared" in contract.check_request(
        "GET", f"{project}/pipelines", [("branch", "main")], token, b"")[0]
    assert "query parameter status='done' does not fit" in contract.check_request(
        "GET", f"{project}/pipelines", [("status", "done")], token, b"")[0]
    assert "required query parameter 'to' missing" in contract.check_request(
        "GET", f"{project}/repository/compare", [("from", "main")], token, b"")[0]
    body = json.dumps({"ref": "main", "variables": {"A": "b"}}).encode()
    problems = contract.check_request("POST", f"{project}/pipeline", [],
                                      {**token, "Content-Type": "application/json"}, body)
    assert problems and "is not of type 'array'" in problems[0]
    trigger = json.dumps({"ref": "main", "token": TRIGGER, "variables": {"A": "b"}}).encode()
    assert contract.check_request("POST", f"{project}/trigger/pipeline", [],
                                  {"Content-Type": "application/json"}, trigger) == []
    assert contract.check_request("POST", f"{project}/ref/main/trigger/pipeline", [],
                                  {"Content-Type": "application/json"}, trigger) == []
    assert contract.check_response("POST", f"{project}/pipelines/7/cancel", 200, {"id": 7}) != []  # not a pipeline
    assert contract.check_response("GET", f"{project}/pipelines/7", 418, None) == [
        "getApiV4ProjectsIdPipelinesPipelineId response 418: status 418 is not declared for "
        "getApiV4ProjectsIdPipelinesPipelineId"]
