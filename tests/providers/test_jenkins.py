"""The Jenkins provider against the fake Jenkins: dispatch → queue → build, results, cancel, crumb, failures."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from bot.clock import ManualClock
from bot.config.models import Provider as ProviderConfig
from bot.errors import ProviderError
from bot.providers.base import PipelineRun, RunState
from bot.providers.jenkins import Jenkins
from bot.structured_log import REDACTED, scrubber
from tests.fakes.jenkins_server import DECLARED, FakeJenkins
from tests.providers.conftest import RecordingSleep, target

USER = "switchman-bot"
JENKINS_TOKEN = "11" + "f3a9c2e7b4d1" * 3  # shaped like a Jenkins API token (34 hex digits)


@pytest.fixture
async def jenkins(clock: ManualClock) -> AsyncIterator[FakeJenkins]:
    fake = await FakeJenkins(clock=clock.now, user=USER, token=JENKINS_TOKEN).start()
    yield fake
    await fake.stop()
    assert fake.violations == [], "requests Jenkins' documented API does not take"


def jenkins_config(url: str, **overrides: Any) -> ProviderConfig:
    return ProviderConfig.model_validate({"kind": "jenkins", "url": url, "user": USER,
                                          "token_env": "JENKINS_TOKEN", **overrides})


@pytest.fixture
def provider(jenkins: FakeJenkins, client: httpx.AsyncClient, sleep: RecordingSleep, clock: ManualClock) -> Jenkins:
    return Jenkins(jenkins_config(jenkins.url), USER, JENKINS_TOKEN, client, sleep=sleep, clock=clock)


def deploy(**overrides: Any) -> Any:
    return target(**{"job": "team/deploy-api", "ref": "v1.4.2", **overrides})


async def run_to_end(provider: Jenkins, run: PipelineRun, **overrides: Any) -> list[PipelineRun]:
    seen = [run]
    while not seen[-1].state.finished and len(seen) < 20:
        seen.append(await provider.poll(deploy(**overrides), seen[-1]))
    return seen


async def test_dispatch_posts_the_parameters_to_the_nested_job_and_follows_the_queue_to_the_build(
        provider: Jenkins, jenkins: FakeJenkins) -> None:
    run = await provider.dispatch(deploy())
    method, path, _, form = jenkins.calls("build")[0]
    assert (method, path) == ("POST", "/job/team/job/deploy-api/buildWithParameters")
    assert form == {"SWITCHMAN_ENVIRONMENT": "production", "SWITCHMAN_STRATEGY": "canary", "SWITCHMAN_STAGE": "10",
                    "SWITCHMAN_RELEASE_ID": "42", "SWITCHMAN_ROLLBACK": "false", "SWITCHMAN_SHA": "a" * 40,
                    "SWITCHMAN_REF": "v1.4.2"}
    assert set(form) == set(DECLARED)
    # No queue wait: the one look after the POST already finds the build.
    assert (run.id, run.state, run.detail) == ("1", RunState.RUNNING, "build #1 running")
    assert run.url == f"{jenkins.url}/job/team/job/deploy-api/1/"
    states = [(r.id, r.state, r.detail) for r in await run_to_end(provider, run)]
    assert states[-1] == ("1", RunState.SUCCEEDED, "build #1 succeeded")


async def test_a_slow_queue_shows_why_and_the_build_remembers_it(provider: Jenkins, jenkins: FakeJenkins) -> None:
    jenkins.queue_polls = 3
    jenkins.why = "Waiting for next available executor on ‘deploy’"
    run = await provider.dispatch(deploy())
    assert run.id.startswith("queue:") and run.state is RunState.QUEUED
    assert run.detail == "waiting in the Jenkins queue: Waiting for next available executor on ‘deploy’"
    assert run.url == f"{jenkins.url}/queue/item/{run.id.removeprefix('queue:')}/"
    seen = await run_to_end(provider, run)
    assert [r.state for r in seen] == [RunState.QUEUED] * 3 + [RunState.RUNNING, RunState.SUCCEEDED]
    assert seen[-1].id == "1"
    assert seen[-1].detail == ("build #1 succeeded — waited in the Jenkins queue: "
                               "Waiting for next available executor on ‘deploy’")


@pytest.mark.parametrize(("result", "state", "detail"), [
    ("SUCCESS", RunState.SUCCEEDED, "build #1 succeeded"),
    ("UNSTABLE", RunState.FAILED, "build #1 finished unstable (a check in the job failed); "
                                  "Switchman treats it as failed"),
    ("FAILURE", RunState.FAILED, "build #1 failed"),
    ("ABORTED", RunState.CANCELLED, "build #1 was aborted"),
    ("NOT_BUILT", RunState.FAILED, "build #1 was not built (NOT_BUILT): Jenkins ran no deploy"),
])
async def test_each_jenkins_result_maps_to_a_run_state(provider: Jenkins, jenkins: FakeJenkins, result: str,
                                                       state: RunState, detail: str) -> None:
    jenkins.results = [result]
    final = (await run_to_end(provider, await provider.dispatch(deploy())))[-1]
    assert (final.state, final.detail) == (state, detail)


async def test_an_identical_queued_item_is_followed_through_the_303(provider: Jenkins, jenkins: FakeJenkins) -> None:
    jenkins.queue_polls = 5
    first = await provider.dispatch(deploy())
    again = await provider.dispatch(deploy())
    assert again.id == first.id and len(jenkins.queue) == 1


async def test_cancel_a_queued_item_then_a_running_build(provider: Jenkins, jenkins: FakeJenkins) -> None:
    jenkins.queue_polls = 5
    queued = await provider.dispatch(deploy())
    await provider.cancel(deploy(), queued)
    item = queued.id.removeprefix("queue:")
    assert [(m, q) for m, _, q, _ in jenkins.calls("cancel_item")] == [("POST", {"id": item})]
    polled = await provider.poll(deploy(), queued)
    assert polled.state is RunState.CANCELLED and "queue item was cancelled" in polled.detail
    assert jenkins.all_builds() == []

    jenkins.queue_polls, jenkins.build_polls = 0, 5
    running = await provider.dispatch(deploy(stage=50))
    assert running.state is RunState.RUNNING
    await provider.cancel(deploy(stage=50), running)
    assert [p for m, p, _, _ in jenkins.calls("stop")] == ["/job/team/job/deploy-api/1/stop"]
    final = await provider.poll(deploy(stage=50), running)
    assert (final.state, final.detail) == (RunState.CANCELLED, "build #1 was aborted")


async def test_a_queue_item_that_started_before_the_cancel_has_its_build_stopped(
        provider: Jenkins, jenkins: FakeJenkins) -> None:
    jenkins.queue_polls, jenkins.build_polls = 5, 5
    queued = await provider.dispatch(deploy())
    jenkins.start_build(jenkins.queue[int(queued.id.removeprefix("queue:"))])  # an executor takes it meanwhile
    await provider.cancel(deploy(), queued)  # cancelItem: 404, it has left the queue; its build is stopped
    assert len(jenkins.calls("cancel_item")) == 1
    assert len(jenkins.calls("stop")) == 1 and jenkins.all_builds()[0].result == "ABORTED"


async def test_find_run_finds_the_queued_item_or_the_build_of_that_release_and_stage(
        provider: Jenkins, jenkins: FakeJenkins, clock: ManualClock) -> None:
    since = clock.now()
    assert await provider.find_run(deploy(), since=since) is None
    jenkins.queue_polls = 2
    await provider.dispatch(deploy(stage=50, release_id=41))  # another release's build
    await provider.dispatch(deploy())
    found = await provider.find_run(deploy(), since=since)
    assert found is not None and found.state is RunState.QUEUED
    assert found.id == f"queue:{max(jenkins.queue)}"

    jenkins.queue_polls = 0
    clock.advance(timedelta(minutes=5))
    for item in list(jenkins.queue.values()):
        jenkins.start_build(item)  # both leave the queue for executors
    found = await provider.find_run(deploy(), since=since)
    assert found is not None and found.id == "2" and found.state is RunState.RUNNING
    assert await provider.find_run(deploy(stage=100), since=since) is None
    assert await provider.find_run(deploy(), since=clock.now() + timedelta(hours=1)) is None


async def test_a_forgotten_queue_item_is_found_again_by_its_parameters(provider: Jenkins, jenkins: FakeJenkins
                                                                       ) -> None:
    jenkins.queue_polls = 1
    queued = await provider.dispatch(deploy())
    jenkins.forget_left_items = True
    polled = await provider.poll(deploy(), queued)  # starts the build, which Jenkins then forgets
    assert polled.id == "1"
    after_restart = await provider.poll(deploy(), PipelineRun(queued.id, RunState.RUNNING))
    assert after_restart.id == "1" and after_restart.state is RunState.SUCCEEDED


async def test_a_post_that_wants_a_crumb_gets_one_with_its_session(provider: Jenkins, jenkins: FakeJenkins) -> None:
    jenkins.crumb_required = True
    jenkins.build_polls = 5
    run = await provider.dispatch(deploy())
    assert [r[0:2] for r in jenkins.requests[:3]] == [
        ("POST", "/job/team/job/deploy-api/buildWithParameters"), ("GET", "/crumbIssuer/api/json"),
        ("POST", "/job/team/job/deploy-api/buildWithParameters")]
    await provider.cancel(deploy(), run)  # the crumb is kept: no second trip to the issuer
    assert len(jenkins.calls("crumb")) == 1 and jenkins.all_builds()[0].result == "ABORTED"

    jenkins.crumbs.clear()  # the session expired: fetch a new crumb once
    await provider.dispatch(deploy(stage=50))
    assert len(jenkins.calls("crumb")) == 2 and len(jenkins.all_builds()) == 2


async def test_a_403_without_a_crumb_issuer_is_a_permission_refusal(provider: Jenkins, jenkins: FakeJenkins) -> None:
    jenkins.inject(403, kind="build")
    with pytest.raises(ProviderError) as raised:
        await provider.dispatch(deploy())
    # The 403 does not mention a crumb: no trip to the crumb issuer, a clear refusal.
    assert str(raised.value) == (f"Jenkins refused user {USER} (403) to start job team/deploy-api for production at "
                                 "v1.4.2: the user lacks a permission (Switchman needs Overall/Read, Job/Read, "
                                 "Job/Build and Job/Cancel)")


async def test_refusals_say_what_failed(jenkins: FakeJenkins, client: httpx.AsyncClient, sleep: RecordingSleep,
                                        clock: ManualClock, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "22" + "0badc0ffee00" * 3
    bad_token = Jenkins(jenkins_config(jenkins.url), USER, wrong, client, sleep=sleep, clock=clock)
    with pytest.raises(ProviderError) as raised:
        await bad_token.dispatch(deploy())
    assert str(raised.value) == (f"Jenkins refused the credentials of user {USER} (401) to start job team/deploy-api "
                                 "for production at v1.4.2: check the user and the API token in JENKINS_TOKEN")
    good = Jenkins(jenkins_config(jenkins.url), USER, JENKINS_TOKEN, client, sleep=sleep, clock=clock)
    with pytest.raises(ProviderError, match=r"^Jenkins has no job team/deploy-web at http://127\.0\.0\.1:\d+ \(404\): "
                                            r"check the service's job: folder path$"):
        await good.dispatch(deploy(job="team/deploy-web"))
    with pytest.raises(ProviderError, match=r"^Jenkins has no build #7 of job team/deploy-api \(404\)$"):
        await good.poll(deploy(), PipelineRun("7", RunState.RUNNING))
    with pytest.raises(ProviderError, match="does not know the code; name the service's CI provider"):
        await good.resolve_ref("acme/api", "main")
    assert not any(secret in record.getMessage() + str(record.__dict__) for record in caplog.records
                   for secret in (JENKINS_TOKEN, wrong))


async def test_429_with_retry_after_and_a_burst_of_500s_are_ridden_out(
        provider: Jenkins, jenkins: FakeJenkins, sleep: RecordingSleep) -> None:
    jenkins.inject(429, kind="build", headers={"Retry-After": "7"})
    jenkins.inject(500, kind="build_info", times=3)
    run = await provider.dispatch(deploy())  # the POST is retried: a 429 says Jenkins did not act
    assert len(jenkins.calls("build")) == 2 and len(jenkins.queue) == 1
    assert sleep.delays[0] == 7
    final = (await run_to_end(provider, run))[-1]
    assert final.state is RunState.SUCCEEDED and len(sleep.delays) >= 4


async def test_a_500_on_the_post_is_not_repeated_and_says_jenkins_may_have_acted(
        provider: Jenkins, jenkins: FakeJenkins) -> None:
    jenkins.inject(500, kind="build")
    with pytest.raises(ProviderError, match=r"^Jenkins failed to start job team/deploy-api .*500 Internal Server "
                                            r"Error; it may have acted on the request"):
        await provider.dispatch(deploy())
    assert len(jenkins.calls("build")) == 1


async def test_a_timeout_names_jenkins_and_never_the_token(jenkins: FakeJenkins, client: httpx.AsyncClient,
                                                           sleep: RecordingSleep, clock: ManualClock,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    quick = Jenkins(jenkins_config(jenkins.url, timeout="200ms", retries=1), USER, JENKINS_TOKEN, client,
                    sleep=sleep, clock=clock)
    jenkins.hold(2)
    with pytest.raises(ProviderError) as raised:
        await quick.poll(deploy(), PipelineRun("1", RunState.RUNNING))
    assert str(raised.value) == (f"Jenkins could not be reached at {jenkins.url} after 2 tries to get build #1 of "
                                 "job team/deploy-api: no answer within 0.2s")
    assert caplog.records and not any(JENKINS_TOKEN in r.getMessage() + str(r.__dict__) for r in caplog.records)


async def test_report_is_a_no_op(provider: Jenkins, jenkins: FakeJenkins) -> None:
    await provider.report(deploy(), None, "success", "done")
    assert jenkins.requests == []


async def test_the_crumb_and_its_session_cookie_are_scrubbed_like_the_token(provider: Jenkins,
                                                                             jenkins: FakeJenkins) -> None:
    """Together they act as the user in a web session: no log line or message may show them."""
    jenkins.crumb_required = True
    await provider.dispatch(deploy())
    [(session, crumb)] = jenkins.crumbs.items()
    assert scrubber.scrub(f"crumb {crumb}, session {session}") == f"crumb {REDACTED}, session {REDACTED}"
