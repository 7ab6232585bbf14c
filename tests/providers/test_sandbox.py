"""The sandbox provider: clock-driven runs and the words in a ref that choose each path."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest

from bot.clock import ManualClock
from bot.config.models import Provider as ProviderConfig
from bot.errors import ProviderError
from bot.providers.base import CiVerdict, PipelineRun, ReportsHealth, RunState
from bot.providers.sandbox import MIGRATION_FILE, SandboxProvider
from tests.providers.conftest import target


def sandbox(clock: ManualClock, **config: object) -> SandboxProvider:
    values = {"kind": "sandbox", "run_duration": "100s", **config}
    return SandboxProvider(ProviderConfig.model_validate(values), clock=clock)


async def test_resolve_ref_is_deterministic(clock: ManualClock) -> None:
    provider = sandbox(clock)
    sha = await provider.resolve_ref("acme/api", "main")
    assert sha == hashlib.sha1(b"main").hexdigest()
    assert await sandbox(clock).resolve_ref("acme/api", "main") == sha
    assert await provider.resolve_ref("acme/api", "A" * 40) == "a" * 40
    with pytest.raises(ProviderError, match="ref missing-branch not found in acme/api"):
        await provider.resolve_ref("acme/api", "missing-branch")


@pytest.mark.parametrize(("ref", "verdict"), [
    ("main", CiVerdict.PASS), ("fix/fail-fast", CiVerdict.FAIL), ("pending-ci", CiVerdict.PENDING),
    ("no-ci", CiVerdict.NONE),
])
async def test_ci_follows_the_ref(clock: ManualClock, ref: str, verdict: CiVerdict) -> None:
    provider = sandbox(clock)
    status = await provider.ci_status("acme/api", await provider.resolve_ref("acme/api", ref))
    assert status.verdict is verdict
    if verdict is CiVerdict.FAIL:
        assert status.failing == ["unit-tests"]


async def test_run_is_queued_then_running_then_done(clock: ManualClock) -> None:
    provider = sandbox(clock)
    start = clock.now()
    run = await provider.dispatch(target())
    seen = []
    for seconds in (0, 9, 10, 50, 99, 100, 500):
        clock.set(start + timedelta(seconds=seconds))
        polled = await provider.poll(target(), run)
        seen.append((polled.state, polled.detail))
    assert seen == [
        (RunState.QUEUED, "queued (sandbox)"), (RunState.QUEUED, "queued (sandbox)"),
        (RunState.RUNNING, "deploying, 10% done"), (RunState.RUNNING, "deploying, 50% done"),
        (RunState.RUNNING, "deploying, 99% done"),
        (RunState.SUCCEEDED, "deployed api to production at 10%"),
        (RunState.SUCCEEDED, "deployed api to production at 10%"),
    ]


async def test_outcome_failure_and_broken_refs_fail(clock: ManualClock) -> None:
    failing = sandbox(clock, outcome="failure")
    run = await failing.dispatch(target())
    clock.advance(timedelta(seconds=100))
    assert (await failing.poll(target(), run)).state is RunState.FAILED

    provider = sandbox(clock)
    broken = target(ref="broken-build")
    run = await provider.dispatch(broken)
    clock.advance(timedelta(seconds=100))
    polled = await provider.poll(broken, run)
    assert (polled.state, polled.detail) == (RunState.FAILED, "job deploy failed (broken-build is broken)")


async def test_breach_refs_deploy_but_breach_verification(clock: ManualClock) -> None:
    provider = sandbox(clock)
    assert isinstance(provider, ReportsHealth)
    breaching = target(ref="v2-breach", stage=10)
    run = await provider.dispatch(breaching)
    clock.advance(timedelta(seconds=100))
    assert (await provider.poll(breaching, run)).state is RunState.SUCCEEDED  # the pipeline itself succeeds
    assert await provider.health(breaching) == ("error ratio 7.3% at 10% of traffic, over the 1% limit "
                                                "(sandbox: `v2-breach` breaches verification)")
    assert await provider.health(target(ref="v2")) is None  # other refs: the configured checks decide


async def test_slow_refs_take_ten_times_longer(clock: ManualClock) -> None:
    provider = sandbox(clock)
    slow = target(ref="slow-rollout")
    run = await provider.dispatch(slow)
    clock.advance(timedelta(seconds=500))
    assert (await provider.poll(slow, run)).state is RunState.RUNNING
    clock.advance(timedelta(seconds=500))
    assert (await provider.poll(slow, run)).state is RunState.SUCCEEDED


async def test_cancel_before_the_end(clock: ManualClock) -> None:
    provider = sandbox(clock)
    run = await provider.dispatch(target())
    clock.advance(timedelta(seconds=30))
    await provider.cancel(target(), run)
    clock.advance(timedelta(seconds=300))
    assert (await provider.poll(target(), run)).state is RunState.CANCELLED
    with pytest.raises(ProviderError, match="did not start a run"):
        await provider.poll(target(), PipelineRun("1234", RunState.QUEUED))


async def test_runs_survive_a_restart(clock: ManualClock) -> None:
    run = await sandbox(clock).dispatch(target())
    clock.advance(timedelta(seconds=100))
    assert (await sandbox(clock).poll(target(), run)).state is RunState.SUCCEEDED


async def test_compare_is_deterministic_and_flags_migrations(clock: ManualClock) -> None:
    provider = sandbox(clock)
    base = await provider.resolve_ref("acme/api", "v1")
    head = await provider.resolve_ref("acme/api", "add-migration")
    preview = await provider.compare("acme/api", base, head)
    assert preview == await provider.compare("acme/api", base, head)
    assert 1 <= preview.total_commits == len(preview.commits) <= 5
    assert preview.commits[-1].sha == head
    assert preview.commits[0].title == f"Change 1 of {preview.total_commits} for add-migration"
    assert MIGRATION_FILE in preview.files
    plain = await provider.compare("acme/api", base, await provider.resolve_ref("acme/api", "main"))
    assert MIGRATION_FILE not in plain.files
    first = await provider.compare("acme/api", None, head)
    assert (first.commits, first.total_commits) == ([], 0)


async def test_reports_are_kept(clock: ManualClock) -> None:
    provider = sandbox(clock)
    run = await provider.dispatch(target())
    await provider.report(target(), run, "running", "deploying")
    assert [(r.release_id, r.state, r.run_id) for r in provider.reports] == [(42, "running", run.id)]
