"""The Argo CD provider against the contract-checking fake Argo CD: syncs, polls, rollback, cancel, failures."""

from __future__ import annotations

import copy
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from bot.clock import ManualClock
from bot.config.models import Provider as ProviderConfig
from bot.errors import ProviderError
from bot.providers.argocd import ArgoCD
from bot.providers.base import DeployTarget, PipelineRun, RunState
from tests.contracts.argocd_contract import ArgoCDContract
from tests.fakes.argocd_server import FakeArgoCD
from tests.providers.conftest import RecordingSleep

TOKEN = "eyJhbGciOiJIUzI1NiJ9." + "QXJnb0NEVG9rZW4" * 4  # shaped like an Argo CD JWT
APP = "api-production"
OLD, NEW = "0a" * 20, "9f" * 20


@pytest.fixture(scope="session")
def argocd_contract() -> ArgoCDContract:
    return ArgoCDContract.load()


@pytest.fixture
async def argocd(argocd_contract: ArgoCDContract, clock: ManualClock) -> AsyncIterator[FakeArgoCD]:
    fake = await FakeArgoCD(argocd_contract, clock=clock.now, token=TOKEN).start()
    fake.add_app(APP, project="payments", revision=OLD)
    yield fake
    await fake.stop()
    assert fake.violations == [], "requests or responses Argo CD's contract does not allow"


def argocd_config(api_url: str, **overrides: Any) -> ProviderConfig:
    return ProviderConfig.model_validate({"kind": "argocd", "api_url": api_url, "token_env": "ARGOCD_TOKEN",
                                          **overrides})


def make(argocd: FakeArgoCD, client: httpx.AsyncClient, sleep: RecordingSleep, clock: ManualClock, *,
         token: str = TOKEN, **overrides: Any) -> ArgoCD:
    return ArgoCD(argocd_config(argocd.url, **overrides), token, client, sleep=sleep, clock=clock)


@pytest.fixture
def provider(argocd: FakeArgoCD, client: httpx.AsyncClient, sleep: RecordingSleep, clock: ManualClock) -> ArgoCD:
    return make(argocd, client, sleep, clock, project="payments")


def target(**overrides: Any) -> DeployTarget:
    values: dict[str, Any] = {"repo": "acme/api", "workflow": None, "service": "api", "environment": "production",
                              "ref": "v1.4.2", "sha": NEW, "strategy": "rolling", "stage": 100, "release_id": 42,
                              "application": APP}
    return DeployTarget(**{**values, **overrides})


async def follow(provider: ArgoCD, goal: DeployTarget, run: PipelineRun, clock: ManualClock,
                 limit: int = 10) -> list[PipelineRun]:
    seen = []
    for _ in range(limit):
        clock.advance(timedelta(seconds=5))
        run = await provider.poll(goal, run)
        seen.append(run)
        if run.state.finished:
            break
    return seen


async def test_it_sends_code_questions_to_the_ci_provider(provider: ArgoCD, argocd: FakeArgoCD) -> None:
    for call in (provider.resolve_ref("acme/api", "v1.4.2"), provider.ci_status("acme/api", NEW),
                 provider.compare("acme/api", OLD, NEW)):
        with pytest.raises(ProviderError, match=r"Argo CD deploys but does not know the code.*as ci:"):
            await call
    assert argocd.requests == []


async def test_a_sync_runs_until_synced_and_healthy(provider: ArgoCD, argocd: FakeArgoCD,
                                                    clock: ManualClock) -> None:
    argocd.script(APP, running_polls=1, progressing_polls=1)
    run = await provider.dispatch(target())
    assert run.id.startswith(f"{APP}@") and run.state == RunState.QUEUED
    assert run.url == f"{argocd.url}/applications/{APP}"
    sync = argocd.calls("ApplicationService_Sync")[0]
    assert sync.body == {"name": APP, "project": "payments", "revision": NEW, "prune": False,
                         "infos": [{"name": "switchman-release", "value": "42"},
                                   {"name": "switchman-stage", "value": "100"}]}
    assert sync.headers["Authorization"] == f"Bearer {TOKEN}"
    assert argocd.calls("ApplicationService_Get")[0].query == {"project": "payments"}

    seen = await follow(provider, target(), run, clock)
    assert [r.state for r in seen] == [RunState.RUNNING, RunState.RUNNING, RunState.SUCCEEDED]
    assert seen[0].detail == ("Argo CD sync Running (sync OutOfSync, health Progressing): "
                              "one or more tasks are running")
    assert "waiting for health (sync Synced, health Progressing)" in seen[1].detail
    assert seen[-1].detail == f"Argo CD synced {NEW[:7]}; sync Synced, health Healthy"
    assert [r.id for r in seen] == [run.id] * 3


@pytest.mark.parametrize(("outcome", "health", "expected"), [
    ("Failed", "Healthy", "Argo CD sync Failed (sync OutOfSync, health Progressing): one or more objects failed to "
                          "apply, reason: Deployment.apps \"api\" is invalid"),
    ("Error", "Healthy", "Argo CD sync Error (sync OutOfSync, health Progressing): one or more objects failed"),
    ("Succeeded", "Degraded", f"Argo CD synced {NEW[:7]} but the application is Degraded (sync Synced, "
                              f"health Degraded)"),
    ("Succeeded", "Missing", f"Argo CD synced {NEW[:7]} but the application is Missing"),
])
async def test_failed_syncs_and_bad_health_fail_the_run(provider: ArgoCD, argocd: FakeArgoCD, clock: ManualClock,
                                                        outcome: str, health: str, expected: str) -> None:
    message = "one or more objects failed to apply, reason: Deployment.apps \"api\" is invalid" \
        if outcome == "Failed" else "one or more objects failed" if outcome == "Error" else ""
    argocd.script(APP, running_polls=0, outcome=outcome, message=message, progressing_polls=0, health=health)
    run = await provider.dispatch(target())
    final = (await follow(provider, target(), run, clock))[-1]
    assert final.state == RunState.FAILED
    assert final.detail.startswith(expected)


async def test_terminating_is_still_running_and_a_terminated_sync_is_cancelled(
        provider: ArgoCD, argocd: FakeArgoCD, clock: ManualClock) -> None:
    argocd.script(APP, manual=True)
    run = await provider.dispatch(target())
    argocd.apps[APP]["status"]["operationState"]["phase"] = "Terminating"
    assert (await provider.poll(target(), run)).state == RunState.RUNNING
    argocd.apps[APP]["status"]["operationState"]["phase"] = "Running"
    await provider.cancel(target(), run)
    assert argocd.calls("ApplicationService_TerminateOperation")[0].query == {"project": "payments"}
    polled = await provider.poll(target(), run)
    assert polled.state == RunState.CANCELLED and "Operation terminated" in polled.detail
    await provider.cancel(target(), run)  # nothing left to terminate: not an error
    assert len(argocd.calls("ApplicationService_TerminateOperation")) == 1


async def test_cancel_never_terminates_someone_elses_operation(provider: ArgoCD, argocd: FakeArgoCD,
                                                               clock: ManualClock) -> None:
    run = await provider.dispatch(target())
    await follow(provider, target(), run, clock)
    argocd.script(APP, manual=True)
    clock.advance(timedelta(minutes=10))
    theirs = await ArgoCD(argocd_config(argocd.url), TOKEN, provider.http.client, clock=clock).dispatch(
        target(sha=OLD, release_id=99))
    assert argocd.phase(APP) == "Running" and theirs.id != run.id
    await provider.cancel(target(), run)  # Switchman's sync is over; the running one is another release's
    assert argocd.calls("ApplicationService_TerminateOperation") == [] and argocd.phase(APP) == "Running"


async def test_a_canary_syncs_once_and_says_traffic_splitting_needs_argo_rollouts(
        provider: ArgoCD, argocd: FakeArgoCD, clock: ManualClock) -> None:
    first = target(strategy="canary", stage=50)
    run = await provider.dispatch(first)
    done = (await follow(provider, first, run, clock))[-1]
    assert done.state == RunState.SUCCEEDED
    assert "stage 50% is not a traffic split (that needs Argo Rollouts)" in done.detail

    last = target(strategy="canary", stage=100)
    again = await provider.dispatch(last)
    assert len(argocd.syncs) == 1  # the whole application is already at the release's commit
    polled = await provider.poll(last, again)
    assert polled.state == RunState.SUCCEEDED
    assert f"already synced to {NEW[:7]} by an earlier stage of this release" in polled.detail

    other_release = target(release_id=43)  # a new release of the same commit syncs for itself
    await follow(provider, other_release, await provider.dispatch(other_release), clock)
    assert len(argocd.syncs) == 2


async def test_rollback_uses_the_history_entry_of_the_commit(provider: ArgoCD, argocd: FakeArgoCD,
                                                             clock: ManualClock) -> None:
    argocd.tips[APP] = NEW  # the application's targetRevision (main) is at NEW
    await follow(provider, target(), await provider.dispatch(target()), clock)
    history = argocd.apps[APP]["status"]["history"]
    assert [h["revision"] for h in history] == [OLD, NEW]
    back = target(sha=OLD, ref="v1.4.1", rollback=True, release_id=44)
    run = await provider.dispatch(back)
    assert argocd.calls("ApplicationService_Rollback")[0].body == {"name": APP, "project": "payments",
                                                                   "id": history[0]["id"], "prune": False}
    final = (await follow(provider, back, run, clock))[-1]
    assert final.state == RunState.SUCCEEDED
    assert f"rolled back to Argo CD history entry {history[0]['id']} ({OLD[:7]})" in final.detail
    # Argo CD compares the application with main's tip, so after the rollback it is OutOfSync for good.
    assert argocd.apps[APP]["status"]["sync"] == {**argocd.apps[APP]["status"]["sync"], "status": "OutOfSync",
                                                  "revision": NEW}
    assert final.detail.startswith(f"Argo CD synced {OLD[:7]}; health Healthy (Argo CD compares api-production "
                                   f"with main at {NEW[:7]}, so it shows OutOfSync)")


async def test_rollback_without_a_history_entry_syncs_to_the_commit_and_says_so(
        provider: ArgoCD, argocd: FakeArgoCD, clock: ManualClock) -> None:
    back = target(sha="77" * 20, rollback=True)
    run = await provider.dispatch(back)
    assert argocd.calls("ApplicationService_Rollback") == []
    assert argocd.syncs[0]["revision"] == "77" * 20
    final = (await follow(provider, back, run, clock))[-1]
    assert final.state == RunState.SUCCEEDED
    assert "has no entry for 7777777 (it keeps only the last syncs), so Switchman synced to it" in final.detail


async def test_auto_sync_forbids_rollback_and_syncing_elsewhere(provider: ArgoCD, argocd: FakeArgoCD) -> None:
    argocd.set_automated(APP, True)
    with pytest.raises(ProviderError) as refused:
        await provider.dispatch(target(sha=OLD, rollback=True))
    assert str(refused.value).startswith(f"Argo CD refuses to roll back application {APP} while automated sync "
                                         f"is on")
    assert "Disable auto-sync" in str(refused.value) and "revert the change in git" in str(refused.value)
    with pytest.raises(ProviderError, match=f"has automated sync following main, so Argo CD refuses to sync it to "
                                            f"{NEW[:7]}"):
        await provider.dispatch(target())
    assert argocd.calls("ApplicationService_Rollback") == [] and argocd.syncs == []


async def test_argo_cds_own_auto_sync_refusal_is_explained_too(provider: ArgoCD, argocd: FakeArgoCD) -> None:
    """Auto-sync switched on between Switchman's read and its rollback: Argo CD's 400 gets the same words."""
    answer_get = argocd._get

    def auto_sync_switched_on_after_the_read(app: dict[str, Any], body: Any) -> Any:
        status, answered, headers = answer_get(app, body)
        answered = copy.deepcopy(answered)
        argocd.set_automated(APP, True)
        return status, answered, headers

    argocd._get = auto_sync_switched_on_after_the_read  # type: ignore[method-assign]
    with pytest.raises(ProviderError, match="refuses to roll back application api-production while automated"):
        await provider.dispatch(target(sha=OLD, rollback=True))
    assert len(argocd.calls("ApplicationService_Rollback")) == 1 and argocd.rollbacks == []


async def test_a_busy_application_is_not_synced_again(provider: ArgoCD, argocd: FakeArgoCD) -> None:
    argocd.script(APP, manual=True)
    await provider.dispatch(target())
    with pytest.raises(ProviderError, match=r"already running an operation on application api-production "
                                            r"\(sync to 9f9f9f9 by switchman\)"):
        await provider.dispatch(target(release_id=43))
    assert len(argocd.syncs) == 1


async def test_find_run_tells_whether_the_last_operation_is_ours(provider: ArgoCD, argocd: FakeArgoCD,
                                                                 clock: ManualClock) -> None:
    since = clock.now()
    assert await provider.find_run(target(), since=since) is None  # only the initial deploy of OLD
    argocd.script(APP, manual=True)
    clock.advance(timedelta(seconds=3))
    run = await provider.dispatch(target())
    found = await provider.find_run(target(), since=since)
    assert found is not None and found.id == run.id and found.state == RunState.RUNNING
    assert await provider.find_run(target(release_id=7), since=since) is None  # another release's sync
    assert await provider.find_run(target(), since=since + timedelta(minutes=5)) is None  # started before


async def test_a_sync_argo_cd_never_starts_fails_after_a_while(provider: ArgoCD, argocd: FakeArgoCD,
                                                               clock: ManualClock) -> None:
    run = PipelineRun(f"{APP}@2024-05-06T12:00:00Z", RunState.QUEUED)
    assert (await provider.poll(target(), run)).state == RunState.QUEUED
    clock.advance(timedelta(minutes=6))
    polled = await provider.poll(target(), run)
    assert polled.state == RunState.FAILED and "never started the sync of api-production" in polled.detail


async def test_report_is_a_no_op(provider: ArgoCD, argocd: FakeArgoCD) -> None:
    await provider.report(target(), None, "success", "released")
    assert argocd.requests == []


@pytest.mark.parametrize(("setup", "expected"), [
    ("bad-token", "Argo CD refused Switchman's credentials to read application api-production (401 Unauthorized): "
                  "the token in ARGOCD_TOKEN is invalid or has expired"),
    ("denied", "Argo CD denied permission to sync application api-production to 9f9f9f9 (403 Forbidden: permission "
               "denied: applications, sync, payments/api-production"),
    ("missing-in-project", "Argo CD has no application api-staging in project payments (404 while trying to read "
                           "application api-staging: applications.argoproj.io \"api-staging\" not found)"),
    ("missing-no-project", "Argo CD denied permission to read application api-staging (403 Forbidden: permission "
                           "denied): the token's account needs `applications, get` on api-staging in Argo CD's RBAC; "
                           "or the application does not exist (without project: in the provider's config, Argo CD "
                           "answers 403 for that too)"),
])
async def test_refusals_say_what_to_fix(argocd: FakeArgoCD, client: httpx.AsyncClient, sleep: RecordingSleep,
                                        clock: ManualClock, caplog: pytest.LogCaptureFixture, setup: str,
                                        expected: str) -> None:
    caplog.set_level(logging.DEBUG)
    project = None if setup == "missing-no-project" else "payments"
    provider = make(argocd, client, sleep, clock, token="wrong-" + TOKEN if setup == "bad-token" else TOKEN,
                    project=project)
    goal = target(application="api-staging") if setup.startswith("missing") else target()
    if setup == "denied":
        argocd.denied.add("sync")
    with pytest.raises(ProviderError) as refused:
        await provider.dispatch(goal)
    assert str(refused.value).startswith(expected)
    assert TOKEN not in str(refused.value) and TOKEN not in caplog.text
    assert sleep.delays == []  # refusals are not retried


async def test_a_sync_window_is_not_mistaken_for_missing_rbac(provider: ArgoCD, argocd: FakeArgoCD) -> None:
    argocd.inject(403, operation_id="ApplicationService_Sync", message="cannot sync: blocked by sync window")
    with pytest.raises(ProviderError) as refused:
        await provider.dispatch(target())
    assert str(refused.value) == ("Argo CD refused to sync application api-production to 9f9f9f9 (403 Forbidden: "
                                  "cannot sync: blocked by sync window): a sync window of the application's project "
                                  "forbids syncs now; wait for the window to open or ask an Argo CD admin")


async def test_429_with_retry_after_and_a_burst_of_500s_are_ridden_out(
        provider: ArgoCD, argocd: FakeArgoCD, sleep: RecordingSleep, clock: ManualClock,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    argocd.inject(429, operation_id="ApplicationService_Sync", headers={"Retry-After": "7"}, message="slow down")
    argocd.inject(500, operation_id="ApplicationService_Get", times=3)
    run = await provider.dispatch(target())
    assert sleep.delays[:3] == [pytest.approx(d, abs=d / 2) for d in (0.5, 1.0, 2.0)] and sleep.delays[3] == 7
    assert len(argocd.syncs) == 1
    assert (await follow(provider, target(), run, clock))[-1].state == RunState.SUCCEEDED
    assert "provider request retried" in caplog.text and TOKEN not in caplog.text


async def test_a_5xx_on_sync_is_not_repeated(provider: ArgoCD, argocd: FakeArgoCD) -> None:
    argocd.inject(502, operation_id="ApplicationService_Sync", message="bad gateway")
    with pytest.raises(ProviderError, match=r"Argo CD failed to sync application api-production to 9f9f9f9 after "
                                            r"1 try: 502 Bad Gateway — bad gateway; it may have acted"):
        await provider.dispatch(target())
    assert len(argocd.calls("ApplicationService_Sync")) == 1


async def test_a_500_burst_longer_than_the_retries_ends_in_a_clear_error(provider: ArgoCD,
                                                                         argocd: FakeArgoCD) -> None:
    argocd.inject(503, operation_id="ApplicationService_Get", times=10, message="the server is down")
    with pytest.raises(ProviderError, match=r"^Argo CD failed to read application api-production after 4 tries: "
                                            r"503 Service Unavailable — the server is down"):
        await provider.dispatch(target())


async def test_unreachable_and_timeout_name_argo_cd(argocd: FakeArgoCD, client: httpx.AsyncClient,
                                                    sleep: RecordingSleep, clock: ManualClock) -> None:
    provider = make(argocd, client, sleep, clock, timeout="200ms", retries=1)
    argocd.inject(200, operation_id="ApplicationService_Get", times=2, hold=True)
    with pytest.raises(ProviderError, match=r"^Argo CD could not be reached at http://127.0.0.1:\d+ after 2 tries "
                                            r"to read application api-production: no answer within 0.2s"):
        await provider.dispatch(target())
    assert argocd.held == 2
    closed = ArgoCD(argocd_config("http://127.0.0.1:9"), TOKEN, client, sleep=sleep, clock=clock)
    with pytest.raises(ProviderError, match=r"^Argo CD could not be reached at http://127.0.0.1:9 after 4 tries "
                                            r"to read application api-production: connection refused"):
        await closed.dispatch(target())


async def test_a_target_without_an_application_is_refused(provider: ArgoCD, argocd: FakeArgoCD) -> None:
    with pytest.raises(ProviderError, match="environment production of service api names no Argo CD application"):
        await provider.dispatch(target(application=None))
    assert argocd.requests == []


def test_the_contract_rejects_what_argo_cd_would(argocd_contract: ArgoCDContract) -> None:
    bearer = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    path = f"/api/v1/applications/{APP}"
    assert argocd_contract.check_request("POST", path + "/rollback", [], bearer, b'{"id": 3, "prune": false}') == []
    problems = argocd_contract.check_request("POST", path + "/rollback", [], bearer, b'{"id": "three", "why": 1}')
    assert any("field 'why' is not in ApplicationService_Rollback's request" in p for p in problems)
    assert any("body.id: 'three' is not of type 'integer'" in p for p in problems)
    assert argocd_contract.check_request("GET", path, [("project", "a")], {"Authorization": "token x"}, b"") == [
        f"GET {path} (ApplicationService_Get): header Authorization must be 'Bearer <token>'"]
    assert argocd_contract.check_request("POST", path + "/sync", [("project", "a")], bearer, b"{}") == [
        f"POST {path}/sync (ApplicationService_Sync): query parameter 'project' is not declared for "
        f"ApplicationService_Sync"]
    assert argocd_contract.check_response("GET", path, 404, {"code": "five"}) == [
        "ApplicationService_Get response 404: body.code: 'five' is not of type 'integer'"]


@pytest.mark.parametrize(("status", "operation_id", "says"), [
    (403, "ApplicationService_Get", "Argo CD denied permission to read application api-production (403 Forbidden: "
                                    "permission denied for [redacted]"),
    (404, "ApplicationService_Sync", "Argo CD has no application api-production in project payments (404 while "
                                     "trying to sync application api-production to 9f9f9f9: [redacted] not found"),
])
async def test_argo_cds_words_in_a_refusal_never_carry_the_token_into_the_thread(
        provider: ArgoCD, argocd: FakeArgoCD, status: int, operation_id: str, says: str) -> None:
    """A server (or a proxy before it) that echoes the request's credential in its error body."""
    argocd.inject(status, operation_id=operation_id, message=f"permission denied for {TOKEN}"
                  if status == 403 else f"{TOKEN} not found")
    with pytest.raises(ProviderError) as refused:
        await provider.dispatch(target())
    assert TOKEN not in str(refused.value) and says in str(refused.value)
