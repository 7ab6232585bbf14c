"""Rolling a release out stage by stage (§5): dispatch, watch the run, bake, verify, decide.

Each step leaves the release's row saying exactly where it is (stage index, the run of that
stage, when the bake ends), so `engine.advance` can pick it up after a restart without
dispatching a stage twice: the intent to dispatch is stored before the provider is called, and a
stage found in that state is looked up by its run name before anything is dispatched again. The
bake is a scheduled job, not a sleeping task. After each stage the verification checks decide:
continue, stop (and roll back when `auto_rollback`), or pause with Promote / Abort buttons.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config.durations import format_duration
from bot.context import AppContext
from bot.errors import ProviderError
from bot.ledger.models import DecisionKind as LedgerKind
from bot.providers.base import DeployTarget, PipelineRun, RunState
from bot.release import drill_steps, outcomes, risk_controls, store, trust
from bot.release.gating import thread_of
from bot.release.machine import Event
from bot.release.models import EnvironmentState, Release, ReleaseKind, ReleaseState, Verdict
from bot.release.quarantine import undone
from bot.release.steps import RollBack, Step
from bot.release.verify import CheckResult, run_checks
from bot.storage.leadership import Deposed

log = logging.getLogger(__name__)
POLL_SECONDS = (2, 4, 8, 15, 30)
# A run still waiting to start this long after it was dispatched gets a note in the thread saying why
# (a Jenkins queue's `why`, a GitHub environment waiting for its reviewers), once per distinct reason.
QUEUED_NOTE_AFTER = timedelta(seconds=10)
ADVANCE_JOB = "release_advance"  # a timer that calls engine.advance (bake end, pause deadline)


def label(ctx: AppContext, release: Release) -> str:
    stages = store.stages_of(ctx.config, release)
    index = min(release.stage_index, len(stages) - 1)
    if drill_steps.is_drill(release):
        return drill_steps.label(release, index)
    if len(stages) == 1:
        return "Rollback" if release.kind == ReleaseKind.ROLLBACK else "Rollout"
    return f"Stage {index + 1}/{len(stages)} ({stages[index]}%)"


def target(ctx: AppContext, release: Release) -> DeployTarget:
    stages = store.stages_of(ctx.config, release)
    return store.target(ctx.config, release, stages[min(release.stage_index, len(stages) - 1)])


def schedule(ctx: AppContext, release_id: int, at: datetime) -> None:
    ctx.scheduler.schedule(f"release-advance-{release_id}", at, ADVANCE_JOB, release_id=release_id)


async def step(ctx: AppContext, release: Release) -> Step | RollBack:
    """ROLLING_OUT: dispatch the current stage (or find its run), watch it, then bake or finish."""
    assert release.id is not None
    if release.stage_index >= len(store.stages_of(ctx.config, release)):
        await succeed(ctx, release)
        return Step.CONTINUE
    run = _stored_run(release)
    if run is None:
        settled_at = _dispatch_settles_at(ctx, release)
        if settled_at is not None:  # another leader's dispatch may still be on its way: look when it has landed
            schedule(ctx, release.id, settled_at)
            return Step.WAIT
        run = await _dispatch(ctx, release)
        if run is None:
            return Step.CONTINUE
    return await _watch(ctx, release.id, run)


def _dispatch_settles_at(ctx: AppContext, release: Release) -> datetime | None:
    """When a dispatch claimed by an earlier leader (another replica) can no longer be in flight.

    A leader that lost its lock may have sent the provider the dispatch just before its successor
    took over; looking for the run before that request has landed or timed out would dispatch the
    stage twice. None when there is nothing to wait for.
    """
    detail = release.detail or {}
    claim = detail.get("dispatch_claim")
    if detail.get("dispatching") != release.stage_index or not isinstance(claim, dict):
        return None
    if claim.get("epoch") == ctx.leader.epoch or not isinstance(claim.get("at"), str):
        return None
    provider = ctx.config.providers.get(ctx.config.services[release.service].provider)
    timeout = provider.timeout if provider is not None else timedelta(seconds=10)
    settles = datetime.fromisoformat(claim["at"]) + timeout * ((provider.retries if provider else 0) + 1)
    return settles if settles > ctx.clock.now() else None


def _stored_run(release: Release) -> PipelineRun | None:
    run = (release.detail or {}).get("run")
    if run and run.get("stage") == release.stage_index and run.get("id"):
        return PipelineRun(run["id"], RunState.RUNNING, run.get("url"))
    return None


async def _dispatch(ctx: AppContext, release: Release) -> PipelineRun | None:
    assert release.id is not None
    provider = ctx.providers[ctx.config.services[release.service].provider]
    goal, name = target(ctx, release), label(ctx, release)
    detail = release.detail or {}
    found = None
    if detail.get("dispatching") == release.stage_index:
        found = await _find_dispatched(ctx, goal, release)
    fence = ctx.leader.fence()
    claim = {"epoch": ctx.leader.epoch, "at": ctx.clock.now().isoformat()}
    async with ctx.db.session() as session:  # the intent first: a crash from here on is looked up, not redone
        row = await store.hold(session, release.id, fence=fence)
        if row.state != ReleaseState.ROLLING_OUT or row.stage_index != release.stage_index:
            return None  # moved on meanwhile: look again
        await store.save(session, row, now=ctx.clock.now(),
                         detail={**(row.detail or {}), "dispatching": row.stage_index, "stage_label": name,
                                 "dispatch_claim": claim})
    try:
        started = found or await provider.dispatch(goal)
    except ProviderError as exc:
        await _fail(ctx, release.id, f"{name}: {exc}")
        return None
    now = ctx.clock.now()
    async with ctx.db.session() as session:
        row = await store.hold(session, release.id, fence=fence)
        if row.state != ReleaseState.ROLLING_OUT:
            return None
        detail = row.detail or {}
        if detail.get("dispatch_claim") != claim:
            raise Deposed(f"release {release.id}: the stage's dispatch was claimed by another leader")
        dispatched = {**detail.get("dispatched", {}), str(row.stage_index): now.isoformat()}  # for the report
        await store.save(session, row, now=now, provider_run_id=started.id, provider_run_url=started.url,
                         detail={**detail, "dispatched": dispatched,
                                 "run": {"stage": row.stage_index, "id": started.id, "url": started.url}})
        link = f" <{started.url}|run {started.id}>" if started.url else f" run {started.id}"
        verb = "found the run already dispatched for" if found else "dispatched"
        thread = thread_of(ctx)
        thread.refresh(session, row, now=now)
        thread.note(session, row, f":truck: {name}: {verb} {goal.strategy} rollout of `{goal.ref}` to "
                                  f"{goal.environment} —{link}{trust.stage_mention(row)}", now=now)
    await mirror(ctx, goal, started, "in_progress", f"{name} running")
    return started


async def _find_dispatched(ctx: AppContext, goal: DeployTarget, release: Release) -> PipelineRun | None:
    """A stage whose dispatch was interrupted: the run, if the provider has it (by its run name)."""
    provider = ctx.providers[ctx.config.services[release.service].provider]
    try:
        found = await provider.find_run(goal, since=release.started_at or release.created_at)
    except ProviderError as exc:
        log.warning("could not look for an interrupted dispatch", extra={"release": release.id, "error": str(exc)})
        return None
    return found


async def _watch(ctx: AppContext, release_id: int, run: PipelineRun) -> Step | RollBack:
    release = await store.load(ctx.db, release_id)
    goal, name = target(ctx, release), label(ctx, release)
    provider = ctx.providers[ctx.config.services[release.service].provider]
    attempt, watching_since, said_waiting = 0, ctx.clock.now(), ""
    try:
        while not run.state.finished:
            await ctx.sleep(POLL_SECONDS[min(attempt, len(POLL_SECONDS) - 1)])
            attempt += 1
            if (await store.load(ctx.db, release_id)).state != ReleaseState.ROLLING_OUT:
                return Step.CONTINUE  # cancelled or rolled back while the run was going
            await store.renew_lease(ctx.db, release_id, now=ctx.clock.now(), fence=ctx.leader.fence())
            run = await provider.poll(goal, run)
            if (run.state == RunState.QUEUED and run.detail and run.detail != said_waiting
                    and ctx.clock.now() - watching_since >= QUEUED_NOTE_AFTER):
                said_waiting = run.detail
                await _note(ctx, release_id, f":hourglass: {name}: not started yet — {run.detail}")
    except ProviderError as exc:
        await _fail(ctx, release_id, f"{name}: {exc}")
        return Step.CONTINUE
    ok = run.state == RunState.SUCCEEDED
    env = ctx.config.services[release.service].environments[release.environment]
    # A drill verifies each step, whatever the environment's checks (none configured: the run's success).
    bakes = drill_steps.is_drill(release) or (release.kind != ReleaseKind.ROLLBACK and bool(env.verify or env.bake))
    bake = risk_controls.bake(env, release)
    now = ctx.clock.now()
    thread = thread_of(ctx)
    async with ctx.db.session() as session:
        row = await store.hold(session, release_id, fence=ctx.leader.fence())
        if row.state != ReleaseState.ROLLING_OUT or row.stage_index != release.stage_index:
            return Step.CONTINUE  # moved on meanwhile (cancelled, or the stage recorded by another leader)
        await thread.record(session, row, kind=LedgerKind.STAGE_RESULT, actor=f"pipeline:{run.id}",
                            outcome=run.state.value, now=now,
                            evidence={"stage": row.stage_index, "run": run.id, "detail": run.detail},
                            message=ctx.release_view.note(
                                f"{':white_check_mark:' if ok else ':x:'} {name}: pipeline run {run.state.value}"
                                + (f" — {run.detail}" if run.detail else "") + trust.stage_mention(row)))
        if not ok:
            await outcomes.end(session, thread, row, Event.FAIL,
                               f"{name}: the pipeline run {run.state.value}. {run.detail or ''}".strip(), now=now)
            return Step.CONTINUE
        if not bakes:
            await store.save(session, row, now=now, stage_index=row.stage_index + 1)
            return Step.CONTINUE
        until = now + bake
        await store.apply(session, row, Event.BAKE, now=now,
                          detail={**(row.detail or {}), "bake_until": until.isoformat(),
                                  "bake_stage": row.stage_index})
        thread.refresh(session, row, now=now)
        thread.note(session, row, f":hourglass_flowing_sand: {name}: baking for {_duration(bake)}; "
                                  f"verification at {ctx.release_view.date(until)}{trust.stage_mention(row)}", now=now)
    schedule(ctx, release_id, until)
    return Step.WAIT


async def verify(ctx: AppContext, release: Release) -> Step | RollBack:
    """VERIFYING: when the bake is over, run the checks; pass → next stage, fail → stop, no data → pause."""
    assert release.id is not None
    until = _instant((release.detail or {}).get("bake_until"))
    now = ctx.clock.now()
    if until is not None and until > now:
        schedule(ctx, release.id, until)
        return Step.WAIT
    env = ctx.config.services[release.service].environments[release.environment]
    fence = ctx.leader.fence()
    claim = {"stage": release.stage_index, "epoch": ctx.leader.epoch, "at": now.isoformat()}
    async with ctx.db.session() as session:  # claim the verification: two replicas never both record it
        row = await store.hold(session, release.id, fence=fence)
        if row.state != ReleaseState.VERIFYING or row.stage_index != release.stage_index:
            return Step.CONTINUE
        await store.save(session, row, now=now, detail={**(row.detail or {}), "verify_claim": claim})
    results = await run_checks(ctx, release.service, env.verify, goal=target(ctx, release))
    failed = [r for r in results if r.outcome.verdict == Verdict.FAIL]
    unsure = [r for r in results if r.outcome.verdict in (Verdict.INCONCLUSIVE, Verdict.ERROR)]
    verdict = "failed" if failed else "inconclusive" if unsure else "passed"
    now = ctx.clock.now()
    thread = thread_of(ctx)
    async with ctx.db.session() as session:
        row = await store.hold(session, release.id, fence=fence)
        if row.state != ReleaseState.VERIFYING or row.stage_index != release.stage_index:
            return Step.CONTINUE
        if (row.detail or {}).get("verify_claim") != claim:
            raise Deposed(f"release {release.id}: the verification was claimed by another leader")
        for result in results:
            thread.say(session, row, ctx.release_view.gate(result.name, result.outcome.verdict,
                                                           result.outcome.evidence, result.outcome.link, 0.0), now=now)
        await thread.record(session, row, kind=LedgerKind.STAGE_RESULT, actor="verification", outcome=verdict,
                            now=now, evidence={"stage": row.stage_index, "checks": {
                                r.name: {"verdict": r.outcome.verdict.value, "evidence": r.outcome.evidence}
                                for r in results}})
        if drill_steps.is_drill(row):
            if unsure and not failed:
                pass  # inconclusive: a person decides, as for any release (below)
            else:
                return await drill_checked(ctx, session, row, verdict, _evidence(failed) if failed else "", now=now)
        if failed:
            evidence = _evidence(failed)
            await store.save(session, row, now=now, detected_at=now)
            if env.auto_rollback:
                return RollBack(evidence)
            await store.apply(session, row, Event.PAUSE, now=now, detail={**(row.detail or {}), "paused_for": "failed"})
            thread.refresh(session, row, now=now)
            thread.say(session, row, ctx.release_view.paused(row, f"Verification failed — {evidence}", failed=True),
                       now=now)
            return Step.WAIT
        if unsure:
            deadline = now + env.inconclusive_timeout
            await store.apply(session, row, Event.PAUSE, now=now,
                              detail={**(row.detail or {}), "paused_for": "inconclusive",
                                      "pause_until": deadline.isoformat()})
            thread.refresh(session, row, now=now)
            thread.say(session, row, ctx.release_view.paused(
                row, f"Verification is inconclusive — {_evidence(unsure)}. Promote or abort; without an answer by "
                     f"{ctx.release_view.date(deadline)} the release is aborted.", failed=False), now=now)
        else:
            await store.apply(session, row, Event.VERIFIED, now=now, stage_index=row.stage_index + 1)
            return Step.CONTINUE
    schedule(ctx, release.id, deadline)
    return Step.WAIT


async def paused(ctx: AppContext, release: Release) -> Step | RollBack:
    """PAUSED: a person decides; past an inconclusive pause's deadline, Switchman aborts."""
    assert release.id is not None
    detail = release.detail or {}
    deadline = _instant(detail.get("pause_until"))
    if detail.get("paused_for") != "inconclusive" or deadline is None:
        return Step.WAIT
    if deadline > ctx.clock.now():
        schedule(ctx, release.id, deadline)
        return Step.WAIT
    return await abort(ctx, release.id, "nobody answered in time")


async def abort(ctx: AppContext, release_id: int, why: str, *, user: str | None = None) -> Step | RollBack:
    """Stop a paused rollout: roll back when configured (or a person asks), else fail it."""
    release = await store.load(ctx.db, release_id)
    env = ctx.config.services[release.service].environments[release.environment]
    who = f"<@{user}>" if user else "Switchman"
    if env.auto_rollback or user is not None:
        return RollBack(f"aborted by {who}: {why}", actor=user)
    await _fail(ctx, release_id, f"aborted by {who}: {why}")
    return Step.CONTINUE


async def drill_checked(ctx: AppContext, session: AsyncSession, row: Release, verdict: str, evidence: str, *,
                        now: datetime) -> Step | RollBack:
    """A drill step was verified (in the verification's transaction): record it as a drill step, then go on.

    The back step failing still rolls forward (to the release that was verified before the drill);
    the forward step failing rolls back to the back step's release, just verified — unless that one
    failed too, and then the thread says exactly what runs and what to do.
    """
    index = row.stage_index
    name, thread = drill_steps.label(row, index), thread_of(ctx)
    target = drill_steps.step(row, index)
    step_name = drill_steps.NAMES.get(index, "forward")
    if not ctx.config.services[row.service].environments[row.environment].verify and verdict == "passed":
        evidence = (f"{row.environment} has no `verify` checks, so only the pipeline run's success was checked; "
                    "add checks to make the drill prove more")
    await thread.record(session, row, kind=LedgerKind.DRILL, actor="verification", outcome=f"{step_name}:{verdict}",
                        now=now, evidence={"stage": index, "ref": target["ref"], "sha": target["sha"],
                                           "evidence": evidence},
                        message=ctx.release_view.note(
                            f"{':white_check_mark:' if verdict == 'passed' else ':x:'} {name}: `{target['ref']}` "
                            f"{'runs and passed verification' if verdict == 'passed' else 'failed verification'}"
                            + (f" — {evidence}" if evidence else "")))
    failures = dict((row.detail or {}).get("drill_failed") or {})
    if verdict != "passed":
        failures[step_name] = evidence
        await store.save(session, row, now=now, detail={**(row.detail or {}), "drill_failed": failures})
    if index == drill_steps.BACK:
        if verdict != "passed":
            thread.note(session, row, f":leftwards_arrow_with_hook: The drill's rollback did not pass verification; "
                                      f"rolling forward to `{drill_steps.step(row, drill_steps.FORWARD)['ref']}`, "
                                      "which ran verified before the drill.", now=now)
        await store.apply(session, row, Event.VERIFIED, now=now, stage_index=index + 1)
        return Step.CONTINUE
    if verdict == "passed":
        await store.apply(session, row, Event.VERIFIED, now=now, stage_index=index + 1)
        return Step.CONTINUE
    back = drill_steps.step(row, drill_steps.BACK)
    if "back" in failures:
        await outcomes.end(session, thread, row, Event.FAIL,
                           f"drill failed: `{target['ref']}` (`{str(target['sha'])[:10]}`) runs in {row.environment} "
                           f"now and failed verification ({evidence}); the rollback to `{back['ref']}` failed "
                           "verification too, so Switchman did not roll back again. Find the cause, then deploy a "
                           f"fix with `/deploy {row.service} REF to {row.environment}`.", now=now,
                           evidence={"drill": True, "failed": failures}, detected_at=now)
        await _runs_now(session, row, target, now=now)
        return Step.CONTINUE
    thread.note(session, row, f":rotating_light: The drill's roll-forward failed verification; rolling back to "
                              f"`{back['ref']}`, verified a moment ago in this drill.", now=now)
    return RollBack(f"rollback drill: rolling forward to `{target['ref']}` failed verification — {evidence}")


async def _runs_now(session: AsyncSession, row: Release, target: dict[str, object], *, now: datetime) -> None:
    """What a drill leaves running: its forward step's commit (the release it was taken from)."""
    state = await session.get(EnvironmentState, (row.service, row.environment))
    state = state or EnvironmentState(service=row.service, environment=row.environment, updated_at=now)
    release_id = target.get("release_id")
    state.current_sha, state.current_ref = str(target["sha"]), str(target["ref"])
    state.current_release_id = release_id if isinstance(release_id, int) else row.id
    state.updated_at = now
    session.add(state)


async def succeed(ctx: AppContext, release: Release) -> None:
    now = ctx.clock.now()
    thread = thread_of(ctx)
    async with ctx.db.session() as session:
        row = await store.get(session, release.id or 0)
        if drill_steps.is_drill(row):
            await _drill_done(ctx, session, row, now=now)
            return
        if not await store.apply(session, row, Event.SUCCEED, now=now, verified_at=now):
            return
        state = await session.get(EnvironmentState, (row.service, row.environment))
        state = state or EnvironmentState(service=row.service, environment=row.environment, updated_at=now)
        if state.quarantined_sha and row.sha != state.quarantined_sha and row.kind == ReleaseKind.DEPLOY:
            state.quarantined_sha = None  # a newer commit is deployed: the quarantine has done its job
        state.current_sha, state.current_ref, state.current_release_id = row.sha, row.ref, row.id
        state.updated_at = now
        session.add(state)
        if row.kind == ReleaseKind.ROLLBACK and row.rollback_of:
            await undone(session, thread, row, now=now)
        await trust.after_success(session, ctx, row, now=now)
        await outcomes.recorded_end(session, thread, row, "rolled back and running"
                                    if row.kind == ReleaseKind.ROLLBACK else "released and verified", now=now)
    await mirror(ctx, target(ctx, row), None, "success", "released by Switchman")


async def _drill_done(ctx: AppContext, session: AsyncSession, row: Release, *, now: datetime) -> None:
    """Both steps are out: the drill passed, or its rollback failed verification and the roll-forward restored."""
    thread = thread_of(ctx)
    back, forward = drill_steps.step(row, drill_steps.BACK), drill_steps.step(row, drill_steps.FORWARD)
    failures = (row.detail or {}).get("drill_failed") or {}
    if failures:
        await outcomes.end(session, thread, row, Event.FAIL,
                           f"drill failed: the rollback to `{back['ref']}` failed verification "
                           f"({failures.get('back')}); "
                           f"`{forward['ref']}` runs again and passed verification. Rollback of {row.service} in "
                           f"{row.environment} is not proven: fix what broke the rollback, then drill again.", now=now,
                           evidence={"drill": True, "failed": failures})
    else:
        if not await store.apply(session, row, Event.SUCCEED, now=now, verified_at=now):
            return
        await outcomes.recorded_end(session, thread, row, f"drill passed: rolled back to `{back['ref']}` and forward "
                                                          f"to `{forward['ref']}`, each verified", now=now,
                                    evidence={"drill": True})
    await _runs_now(session, row, forward, now=now)


async def _note(ctx: AppContext, release_id: int, text: str) -> None:
    now = ctx.clock.now()
    async with ctx.db.session() as session:
        row = await store.get(session, release_id)
        thread_of(ctx).note(session, row, text, now=now)


async def _fail(ctx: AppContext, release_id: int, summary: str) -> None:
    async with ctx.db.session() as session:
        row = await store.get(session, release_id)
        await outcomes.end(session, thread_of(ctx), row, Event.FAIL, summary, now=ctx.clock.now())


async def mirror(ctx: AppContext, goal: DeployTarget, run: PipelineRun | None, state: str, description: str) -> None:
    """Mirror the release into the provider's deployment history; never breaks the release itself."""
    try:
        await ctx.providers[ctx.config.services[goal.service].provider].report(goal, run, state, description)
    except ProviderError as exc:
        log.warning("could not mirror release state to the provider", extra={"error": str(exc)})


def _evidence(results: list[CheckResult]) -> str:
    return "; ".join(f"{r.name}: {r.outcome.evidence}" for r in results)


def _instant(text: object) -> datetime | None:
    return datetime.fromisoformat(text) if isinstance(text, str) else None


def _duration(delta: timedelta) -> str:
    return format_duration(delta)
